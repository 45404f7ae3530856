"""How far beyond chance an accessor saw the leaked list: the hypergeometric tail.

Of a population of N waybills, n are in the leak and an accessor saw K. If what it saw had
nothing to do with the leak, the overlap k would be hypergeometric(N, K, n), so
p = P(X >= k). Leaks are large, so p underflows a float long before ranking stops
mattering: the ranking uses log10 p from scipy's `logsf`, falling back to the log of the
point probability (a lower bound that dominates the far tail) when even that underflows.
p is also reported Bonferroni-adjusted for the number of accessors tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import hypergeom

from privacy_waybill.tracing.exposure import ExposureCounts

LN10 = math.log(10)


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    kind: str
    accessor: str
    seen: int
    hits: int
    expected: float
    lift: float
    log10_p: float
    p: float
    p_adjusted: float


def log10_tail(k: int, population: int, seen: int, leaked: int) -> float:
    """log10 P(X >= k) for X ~ hypergeometric(population, seen, leaked)."""
    if k <= 0:
        return 0.0
    log_sf = float(hypergeom.logsf(k - 1, population, seen, leaked))
    if math.isinf(log_sf) or math.isnan(log_sf):
        log_sf = float(hypergeom.logpmf(k, population, seen, leaked))
    return min(0.0, log_sf / LN10)


def rank_accessors(counts: ExposureCounts) -> list[Ranked]:
    population, leaked = counts.population, counts.leaked_in_population
    tested = max(1, counts.accessors_tested)
    scored = []
    for exposure in counts.exposures:
        expected = leaked * exposure.seen / population if population else 0.0
        log10_p = log10_tail(exposure.hits, population, exposure.seen, leaked)
        p = 10**log10_p
        scored.append(
            (
                log10_p,
                -exposure.hits,
                exposure.kind,
                exposure.accessor,
                exposure,
                expected,
                p,
                min(1.0, p * tested),
            )
        )
    scored.sort(key=lambda item: item[:4])
    return [
        Ranked(
            rank=position,
            kind=e.kind,
            accessor=e.accessor,
            seen=e.seen,
            hits=e.hits,
            expected=round(expected, 3),
            lift=round(e.hits / expected, 2) if expected else 0.0,
            log10_p=round(log10_p, 2),
            p=p,
            p_adjusted=p_adjusted,
        )
        for position, (log10_p, _, _, _, e, expected, p, p_adjusted) in enumerate(scored, start=1)
    ]
