"""Names and places written in remarks are readable nowhere but in the vault.

Plants people's names and unnumbered places (which no detector could reliably find) in the
remarks of many orders, issues them through the real `pwb` command and through the API, and
searches every byte left behind: database files, logs, command output, labels (PDF text,
ZPL, the codes decoded from PNG) and API responses.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from api_support import API, add_merchant, bearer
from cli_support import json_lines, run_pwb, write_jsonl
from leak_check import LeakFinder
from privacy_waybill.api.app import create_app
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.masking.free_text import DELIVERY_INSTRUCTIONS, DISPLAY_SEPARATOR, load_vocabulary
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.models import Waybill

# Names and places chosen so that none is a division name or part of a masked label.
PLANTED_NAMES = ("欧阳娜娜", "司马光明", "诸葛晓月", "上官婉清", "慕容复兴", "皇甫嵩岳", "令狐冲霄", "东方既白")
PLANTED_PLACES = ("紫藤书屋", "银杏咖啡馆", "蓝鲸健身房", "老槐树下", "云栖茶舍", "星巴克对面", "北门保安亭")
TEMPLATES = (
    "{name}本人不在家，交给她丈夫{other}",
    "放门口，{place}旁边",
    "易碎，送到{place}交给{name}",
    "{name}收，放快递柜",
    "工作日派送 找{other}签收",
    "放驿站，到了打电话给{name}，{place}",
    "送货前电话联系{name}",
    "请交给{place}的{other}",
)
PLANTED = (*PLANTED_NAMES, *PLANTED_PLACES)
INSTRUCTIONS = load_vocabulary(DELIVERY_INSTRUCTIONS)
HIDDEN = "[已隐藏]"


def planted_remarks() -> Iterator[str]:
    """Every template with every name and place, in turn."""
    for n in itertools.count():
        template = TEMPLATES[n % len(TEMPLATES)]
        name = PLANTED_NAMES[(n + n // len(TEMPLATES)) % len(PLANTED_NAMES)]
        other = PLANTED_NAMES[(n + n // len(TEMPLATES) + 3) % len(PLANTED_NAMES)]
        yield template.format(name=name, other=other, place=PLANTED_PLACES[n % len(PLANTED_PLACES)])


def planted_orders(count: int, prefix: str) -> list[dict[str, object]]:
    remarks = planted_remarks()
    return [
        {
            "order_id": f"{prefix}-{n:04d}",
            "recipient": {"name": "张伟", "phone": f"138{n:08d}", "address": "浙江省杭州市余杭区五常街道文一西路969号"},
            "sender": {"name": "李娜", "phone": f"139{n:08d}", "address": "北京市海淀区中关村街道中关村大街27号"},
            "items": [{"name": "纯棉T恤", "quantity": 1}],
            "remark": next(remarks),
        }
        for n in range(1, count + 1)
    ]


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def decoded_codes(path: Path) -> str:
    return "\n".join(code.text for code in zxingcpp.read_barcodes(Image.open(path)))


def stored_files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def test_names_and_places_in_remarks_reach_no_file_output_or_label(tmp_path: Path) -> None:
    home = tmp_path / "home"
    orders = planted_orders(120, "REMARK")
    source = write_jsonl(tmp_path / "orders.jsonl", orders)
    finder = LeakFinder(PLANTED)
    assert finder.found_in(json.dumps(orders, ensure_ascii=False)) == set(PLANTED)  # the search itself works

    assert run_pwb(home, "init").returncode == 0
    runs = [
        run_pwb(home, "issue", str(source), "--labels", str(tmp_path / kind), "--format", kind, *extra)
        for kind, extra in (("pdf", ()), ("zpl", ("--size", "76x130")), ("png", ("--dpi", "300")))
    ]
    assert [run.returncode for run in runs] == [0, 0, 0], runs[0].stderr
    assert len(json_lines(runs[0].stdout)) == 120

    assert finder.found_in_files(stored_files(home)) == {}
    assert finder.found_in("".join(run.stdout + run.stderr for run in runs)) == set()
    assert finder.found_in_files((tmp_path / "zpl").glob("*.zpl")) == {}
    pdfs = sorted((tmp_path / "pdf").glob("*.pdf"))
    assert len(pdfs) == 120 and {p.name: hits for p in pdfs if (hits := finder.found_in(pdf_text(p)))} == {}
    pngs = sorted((tmp_path / "png").glob("*.png"))[:20]
    codes = {p.name: decoded_codes(p) for p in pngs}
    assert all(p.stem in codes[p.name] for p in pngs)  # the decode itself works
    assert {name: hits for name, text in codes.items() if (hits := finder.found_in(text))} == {}


@pytest.fixture
def api_rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("PWB_HOME", str(tmp_path / "api-home"))
    monkeypatch.delenv("PWB_MASTER_SECRET", raising=False)
    monkeypatch.delenv("PWB_DATABASE_URL", raising=False)
    runtime_settings = Settings()
    initialise(runtime_settings)
    runtime = open_runtime(runtime_settings)
    yield runtime
    runtime.close()


def test_names_and_places_in_remarks_reach_no_api_response_or_database_byte(api_rt: Runtime) -> None:
    headers = bearer(add_merchant(api_rt))
    orders = planted_orders(40, "API")
    finder = LeakFinder(PLANTED)
    bodies: list[str] = []
    with TestClient(create_app(api_rt)) as client:
        issued = client.post(f"{API}/orders/batch", json={"orders": orders}, headers=headers)
        assert issued.status_code == 200, issued.text
        bodies.append(issued.text)
        listing = client.get(f"{API}/waybills", headers=headers)
        bodies.append(listing.text)
        numbers = [w["waybill_no"] for w in listing.json()]
        assert len(numbers) == 40
        views = [client.get(f"{API}/waybills/{number}", headers=headers) for number in numbers]
        bodies += [view.text for view in views]
        for fmt in ("pdf", "zpl"):
            label = client.get(f"{API}/waybills/{numbers[0]}/label", params={"format": fmt}, headers=headers)
            assert label.status_code == 200
            bodies.append(label.content.decode("latin-1") if fmt == "pdf" else label.text)
    assert finder.found_in("\n".join(bodies)) == set()
    shown = {view.json()["remark"] for view in views}
    assert shown == {
        "[已隐藏]",
        "放门口，[已隐藏]",
        "易碎，[已隐藏]",
        "[已隐藏]，放快递柜",
        "工作日派送，[已隐藏]",
        "放驿站，[已隐藏]",
    }
    assert finder.found_in_files(stored_files(api_rt.settings.home)) == {}


settings.register_profile(
    "remark_storage",
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
VOCABULARY_PIECES = st.sampled_from(sorted(INSTRUCTIONS.phrases))
ANY_PIECES = st.one_of(VOCABULARY_PIECES, st.sampled_from([*PLANTED, "，", " ", "13900001111"]), st.text(max_size=5))
STORED_REMARKS = st.lists(ANY_PIECES, min_size=1, max_size=10).map("".join).filter(lambda r: 0 < len(r.strip()) <= 500)


@settings(settings.get_profile("remark_storage"))
@given(st.lists(STORED_REMARKS, min_size=1, max_size=8))
def test_no_text_outside_the_vocabulary_reaches_the_stored_display_field(api_rt: Runtime, remarks: list[str]) -> None:
    orders = planted_orders(len(remarks), f"P{abs(hash(tuple(remarks))) % 10**8}")
    for order, remark in zip(orders, remarks, strict=True):
        order["remark"] = remark
    outcomes = list(api_rt.issuance().issue("default", records_from_objects(orders), actor="test"))
    ids = [outcome.waybill.waybill_id for outcome in outcomes]  # type: ignore[union-attr]
    with api_rt.engine.connect() as conn:
        stored = conn.execute(select(Waybill.remark_scrubbed).where(Waybill.id.in_(ids))).scalars().all()
    allowed = INSTRUCTIONS.canonical | {HIDDEN}
    for text in stored:
        assert text is not None and set(text.split(DISPLAY_SEPARATOR) if text else []) <= allowed
