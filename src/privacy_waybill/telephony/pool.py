"""Choosing an X for a new binding: pure rules over the pool's current load.

An X never carries two live bindings with the same A or the same B (the provider could not
tell which binding a call belongs to), never more live bindings than its capacity, and, where
the pool allows, each viewer of a recipient gets an X no other viewer of that recipient got,
so a leaked X names who saw it. Among what is left, the least loaded X wins (ties by number),
which spreads load and keeps the choice deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from privacy_waybill.telephony.model import NumberLoad


def choose_x(
    pool: Iterable[NumberLoad], a_index: bytes, b_index: bytes, taken_by_other_viewers: Mapping[str, str]
) -> str | None:
    """The X for a binding of A and B, or None when no X may take it.

    `taken_by_other_viewers` maps X numbers already handed to other viewers of this B (live
    or not) to those viewers; they are used only when no other X is possible.
    """
    possible = [n for n in pool if n.live < n.capacity and a_index not in n.live_a and b_index not in n.live_b]
    if not possible:
        return None
    fresh = [n for n in possible if n.x_number not in taken_by_other_viewers]
    best = min(fresh or possible, key=lambda n: (n.live / n.capacity, n.x_number))
    return best.x_number
