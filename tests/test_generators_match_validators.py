"""The demo and test generators produce only what the validators accept.

Faker's zh_CN provider and the division data move with their releases; the validators move
with the allocation tables. If they drift apart, the demo silently loses orders and tests
fail on some day for no change of ours. This test makes the drift a named failure instead.
"""

from __future__ import annotations

from collections import Counter

import pytest

from privacy_waybill.demo import demo_orders
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.service import Issued, Rejected
from privacy_waybill.runtime import Runtime

SEEDS = (7, 2024, 31337)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_demo_order_is_issued(rt: Runtime, seed: int) -> None:
    orders = list(demo_orders(700, seed=seed, prefix=f"G{seed}"))
    outcomes = list(rt.issuance().issue("default", records_from_objects(orders), actor="test", chunk_size=250))
    rejected = Counter(
        f"{o.error.field}: {o.error.reason}" for o in outcomes if isinstance(o, Rejected)  # field and reason only
    )
    assert rejected == Counter()
    assert sum(isinstance(o, Issued) for o in outcomes) == len(orders)


def test_demo_phones_cover_the_segments_faker_draws_from() -> None:
    """Faker draws from many segments; a generator stuck on one would hide validator gaps."""
    prefixes = {str(o["recipient"]["phone"])[:3] for o in demo_orders(2000, seed=1)}  # type: ignore[index]
    assert len(prefixes) >= 20
