"""The lock files are what `make install` installs: they must cover pyproject.toml exactly.

A fresh clone installs only these pinned, hash-checked versions, so a dependency declared in
pyproject.toml but missing from (or out of range in) a lock would be silently absent or
different on the next machine. `make lock` refreshes them.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _pins(lock: Path) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in _PIN.findall(lock.read_text(encoding="utf-8"))}


def _requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    declared = list(project["dependencies"])
    for extra in extras:
        declared += project["optional-dependencies"][extra]
    return [Requirement(line) for line in declared]


@pytest.mark.parametrize(
    ("lock_name", "extras"),
    [("dev.lock", ("dev",)), ("bench.lock", ("dev", "bench"))],
)
def test_every_declared_dependency_is_pinned_within_its_range(lock_name: str, extras: tuple[str, ...]) -> None:
    pins = _pins(ROOT / "requirements" / lock_name)
    problems = []
    for requirement in _requirements(*extras):
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is declared in pyproject.toml but not locked")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} in {lock_name} is outside {requirement.specifier}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


@pytest.mark.parametrize("lock_name", ["dev.lock", "bench.lock"])
def test_every_pin_carries_a_hash(lock_name: str) -> None:
    text = (ROOT / "requirements" / lock_name).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [entry.split()[0] for entry in entries if "==" in entry and "--hash=sha256:" not in entry]
    assert unhashed == []


def test_dev_lock_is_the_bench_lock_without_the_bench_extra() -> None:
    """Benchmarks add packages; they never change a version the tests ran with."""
    dev, bench = _pins(ROOT / "requirements" / "dev.lock"), _pins(ROOT / "requirements" / "bench.lock")
    changed = {name: (version, bench[name]) for name, version in dev.items() if bench.get(name) != version}
    assert changed == {}


def test_npm_lock_matches_package_json() -> None:
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    assert locked[""]["dependencies"] == wanted
    for name, version in wanted.items():
        assert locked[f"node_modules/{name}"]["version"] == version, name
        assert locked[f"node_modules/{name}"]["integrity"].startswith("sha512-"), name
