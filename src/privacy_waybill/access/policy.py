"""The one decision point: `authorize(subject, action, resource, context) -> Decision`.

The model (how rules combine) is code; the rules are data (policies/access.yaml), loaded
and checked once at start-up. Deny beats allow, nothing is allowed by default, and the clock
comes in through the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from privacy_waybill import yaml_data
from privacy_waybill.access.conditions import CONDITIONS
from privacy_waybill.access.model import Context, Decision, Resource, Role, Subject
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.issuance.model import WaybillStatus

VIEWS = ("none", "masked", "surname", "last4", "virtual", "label", "full")
PERSONAL_FIELDS = ("name", "phone", "address")
RESOURCE_KINDS = ("waybill", "tenant", "platform", "station")
NOTHING_VISIBLE: Mapping[str, str] = dict.fromkeys(PERSONAL_FIELDS, "none")
DEFAULT_DENY = "default-deny"


class AccessPolicyError(PrivacyWaybillError):
    """The access policy file is unusable."""


@dataclass(frozen=True, slots=True)
class Quota:
    per_hour: int | None = None
    per_day: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    allow: bool
    roles: frozenset[Role]
    actions: frozenset[str]
    resource: str
    when: tuple[tuple[str, Any], ...] = ()
    fields: Mapping[str, str] = field(default_factory=lambda: NOTHING_VISIBLE)
    quota: str | None = None

    def first_unmet(self, subject: Subject, resource: Resource, context: Context) -> str | None:
        for name, params in self.when:
            function, _ = CONDITIONS[name]
            if not function(subject, resource, context, params):
                return name
        return None


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    version: int
    actions: frozenset[str]
    quotas: Mapping[str, Quota]
    rules: tuple[Rule, ...]
    _index: Mapping[tuple[Role, str], tuple[Rule, ...]] = field(repr=False)

    def authorize(self, subject: Subject, action: str, resource: Resource, context: Context) -> Decision:
        """Decide. Unknown actions are a programming error and raise."""
        if action not in self.actions:
            raise AccessPolicyError(f"unknown action {action!r}")
        candidates = [r for r in self._index.get((subject.role, action), ()) if r.resource == resource.kind]
        for rule in candidates:
            if not rule.allow and rule.first_unmet(subject, resource, context) is None:
                return Decision(False, rule.id, NOTHING_VISIBLE)
        unmet: tuple[str, str] | None = None
        for rule in candidates:
            if not rule.allow:
                continue
            failed = rule.first_unmet(subject, resource, context)
            if failed is None:
                return Decision(True, rule.id, rule.fields, rule.quota)
            unmet = unmet or (rule.id, failed)
        if unmet:
            return Decision(False, unmet[0], NOTHING_VISIBLE, unmet=unmet[1])
        return Decision(False, DEFAULT_DENY, NOTHING_VISIBLE)


def _where(rule_id: str) -> str:
    return f"access policy, rule {rule_id!r}"


def _names(value: Any, where: str, what: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise AccessPolicyError(f"{where}: {what} must be a non-empty list of names")
    return value


def _condition(spec: Any, where: str) -> tuple[str, Any]:
    if isinstance(spec, str):
        name, params = spec, None
    elif isinstance(spec, dict) and len(spec) == 1:
        [(name, params)] = spec.items()
    else:
        raise AccessPolicyError(f"{where}: a condition is a name or a one-key mapping")
    if name not in CONDITIONS:
        raise AccessPolicyError(f"{where}: unknown condition {name!r}")
    takes_list = CONDITIONS[name][1]
    if takes_list:
        params = frozenset(_names(params, where, f"condition {name!r}"))
        if name == "status_in" and not params <= {s.value for s in WaybillStatus}:
            raise AccessPolicyError(f"{where}: status_in names an unknown status")
    elif params is not None:
        raise AccessPolicyError(f"{where}: condition {name!r} takes no parameters")
    return name, params


def _rule(spec: Any, actions: frozenset[str], quotas: Mapping[str, Quota]) -> Rule:
    if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
        raise AccessPolicyError("access policy: every rule needs an id")
    where = _where(spec["id"])
    known = {"id", "effect", "roles", "actions", "resource", "when", "fields", "quota"}
    if extra := set(spec) - known:
        raise AccessPolicyError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    effect = spec.get("effect", "allow")
    if effect not in ("allow", "deny"):
        raise AccessPolicyError(f"{where}: effect must be allow or deny")
    try:
        roles = frozenset(Role(r) for r in _names(spec.get("roles"), where, "roles"))
    except ValueError:
        raise AccessPolicyError(f"{where}: unknown role") from None
    rule_actions = frozenset(_names(spec.get("actions"), where, "actions"))
    if unknown := rule_actions - actions:
        raise AccessPolicyError(f"{where}: unknown action(s) {', '.join(sorted(unknown))}")
    if spec.get("resource") not in RESOURCE_KINDS:
        raise AccessPolicyError(f"{where}: resource must be one of {', '.join(RESOURCE_KINDS)}")
    fields_spec = spec.get("fields", {})
    if not isinstance(fields_spec, dict) or set(fields_spec) - set(PERSONAL_FIELDS):
        raise AccessPolicyError(f"{where}: fields may name only {', '.join(PERSONAL_FIELDS)}")
    if bad := {v for v in fields_spec.values() if v not in VIEWS}:
        raise AccessPolicyError(f"{where}: unknown view(s) {', '.join(sorted(map(str, bad)))}")
    if effect == "deny" and fields_spec:
        raise AccessPolicyError(f"{where}: a deny rule shows no fields")
    quota = spec.get("quota")
    if quota is not None and quota not in quotas:
        raise AccessPolicyError(f"{where}: unknown quota {quota!r}")
    return Rule(
        id=spec["id"],
        allow=effect == "allow",
        roles=roles,
        actions=rule_actions,
        resource=spec["resource"],
        when=tuple(_condition(c, where) for c in spec.get("when", [])),
        fields={**NOTHING_VISIBLE, **fields_spec},
        quota=quota,
    )


def _quota(name: str, spec: Any) -> Quota:
    if not isinstance(spec, dict) or not spec or set(spec) - {"per_hour", "per_day"}:
        raise AccessPolicyError(f"access policy, quota {name!r}: give per_hour and/or per_day")
    if not all(isinstance(v, int) and v > 0 for v in spec.values()):
        raise AccessPolicyError(f"access policy, quota {name!r}: limits are positive whole numbers")
    return Quota(**spec)


def parse_access_policy(document: Any) -> AccessPolicy:
    if not isinstance(document, dict) or document.get("version") != 1:
        raise AccessPolicyError("access policy: version must be 1")
    actions = frozenset(_names(document.get("actions"), "access policy", "actions"))
    quotas = {name: _quota(name, spec) for name, spec in (document.get("quotas") or {}).items()}
    rules = tuple(_rule(spec, actions, quotas) for spec in document.get("rules") or [])
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise AccessPolicyError("access policy: rule ids must be unique")
    index: dict[tuple[Role, str], list[Rule]] = {}
    for rule in rules:
        for role in rule.roles:
            for action in rule.actions:
                index.setdefault((role, action), []).append(rule)
    return AccessPolicy(1, actions, quotas, rules, {k: tuple(v) for k, v in index.items()})


DEFAULT_POLICY_FILE = "access.yaml"


def load_access_policy(path: str | Path | None = None) -> AccessPolicy:
    source = Path(path) if path else files("privacy_waybill.policies") / DEFAULT_POLICY_FILE
    try:
        document = yaml_data.safe_load(source.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise AccessPolicyError(f"access policy {source}: cannot be read as YAML ({type(error).__name__})") from None
    return parse_access_policy(document)
