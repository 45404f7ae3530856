"""YAML policy and data files, parsed by libyaml when PyYAML was built with it.

PyYAML's pure-Python parser took about 0.23 s of every start for the policy and vocabulary
files; libyaml's safe loader reads the same documents, into the same plain data, about ten
times faster.
"""

from __future__ import annotations

from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """As `yaml.safe_load`: plain data only (no Python objects), errors as `yaml.YAMLError`."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader, C or Python
