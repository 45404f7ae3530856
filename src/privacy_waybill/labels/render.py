"""Render masked label content to PDF, PNG or ZPL, one label or a stream of them.

All formats come from one composition of the label, so they show the same things in the same
places. The font is loaded once per process, which is what makes batches cheap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from privacy_waybill.labels.compose import compose
from privacy_waybill.labels.model import LabelContent, LabelFormat, LabelSize
from privacy_waybill.labels.pdf import render_pdf
from privacy_waybill.labels.png import render_png
from privacy_waybill.labels.zpl import render_zpl

DEFAULT_SIZE = LabelSize.STANDARD_100X180
DEFAULT_DPI = 203


def render_label(
    content: LabelContent,
    fmt: LabelFormat,
    size: LabelSize = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> bytes:
    """One label as file bytes. `dpi` (203 or 300) is the target printer's resolution."""
    scene = compose(content, size, dpi)
    match fmt:
        case LabelFormat.PDF:
            return render_pdf(scene)
        case LabelFormat.PNG:
            return render_png(render_pdf(scene), dpi)
        case LabelFormat.ZPL:
            return render_zpl(scene)


def render_labels(
    contents: Iterable[LabelContent],
    fmt: LabelFormat,
    size: LabelSize = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Iterator[bytes]:
    """Each label's bytes in input order, rendered as the iterator is consumed."""
    for content in contents:
        yield render_label(content, fmt, size, dpi)


def write_labels(
    contents: Iterable[LabelContent],
    folder: Path,
    fmt: LabelFormat,
    size: LabelSize = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Iterator[Path]:
    """Write each label to ``folder/<waybill_no>.<ext>`` and yield the path once written.

    Composition rejects waybill numbers that are not plain letters, digits and hyphens, so a
    number can never point a file outside `folder`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for content in contents:
        data = render_label(content, fmt, size, dpi)
        path = folder / f"{content.waybill_no}.{fmt.value}"
        _write_whole(path, data)
        yield path


def _write_whole(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename: a full disk leaves no half label behind."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
