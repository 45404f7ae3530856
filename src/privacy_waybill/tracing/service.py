"""A trace case end to end: read the list, match, count exposure, rank, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from privacy_waybill.tracing.exposure import AuditWarehouse
from privacy_waybill.tracing.leak import read_leak
from privacy_waybill.tracing.matching import Masker, VirtualNumbers, WaybillDirectory, match_leak
from privacy_waybill.tracing.statistics import rank_accessors

REPORTED_ACCESSORS = 100


class TraceService:
    def __init__(
        self,
        directory: WaybillDirectory,
        warehouse: Callable[[], AuditWarehouse],
        masker: Masker,
        canary_at: Callable[[str], str | None],
        virtual_numbers: VirtualNumbers | None = None,
    ) -> None:
        """`warehouse()` returns the audit warehouse brought up to date (the caller closes nothing)."""
        self._directory = directory
        self._warehouse = warehouse
        self._masker = masker
        self._canary_at = canary_at
        self._virtual_numbers = virtual_numbers

    def run(
        self,
        data: bytes,
        case_id: str,
        now: datetime,
        created_by: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        records = read_leak(data)
        matches = match_leak(records, self._directory, self._masker, self._virtual_numbers)
        leaked_ids = set(matches.waybill_ids.values())
        counts = self._warehouse().exposure(leaked_ids, since, until)
        ranking = [asdict(r) for r in rank_accessors(counts)]
        top_by_kind: dict[str, dict[str, Any]] = {}
        for entry in ranking:
            top_by_kind.setdefault(entry["kind"], entry)
        canaries = sorted(
            ({"waybill_id": w, "planted_at": at} for w in leaked_ids if (at := self._canary_at(w)) is not None),
            key=lambda c: c["waybill_id"],
        )
        return {
            "case_id": case_id,
            "created_at": now.isoformat(),
            "created_by": created_by,
            "period": {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None},
            "leak": {
                "rows": len(records),
                "matched": matches.matched,
                "distinct_waybills": len(leaked_ids),
                "methods": {str(k): v for k, v in matches.methods.items()},
                "ambiguous": matches.ambiguous,
                "unmatched": matches.unmatched,
                "in_population": counts.leaked_in_population,
            },
            "population": counts.population,
            "accessors_tested": counts.accessors_tested,
            "ranking": ranking[:REPORTED_ACCESSORS],
            "top_by_kind": top_by_kind,
            "canaries": canaries,
            "virtual_numbers": [asdict(v) for v in matches.named_by_virtual_number],
            "elapsed_s": round(time.perf_counter() - started, 3),
        }
