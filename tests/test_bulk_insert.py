"""The bulk insert stores exactly what SQLAlchemy's ordinary insert stores, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, String, Table, insert, select, text

from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.service import Issued
from privacy_waybill.runtime import DEFAULT_TENANT, Runtime
from privacy_waybill.storage.bulk import bulk_insert
from privacy_waybill.storage.db import alembic_config, migrate
from privacy_waybill.storage.models import UtcDateTime

_metadata = MetaData()
_ROWS = Table(
    "bulk_probe",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(20), nullable=False),
    Column("blob", LargeBinary),
    Column("at", UtcDateTime, nullable=True),
)
_COLUMNS = ("id", "label", "blob", "at")
_BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def probe(engine: Engine) -> Engine:
    _metadata.create_all(engine)
    return engine


def test_times_and_bytes_are_stored_as_the_ordinary_insert_stores_them(probe: Engine) -> None:
    moments = [datetime(2026, 12, 1, 18, 46, 31, 770333, tzinfo=UTC), datetime(2026, 12, 2, 2, 0, tzinfo=_BEIJING), None]
    with probe.begin() as conn:
        for index, at in enumerate(moments):
            conn.execute(insert(_ROWS).values(id=index, label="ordinary", blob=b"\x00\x01", at=at))
        bulk_insert(conn, _ROWS, _COLUMNS, [(100 + i, "bulk", b"\x00\x01", at) for i, at in enumerate(moments)])
    with probe.connect() as conn:
        read = {row.id: row for row in conn.execute(select(_ROWS))}
        stored = dict(conn.execute(text("SELECT id, CAST(at AS VARCHAR(40)) FROM bulk_probe")).all())
    for index, at in enumerate(moments):
        ordinary, bulk = read[index], read[100 + index]
        assert (bulk.blob, bulk.at) == (ordinary.blob, ordinary.at) == (b"\x00\x01", at)
        assert stored[100 + index] == stored[index]
    assert read[1].at is not None and read[1].at.utcoffset() == timedelta(0)  # Beijing time came back as UTC


def test_a_naive_time_is_refused_as_the_ordinary_insert_refuses_it(probe: Engine) -> None:
    with pytest.raises(ValueError, match="naive"), probe.begin() as conn:
        bulk_insert(conn, _ROWS, _COLUMNS, [(1, "bulk", None, datetime(2026, 12, 1, 12, 0))])
    with probe.connect() as conn:
        assert conn.execute(select(_ROWS)).all() == []


def test_times_the_earlier_bulk_insert_wrote_in_sqlite_are_rewritten_in_the_common_format(
    rt: Runtime, demo_order_dicts: list[dict[str, object]]
) -> None:
    from alembic import command

    if rt.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores times natively: there is nothing to rewrite")
    outcomes = list(rt.issuance().issue(DEFAULT_TENANT, records_from_objects(demo_order_dicts[:2]), "test"))
    ids = [o.waybill.waybill_id for o in outcomes if isinstance(o, Issued)]
    command.downgrade(alembic_config(rt.engine), "0010_purpose_keys")
    written_before = {ids[0]: "2026-12-01 18:00:00+00:00", ids[1]: "2026-12-01 18:00:00.250000+00:00"}
    with rt.engine.begin() as conn:
        for waybill_id, old_text in written_before.items():
            conn.execute(text("UPDATE waybills SET created_at = :t WHERE id = :i"), {"t": old_text, "i": waybill_id})
            conn.execute(text("UPDATE waybill_events SET at = :t WHERE waybill_id = :i"), {"t": old_text, "i": waybill_id})
    migrate(rt.engine)
    with rt.engine.connect() as conn:
        created = dict(conn.execute(text("SELECT id, created_at FROM waybills")).all())
        events = dict(conn.execute(text("SELECT waybill_id, at FROM waybill_events")).all())
    assert created == events == {ids[0]: "2026-12-01 18:00:00.000000", ids[1]: "2026-12-01 18:00:00.250000"}
    first = rt.waybills.get_by_number(DEFAULT_TENANT, outcomes[0].waybill.waybill_no)  # type: ignore[union-attr]
    assert first is not None and first.created_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset_minutes=st.sampled_from([None, 0, 480, -300, 345]),
)
def test_sqlite_text_is_the_utc_time_without_offset_and_with_six_digits_of_microseconds(
    moment: datetime, offset_minutes: int | None
) -> None:
    # None: the UTC singleton itself (the issuing clock's), which takes the short way.
    zone = UTC if offset_minutes is None else timezone(timedelta(minutes=offset_minutes))
    value = moment.replace(tzinfo=zone)
    expected = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    assert UtcDateTime.sqlite_text(value) == expected
    assert len(expected) == 26 and "+" not in expected


def test_sqlite_text_of_times_in_the_same_second_the_next_one_and_an_earlier_one() -> None:
    # The text of a second is kept for the next time in it: each step here switches or keeps it.
    start = datetime(2026, 12, 6, 22, 59, 59, 999_998, tzinfo=UTC)
    later = [start + timedelta(microseconds=n) for n in (1, 2)]
    moments = [start, *later, start, datetime(1969, 12, 31, 23, 59, 59, 5, tzinfo=UTC)]
    expected = [m.replace(tzinfo=None).isoformat(" ", "microseconds") for m in moments]
    assert [UtcDateTime.sqlite_text(m) for m in moments] == expected
    assert expected[2] == "2026-12-06 23:00:00.000000"
