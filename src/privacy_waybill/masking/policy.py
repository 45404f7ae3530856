"""Masking policies: which rule each audience sees each personal field through, per profile.

The policy is data (policies/masking.yaml), checked completely when loaded so that a typo
stops start-up instead of showing a field unmasked later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import yaml

from privacy_waybill import yaml_data
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.labels.model import MaskedParty
from privacy_waybill.masking.rules import (
    Maskable,
    MaskingRule,
    Params,
    RuleParamsError,
    get_rule,
)
from privacy_waybill.validation.names import PersonName
from privacy_waybill.validation.phones import Phone

POLICY_VERSION = 1
DEFAULT_PROFILE = "standard"
AUDIENCES: tuple[str, ...] = ("label", "station", "courier_before_reveal", "customer_service", "tracking")
FIELDS: tuple[str, ...] = ("name", "phone", "address", "remark")


class MaskingPolicyError(PrivacyWaybillError):
    """The masking policy file is unusable, or a caller asked for a profile it lacks."""


@dataclass(frozen=True, slots=True)
class FieldMasking:
    """A rule with its checked parameters."""

    rule: MaskingRule
    params: Params = field(repr=False)

    def mask(self, value: Maskable | None) -> str:
        return self.rule.apply(value, self.params)


@dataclass(frozen=True, slots=True)
class MaskingPolicy:
    """profiles[profile][audience][field] -> FieldMasking."""

    version: int
    profiles: Mapping[str, Mapping[str, Mapping[str, FieldMasking]]] = field(repr=False)
    # (profile, audience) -> the name, phone and address maskings, resolved on first use:
    # issuance masks two parties per waybill, and the checks of `masking_for` need to pass
    # only once per pair. Holds policy entries only, never a value.
    _party_maskings: dict[tuple[str, str], tuple[FieldMasking, FieldMasking, FieldMasking]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def masking_for(self, profile: str, audience: str, field_name: str) -> FieldMasking:
        if profile not in self.profiles:
            raise MaskingPolicyError(f"masking policy has no profile {profile!r}")
        if audience not in AUDIENCES:
            raise MaskingPolicyError(f"unknown audience {audience!r}; known: {', '.join(AUDIENCES)}")
        if field_name not in FIELDS:
            raise MaskingPolicyError(f"unknown field {field_name!r}; known: {', '.join(FIELDS)}")
        return self.profiles[profile][audience][field_name]

    def mask_field(self, profile: str, audience: str, field_name: str, value: Maskable | None) -> str:
        """`value` as `audience` may see it under `profile`."""
        return self.masking_for(profile, audience, field_name).mask(value)

    def mask_party(
        self,
        profile: str,
        audience: str,
        name: str | PersonName,
        phone: str | Phone,
        address: str | ParsedAddress,
    ) -> MaskedParty:
        """A sender or recipient as `audience` may see it; each part may come validated already."""
        maskings = self._party_maskings.get((profile, audience))
        if maskings is None:
            maskings = self._party_maskings[(profile, audience)] = (
                self.masking_for(profile, audience, "name"),
                self.masking_for(profile, audience, "phone"),
                self.masking_for(profile, audience, "address"),
            )
        name_masking, phone_masking, address_masking = maskings
        # Positional, in MaskedParty's order (name, phone, address): keywords cost a dict per party.
        return MaskedParty(
            name_masking.rule.apply(name, name_masking.params),
            phone_masking.rule.apply(phone, phone_masking.params),
            address_masking.rule.apply(_without_own_name(address, name), address_masking.params),
        )


def _without_own_name(address: str | ParsedAddress, name: str | PersonName) -> str | ParsedAddress:
    """The address with its road hidden when the party's own name is written in it.

    People type their name into the address (北京市朝阳区王伟建国路88号): the detail reader
    cannot tell a name glued to a road from a longer road name, but the order says what the
    name is, and a label that shows the road would print it next to the masked name.
    """
    if not isinstance(address, ParsedAddress) or not address.road:
        return address
    written = name.written if isinstance(name, PersonName) else name.strip()
    if len(written) >= 2 and written in address.road:
        return address.with_road_hidden()
    return address


def _field_masking(spec: object, where: str) -> FieldMasking:
    if not isinstance(spec, Mapping) or "rule" not in spec:
        raise MaskingPolicyError(f"{where}: expected a mapping with a 'rule' key")
    params = {key: value for key, value in spec.items() if key != "rule"}
    try:
        rule = get_rule(str(spec["rule"]))
        rule.validate(params)
    except KeyError as exc:
        raise MaskingPolicyError(f"{where}: {exc.args[0]}") from None
    except RuleParamsError as exc:
        raise MaskingPolicyError(f"{where}: {exc}") from None
    return FieldMasking(rule, params)


def _unexpected(keys: object, known: tuple[str, ...]) -> list[str]:
    return sorted(str(key) for key in keys if key not in known)  # type: ignore[attr-defined]


def parse_masking_policy(document: object, source: str = "masking policy") -> MaskingPolicy:
    """Check a loaded policy document completely and build the policy.

    Every error names the profile, audience and field it is about.
    """
    if not isinstance(document, Mapping):
        raise MaskingPolicyError(f"{source}: expected a mapping at the top level")
    if document.get("version") != POLICY_VERSION:
        raise MaskingPolicyError(f"{source}: 'version' must be {POLICY_VERSION}")
    raw_profiles = document.get("profiles")
    if not isinstance(raw_profiles, Mapping) or DEFAULT_PROFILE not in raw_profiles:
        raise MaskingPolicyError(f"{source}: 'profiles' must be a mapping that includes {DEFAULT_PROFILE!r}")
    profiles: dict[str, dict[str, dict[str, FieldMasking]]] = {}
    for profile, audiences in raw_profiles.items():
        where = f"{source}: profile {profile!r}"
        if not isinstance(audiences, Mapping):
            raise MaskingPolicyError(f"{where}: expected a mapping of audiences")
        if unknown := _unexpected(audiences, AUDIENCES):
            raise MaskingPolicyError(f"{where}: unknown audience(s) {', '.join(unknown)}")
        profiles[profile] = {}
        for audience in AUDIENCES:
            fields = audiences.get(audience)
            if not isinstance(fields, Mapping):
                raise MaskingPolicyError(f"{where}: audience {audience!r} is missing")
            if unknown := _unexpected(fields, FIELDS):
                raise MaskingPolicyError(f"{where}, audience {audience!r}: unknown field(s) {', '.join(unknown)}")
            profiles[profile][audience] = {}
            for field_name in FIELDS:
                field_where = f"{where}, audience {audience!r}, field {field_name!r}"
                if field_name not in fields:
                    raise MaskingPolicyError(f"{field_where} is missing")
                profiles[profile][audience][field_name] = _field_masking(fields[field_name], field_where)
    return MaskingPolicy(POLICY_VERSION, profiles)


def load_masking_policy(path: str | Path | None = None) -> MaskingPolicy:
    """Load and check a policy file; without `path`, the one shipped with the package."""
    if path is None:
        text = (files("privacy_waybill") / "policies" / "masking.yaml").read_text("utf-8")
        source = "policies/masking.yaml"
    else:
        text = Path(path).read_text("utf-8")
        source = str(path)
    try:
        document = yaml_data.safe_load(text)
    except yaml.YAMLError as exc:
        raise MaskingPolicyError(f"{source}: not valid YAML ({exc.__class__.__name__})") from None
    return parse_masking_policy(document, source)
