"""Message templates as data (policies/notifications.yaml), validated completely at start-up.

Each template names its channel, the parameters it may carry (each of a declared kind with a
pattern) and a text and a data part that use only those. Rendering refuses a missing,
unknown or malformed value, so a caller cannot slip a name or an address into a message.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from privacy_waybill import yaml_data
from privacy_waybill.errors import FieldError, PrivacyWaybillError
from privacy_waybill.notifications.model import Channel, Rendered

TEMPLATES_FILE = "notifications.yaml"


class TemplateError(PrivacyWaybillError):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"notification templates: {where}: {reason}")


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    channel: Channel
    params: tuple[str, ...]
    text: str
    data: Mapping[str, str]
    ttl: timedelta | None


@dataclass(frozen=True, slots=True)
class Templates:
    version: int
    kinds: Mapping[str, re.Pattern[str]]
    param_kinds: Mapping[str, str]
    templates: Mapping[str, Template]

    def get(self, name: str) -> Template:
        try:
            return self.templates[name]
        except KeyError:
            raise FieldError("template", "is not a known notification template") from None

    def render(self, name: str, params: Mapping[str, str]) -> Rendered:
        template = self.get(name)
        unknown = sorted(set(params) - set(template.params))
        if unknown:
            raise FieldError(f"params.{unknown[0]}", f"is not a parameter of template {name}")
        for param in template.params:
            value = params.get(param)
            if value is None:
                raise FieldError(f"params.{param}", "is required")
            if not self.kinds[self.param_kinds[param]].fullmatch(value):
                raise FieldError(f"params.{param}", f"is not a valid {self.param_kinds[param]}")
        return Rendered(
            text=template.text.format_map(params),
            data={key: value.format_map(params) for key, value in template.data.items()},
        )


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _template(name: str, spec: Any, param_kinds: Mapping[str, str]) -> Template:
    if not isinstance(spec, dict) or not {"channel", "params", "text", "data"} <= set(spec):
        raise TemplateError(name, "needs channel, params, text and data")
    try:
        channel = Channel(spec["channel"])
    except ValueError:
        raise TemplateError(name, f"unknown channel {spec['channel']!r}") from None
    params = tuple(spec["params"])
    for param in params:
        if param not in param_kinds:
            raise TemplateError(name, f"parameter {param!r} has no declared kind")
    data = spec["data"]
    if not isinstance(data, dict) or "type" not in data:
        raise TemplateError(name, "data must be a mapping with a `type`")
    for where, text in [("text", spec["text"]), *((f"data.{k}", str(v)) for k, v in data.items())]:
        extra = _placeholders(str(text)) - set(params)
        if extra:
            raise TemplateError(f"{name}.{where}", f"uses undeclared parameter {sorted(extra)[0]!r}")
    ttl = spec.get("ttl_seconds")
    return Template(
        name=name,
        channel=channel,
        params=params,
        text=str(spec["text"]),
        data={str(k): str(v) for k, v in data.items()},
        ttl=timedelta(seconds=int(ttl)) if ttl is not None else None,
    )


def parse_templates(document: Any) -> Templates:
    if not isinstance(document, dict) or document.get("version") != 1:
        raise TemplateError("version", "must be 1")
    try:
        kinds = {name: re.compile(pattern) for name, pattern in document["kinds"].items()}
    except (KeyError, AttributeError, re.error) as error:
        raise TemplateError("kinds", f"must map kind names to regular expressions ({type(error).__name__})") from None
    param_kinds = dict(document.get("params") or {})
    for param, kind in param_kinds.items():
        if kind not in kinds:
            raise TemplateError(f"params.{param}", f"unknown kind {kind!r}")
    templates = {name: _template(name, spec, param_kinds) for name, spec in (document.get("templates") or {}).items()}
    return Templates(version=1, kinds=kinds, param_kinds=param_kinds, templates=templates)


def load_templates() -> Templates:
    text = resources.files("privacy_waybill.policies").joinpath(TEMPLATES_FILE).read_text(encoding="utf-8")
    return parse_templates(yaml_data.safe_load(text))
