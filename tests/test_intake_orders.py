"""Order model structure and the value-free error reasons of `order_errors`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.orders import (
    AddressParts,
    OrderIn,
    field_error_from,
    order_errors,
    order_from_json,
    order_json,
)

# Values a reader would recognise if they leaked into a message.
NAME = "欧阳娜娜"
PHONE = "13812345678"
ADDRESS = "浙江省杭州市余杭区文一西路969号"
ID_NUMBER = "11010519491231002X"
SECRETS = (NAME, PHONE, ADDRESS, ID_NUMBER, "5678", "文一西路")


def order(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": "SHOP-2026:001.a_b",
        "recipient": {"name": NAME, "phone": PHONE, "address": ADDRESS},
        "sender": {"name": "李四", "phone": "13900139000", "address": {"district": "西湖区"}},
        "items": [{"name": "T恤", "quantity": 2}],
    }
    data.update(changes)
    return data


def error_of(data: dict[str, Any]) -> FieldError:
    with pytest.raises(ValidationError) as caught:
        OrderIn.model_validate(data)
    return order_errors(caught.value)


def with_party(party: str, **fields: Any) -> dict[str, Any]:
    data = order()
    data[party] = {**data[party], **fields}
    return data


def test_valid_order_is_stripped_and_defaults_apply() -> None:
    parsed = OrderIn.model_validate(order(remark="  ", order_id="  A1 "))
    assert parsed.order_id == "A1"
    assert parsed.remark is None
    assert parsed.service == "standard"
    assert parsed.recipient.address == ADDRESS
    assert isinstance(parsed.sender.address, AddressParts)
    assert parsed.sender.address.district == "西湖区"


def test_numbers_given_as_text_are_accepted() -> None:
    parsed = OrderIn.model_validate(order(weight_g="1200", items=[{"name": "书", "quantity": "3"}]))
    assert parsed.weight_g == 1200
    assert parsed.items[0].quantity == 3


def test_repr_and_str_hide_personal_data() -> None:
    parsed = OrderIn.model_validate(order(id_number=ID_NUMBER, remark=f"call {PHONE}"))
    for text in (repr(parsed), str(parsed), repr(parsed.sender.address)):
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (order(order_id=""), "order_id", "must not be empty"),
        (order(order_id="A" * 65), "order_id", "must be at most 64 characters"),
        (order(order_id="订单 1"), "order_id", "may contain only letters, digits and _ - : ."),
        (order(order_id=None), "order_id", "must be a string"),
        ({k: v for k, v in order().items() if k != "sender"}, "sender", "is required"),
        (order(recipient="x"), "recipient", "must be an object"),
        (with_party("recipient", name=""), "recipient.name", "must not be empty"),
        (
            with_party("recipient", name="张" * 41),
            "recipient.name",
            "must be at most 40 characters",
        ),
        (
            with_party("recipient", phone="1" * 41),
            "recipient.phone",
            "must be at most 40 characters",
        ),
        (
            with_party("recipient", address="路" * 201),
            "recipient.address",
            "must be at most 200 characters",
        ),
        (
            with_party("recipient", address=12),
            "recipient.address",
            "must be a string or an object of address parts",
        ),
        (
            with_party("recipient", address={"province": "浙江省"}),
            "recipient.address",
            "needs a district or a detail",
        ),
        (
            with_party("recipient", address={"district": "余杭区", "road": "x"}),
            "recipient.address.road",
            "is not an accepted field",
        ),
        (
            with_party("recipient", address={"detail": "路" * 201}),
            "recipient.address.detail",
            "must be at most 200 characters",
        ),
        (with_party("sender", email="a@b.c"), "sender.email", "is not an accepted field"),
        (order(items=[]), "items", "must not be empty"),
        (
            order(items=[{"name": "a", "quantity": 1}] * 101),
            "items",
            "must have at most 100 entries",
        ),
        (order(items="T恤*2"), "items", "must be a list"),
        (order(items=[{"name": "a", "quantity": 0}]), "items.0.quantity", "must be at least 1"),
        (
            order(items=[{"name": "a", "quantity": "two"}]),
            "items.0.quantity",
            "must be a whole number",
        ),
        (
            order(items=[{"name": "a", "quantity": 1.5}]),
            "items.0.quantity",
            "must be a whole number",
        ),
        (
            order(items=[{"name": "a" * 101, "quantity": 1}]),
            "items.0.name",
            "must be at most 100 characters",
        ),
        (order(items=[{"quantity": 1}]), "items.0.name", "is required"),
        (order(remark="x" * 501), "remark", "must be at most 500 characters"),
        (order(weight_g=0), "weight_g", "must be at least 1"),
        (order(weight_g=100_001), "weight_g", "must be at most 100000"),
        (order(service="rocket"), "service", "must be one of 'standard', 'express' or 'economy'"),
        (order(id_number="1" * 33), "id_number", "must be at most 32 characters"),
        (order(coupon="X"), "coupon", "is not an accepted field"),
        (order(**{"券 1": "X"}), "order", "has a field name that is not accepted"),
        (with_party("sender", **{"电话": "X"}), "sender", "has a field name that is not accepted"),
    ],
)
def test_first_error_becomes_field_path_and_reason(data: dict[str, Any], field: str, reason: str) -> None:
    error = error_of(data)
    assert (error.field, error.reason) == (field, reason)


@pytest.mark.parametrize(
    "data",
    [
        order(order_id=f"{NAME}{PHONE}"),
        order(order_id=PHONE * 10),
        order(recipient={"name": NAME, "phone": PHONE, "address": ADDRESS * 20}),
        order(recipient={"name": NAME * 20, "phone": PHONE, "address": ADDRESS}),
        order(recipient={"name": NAME, "phone": [PHONE], "address": ADDRESS}),
        order(recipient={"name": NAME, "phone": PHONE, "address": {"town": ADDRESS}}),
        order(recipient={"name": NAME, "phone": PHONE, "address": ADDRESS, "id": ID_NUMBER}),
        order(items=[{"name": NAME, "quantity": PHONE}]),
        order(weight_g=PHONE),
        order(service=PHONE),
        order(id_number=ID_NUMBER * 3),
        order(remark=ADDRESS * 40),
        order(**{PHONE: NAME}),
        with_party("recipient", **{NAME: PHONE}),
    ],
)
def test_error_reason_never_quotes_the_input(data: dict[str, Any]) -> None:
    error = error_of(data)
    for secret in SECRETS:
        assert secret not in str(error)


@given(
    value=st.text(alphabet="0123456789欧阳娜文一西路", min_size=4, max_size=60),
    field=st.sampled_from(["order_id", "weight_g", "service", "items", "recipient", "remark"]),
)
def test_error_never_contains_a_rejected_value(value: str, field: str) -> None:
    value = f"欧{value}"  # never a valid order id, weight or service
    data = order(**{field: [value] if field == "remark" else value})
    with pytest.raises(ValidationError) as caught:
        OrderIn.model_validate(data)
    assert value not in str(order_errors(caught.value))


def test_field_error_from_drops_a_framework_location_prefix() -> None:
    with pytest.raises(ValidationError) as caught:
        OrderIn.model_validate(order(weight_g=NAME))
    error = dict(caught.value.errors()[0])
    error["loc"] = ("body", *error["loc"])
    converted = field_error_from(error, drop_leading=("body", "query"))
    assert (converted.field, converted.reason) == ("weight_g", "must be a whole number")
    assert NAME not in str(converted)


def test_field_error_from_an_unknown_type_gives_a_generic_reason() -> None:
    error = {"type": "mystery", "loc": ("body", "x"), "msg": PHONE, "input": PHONE}
    assert str(field_error_from(error, drop_leading=("body",))) == "x: is not valid"


def test_order_json_and_order_from_json_are_pydantics_own_for_demo_and_edge_orders() -> None:
    # order_json is the fingerprint input: byte for byte what model_dump_json wrote before.
    from privacy_waybill.demo import demo_orders

    samples = [order(), order(remark="  放门口 ", id_number=ID_NUMBER, weight_g=1, service="economy")]
    samples += [order(recipient={"name": NAME, "phone": PHONE, "address": {"province": "浙江", "detail": "x"}})]
    samples += list(demo_orders(200, seed=7, prefix="JSON"))
    for data in samples:
        text = json.dumps(data, ensure_ascii=False)
        read = order_from_json(text)
        assert read == OrderIn.model_validate_json(text)
        assert order_json(read) == read.model_dump_json()
        assert order_from_json(order_json(read)) == read


def test_order_from_json_refuses_as_pydantic_does() -> None:
    with pytest.raises(ValidationError) as caught:
        order_from_json(json.dumps(order(items=[])))
    error = order_errors(caught.value)
    assert (error.field, error.reason) == ("items", "must not be empty")
