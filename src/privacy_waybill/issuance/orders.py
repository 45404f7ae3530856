"""The shape of an order as merchants submit it, checked structurally by pydantic.

These models fix *structure* (which fields, types, lengths, ranges); whether a phone, name
or address is real is decided later by the validation modules. `order_errors` turns a
pydantic failure into a `FieldError` whose reason is built from the error type and its
limits only, because pydantic's own messages and error dicts can carry the input value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from privacy_waybill.errors import FieldError

ORDER_ID_PATTERN = r"^[A-Za-z0-9_\-:.]+$"
MAX_ITEMS = 100
MAX_ITEM_QUANTITY = 100_000


def _blank_to_none(value: Any) -> Any:
    """Optional text sent as "" or spaces means "not given", as an empty CSV cell does."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _limit(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# Personal fields use Field(repr=False): models get logged and shown in tracebacks.
PersonName = Annotated[str, _limit(40), Field(repr=False)]
PhoneText = Annotated[str, _limit(40), Field(repr=False)]
AddressText = Annotated[str, _limit(200)]
ItemName = Annotated[str, _limit(100), Field(repr=False)]
DivisionName = Annotated[Annotated[str, _limit(40)] | None, BeforeValidator(_blank_to_none), Field(repr=False)]
AddressDetail = Annotated[Annotated[str, _limit(200)] | None, BeforeValidator(_blank_to_none), Field(repr=False)]
Remark = Annotated[Annotated[str, _limit(500)] | None, BeforeValidator(_blank_to_none), Field(repr=False)]
IdNumberText = Annotated[Annotated[str, _limit(32)] | None, BeforeValidator(_blank_to_none), Field(repr=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class AddressParts(_Strict):
    """An address already split by the merchant's system; `district` or `detail` must be set."""

    province: DivisionName = None
    city: DivisionName = None
    district: DivisionName = None
    town: DivisionName = None
    detail: AddressDetail = None

    @model_validator(mode="after")
    def _district_or_detail(self) -> AddressParts:
        if self.district is None and self.detail is None:
            raise PydanticCustomError("address_incomplete", "needs a district or a detail")
        return self


def _address_form(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict | AddressParts):
        return "parts"
    return None


Address = Annotated[
    Annotated[AddressText, Tag("text")] | Annotated[AddressParts, Tag("parts")],
    Discriminator(
        _address_form,
        custom_error_type="address_form",
        custom_error_message="must be a string or an object of address parts",
    ),
]
# Discriminator tags appear in error locations; they are not fields the user wrote.
_UNION_TAGS = frozenset({"text", "parts"})
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


class PartyIn(_Strict):
    name: PersonName
    phone: PhoneText
    address: Annotated[Address, Field(repr=False)]


class ItemIn(_Strict):
    name: ItemName
    quantity: Annotated[int, Field(ge=1, le=MAX_ITEM_QUANTITY)]


class OrderIn(_Strict):
    """One order. `order_id` is the merchant's idempotency key; `id_number` is never printed."""

    order_id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=ORDER_ID_PATTERN),
    ]
    recipient: PartyIn
    sender: PartyIn
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
    remark: Remark = None
    weight_g: Annotated[int | None, Field(ge=1, le=100_000)] = None
    service: Literal["standard", "express", "economy"] = "standard"
    id_number: IdNumberText = None


# The model's own compiled validator and serializer, called directly: `model_validate_json`
# and `model_dump_json` pass them fifteen options these calls never set, and passing them
# cost about a third of writing a small order (measured).
_ORDER_VALIDATOR = OrderIn.__pydantic_validator__
_ORDER_SERIALIZER = OrderIn.__pydantic_serializer__


def order_from_json(text: str | bytes) -> OrderIn:
    """`OrderIn.model_validate_json(text)`; raises ValidationError (also for bytes that are not UTF-8)."""
    return _ORDER_VALIDATOR.validate_json(text)  # type: ignore[no-any-return]


def order_json(order: OrderIn) -> str:
    """`order.model_dump_json()`: compact UTF-8 JSON, fields in declaration order. It is the
    input of the order's fingerprint, so it must not change from one version to the next."""
    return _ORDER_SERIALIZER.to_json(order).decode()


def _reason(error: Mapping[str, Any]) -> str:
    """A short English reason from the error type and limits; never from the input."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in {"string_too_short", "too_short"} and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in _REASONS:
        return _REASONS[kind].format(**ctx)
    return "is not valid"


_REASONS: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not an accepted field",
    "string_type": "must be a string",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "may contain only letters, digits and _ - : .",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "list_type": "must be a list",
    "too_short": "must have at least {min_length} entries",
    "too_long": "must have at most {max_length} entries",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "literal_error": "must be one of {expected}",
    "address_form": "must be a string or an object of address parts",
    "address_incomplete": "needs a district or a detail",
    "json_invalid": "is not valid JSON",
}


def field_error_from(error: Mapping[str, Any], drop_leading: Iterable[str] = ()) -> FieldError:
    """One pydantic error as a FieldError; its input and message are never used.

    `drop_leading` strips a first location part that is not a user field, such as the
    ``body`` FastAPI puts in front of request body errors.
    """
    loc = [str(part) for part in error["loc"] if part not in _UNION_TAGS]
    if loc and loc[0] in set(drop_leading):
        loc = loc[1:]
    reason = _reason(error)
    # An unexpected key is input too: name it only when it looks like a field name.
    if error["type"] == "extra_forbidden" and loc and not _FIELD_NAME.fullmatch(loc[-1]):
        loc, reason = loc[:-1], "has a field name that is not accepted"
    return FieldError(".".join(loc) or "order", reason)


def order_errors(exc: ValidationError) -> FieldError:
    """The first error of `exc` as a FieldError with a dotted path such as ``items.0.quantity``."""
    return field_error_from(exc.errors(include_url=False, include_input=False)[0])
