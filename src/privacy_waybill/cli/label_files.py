"""Writes label files `<waybill_no>.<ext>` in parallel worker processes.

Rendering is CPU-bound (fonts, barcodes, rasterising), so batch issuance spreads it over
the cores while the main process keeps validating and sealing the next chunk.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from privacy_waybill.labels.model import LabelContent, LabelFormat, LabelSize
from privacy_waybill.labels.render import write_labels


def _render_chunk(contents: list[LabelContent], folder: str, fmt: str, size: str, dpi: int) -> int:
    return sum(1 for _ in write_labels(contents, Path(folder), LabelFormat(fmt), LabelSize(size), dpi))


class LabelFileWriter:
    def __init__(self, folder: Path, fmt: LabelFormat, size: LabelSize, dpi: int, workers: int | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._args = (str(folder), fmt.value, size.value, dpi)
        self._pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        self._pending: list[Future[int]] = []
        self.written = 0

    def submit(self, contents: list[LabelContent]) -> None:
        if contents:
            self._pending.append(self._pool.submit(_render_chunk, contents, *self._args))

    def finish(self) -> int:
        try:
            for future in self._pending:
                self.written += future.result()
        finally:
            self._pool.shutdown(cancel_futures=True)
        return self.written

    def __enter__(self) -> LabelFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(cancel_futures=True)
