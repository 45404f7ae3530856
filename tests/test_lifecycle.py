"""Lifecycle transitions, row by row."""

from __future__ import annotations

import pytest

from privacy_waybill.errors import Conflict
from privacy_waybill.issuance.lifecycle import NEXT, TERMINAL, check_transition
from privacy_waybill.issuance.model import WaybillStatus as S

HAPPY_PATHS = [
    [S.CREATED, S.PRINTED, S.COLLECTED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED],
    [S.CREATED, S.PRINTED, S.COLLECTED, S.IN_TRANSIT, S.AT_STATION, S.DELIVERED],
    [S.CREATED, S.PRINTED, S.COLLECTED, S.IN_TRANSIT, S.IN_LOCKER, S.DELIVERED],
    [S.CREATED, S.PRINTED, S.COLLECTED, S.IN_TRANSIT, S.EXCEPTION, S.RETURNED],
]


@pytest.mark.parametrize("path", HAPPY_PATHS)
def test_the_paths_of_a_parcel_are_allowed(path: list[S]) -> None:
    for current, target in zip(path, path[1:], strict=False):
        check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.CREATED, S.DELIVERED), (S.DELIVERED, S.OUT_FOR_DELIVERY), (S.RETURNED, S.IN_TRANSIT), (S.COLLECTED, S.CREATED)],
)
def test_impossible_transitions_are_refused_with_both_states_named(current: S, target: S) -> None:
    with pytest.raises(Conflict) as caught:
        check_transition(current, target)
    assert current.value in str(caught.value) and target.value in str(caught.value)


def test_every_status_has_a_row_and_terminal_states_lead_nowhere() -> None:
    assert set(NEXT) == set(S)
    assert all(not NEXT[s] for s in TERMINAL)
    reachable = {S.CREATED}
    for _ in S:
        reachable |= {t for s in reachable for t in NEXT[s]}
    assert reachable == set(S)
