"""The `pwb` command: exit codes, JSON lines, one readable error line, labels on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import flat_csv_row, json_lines, run_pwb, write_csv, write_jsonl
from privacy_waybill.demo import demo_orders
from privacy_waybill.issuance.numbers import is_valid_waybill_no


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("cli") / "home"
    result = run_pwb(home, "init")
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def orders() -> list[dict[str, object]]:
    return list(demo_orders(12, seed=11, prefix="CLI"))


def test_init_is_idempotent_and_keeps_secrets_owner_only(home: Path) -> None:
    again = run_pwb(home, "init")
    assert again.returncode == 0 and "already initialised" in again.stderr
    assert (home / "master.key").stat().st_mode & 0o077 == 0
    assert (home / "keys" / "keystore.json").stat().st_mode & 0o077 == 0


def test_issue_prints_one_json_line_per_record_and_writes_labels(home: Path, orders, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "orders.jsonl", orders[:4])
    result = run_pwb(home, "issue", str(source), "--labels", str(tmp_path / "labels"), "--format", "zpl")
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert [line["order_id"] for line in lines] == [o["order_id"] for o in orders[:4]]
    for line in lines:
        assert is_valid_waybill_no(line["waybill_no"])
        assert set(line["masked"]) == {"recipient", "sender"}
        assert set(line["masked"]["recipient"]) == {"name", "phone", "address"}
        assert line["sort_code"].count("-") == 2
        assert (tmp_path / "labels" / f"{line['waybill_no']}.zpl").read_text().startswith("^XA")


def test_issue_exits_1_and_names_field_and_reason_for_rejected_records(home: Path, orders, tmp_path: Path) -> None:
    rows = [flat_csv_row(o) for o in orders[4:7]]
    rows[1]["recipient_phone"] = "1234"
    rows[2]["recipient_address"] = "不存在的地方幸福路1号"
    result = run_pwb(home, "issue", str(write_csv(tmp_path / "orders.csv", rows)))
    assert result.returncode == 1
    lines = json_lines(result.stdout)
    assert "waybill_no" in lines[0]
    assert lines[1] == {
        "order_id": rows[1]["order_id"],
        "line": 3,
        "error": {"field": "recipient.phone", "reason": lines[1]["error"]["reason"]},
    }
    assert lines[2]["error"]["field"] == "recipient.address"
    assert "1234" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("order_id,shoe_size\nA1,42\n", "bad.csv", "shoe_size"),
        ("hello", "orders.txt", ".csv"),
    ],
)
def test_unusable_input_exits_2_with_one_readable_line(
    home: Path, tmp_path: Path, content: str, name: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run_pwb(home, "issue", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("error:") and message in error_lines[0]
    assert "Traceback" not in result.stderr


def test_a_missing_file_is_one_line_not_a_traceback(home: Path, tmp_path: Path) -> None:
    result = run_pwb(home, "issue", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "error:" in result.stderr


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    result = run_pwb(tmp_path / "fresh", "issue", "x.csv")
    assert result.returncode == 2 and "pwb init" in result.stderr


def test_label_renders_an_issued_waybill_and_refuses_unknown_numbers(home: Path, orders, tmp_path: Path) -> None:
    issued = json_lines(run_pwb(home, "issue", str(write_jsonl(tmp_path / "o.jsonl", orders[7:8]))).stdout)[0]
    target = tmp_path / "one.pdf"
    result = run_pwb(home, "label", issued["waybill_no"], "--format", "pdf", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().startswith(b"%PDF")
    missing = run_pwb(home, "label", "PW000000000000000", "--format", "pdf", "-o", str(tmp_path / "x.pdf"))
    assert missing.returncode == 2 and "no such waybill" in missing.stderr


def test_keys_rotate_rewraps_and_labels_still_render(home: Path, orders, tmp_path: Path) -> None:
    run_pwb(home, "issue", str(write_jsonl(tmp_path / "o.jsonl", orders[8:10])))
    result = run_pwb(home, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    assert "re-wrapped" in result.stderr


def test_merchants_add_prints_a_key_once_and_issue_accepts_the_tenant(home: Path, orders, tmp_path: Path) -> None:
    added = run_pwb(home, "merchants", "add", "acme", "--name", "ACME")
    assert added.returncode == 0 and added.stdout.startswith("pwb_")
    result = run_pwb(home, "issue", str(write_jsonl(tmp_path / "o.jsonl", orders[10:12])), "--tenant", "acme")
    assert result.returncode == 0, result.stderr
    unknown = run_pwb(home, "issue", str(tmp_path / "o.jsonl"), "--tenant", "nobody")
    assert unknown.returncode == 2 and "unknown tenant" in unknown.stderr


def test_demo_is_idempotent(home: Path) -> None:
    first = run_pwb(home, "demo", "--orders", "20")
    second = run_pwb(home, "demo", "--orders", "20")
    assert first.returncode == second.returncode == 0
    assert "20 new waybills" in first.stderr and "0 new waybills, 20 already there" in second.stderr
    assert (home / "demo-api-key").stat().st_mode & 0o077 == 0


def test_purge_leaves_waybills_inside_the_retention_period(home: Path) -> None:
    result = run_pwb(home, "purge")
    assert result.returncode == 0 and "of 0 waybills" in result.stderr


def test_workers_started_before_the_database_give_what_one_process_gives(home: Path, tmp_path: Path) -> None:
    """With two workers `pwb issue` forks them from the core before the database is open; the
    lines (issued, replayed, rejected, in input order) are those one process writes."""
    many = list(demo_orders(23, seed=12, prefix="AHEAD"))
    many[9] = {**many[9], "items": []}
    path = write_jsonl(tmp_path / "ahead.jsonl", many)
    small_chunks = {"PWB_BATCH_CHUNK_SIZE": "5"}

    def lines(*args: str) -> list[dict[str, object]]:
        result = run_pwb(home, "issue", str(path), *args, env=small_chunks)
        assert result.returncode == 1, result.stderr
        return json_lines(result.stdout)

    ahead = lines("--workers", "2")
    assert [line["order_id"] for line in ahead] == [order["order_id"] for order in many]
    assert ahead[9]["error"]["field"] == "items" and all("waybill_no" in line for line in ahead[:9] + ahead[10:])
    assert lines("--workers", "1") == ahead  # the same waybills, now replayed
    assert lines("--workers", "2") == ahead


def test_an_unknown_tenant_gets_no_keys_from_a_batch_prepared_ahead(home: Path, orders, tmp_path: Path) -> None:
    result = run_pwb(
        home, "issue", str(write_jsonl(tmp_path / "o.jsonl", orders)), "--tenant", "ghost", env={"PWB_BATCH_CHUNK_SIZE": "3"}
    )
    assert result.returncode == 2 and "unknown tenant 'ghost'" in result.stderr
    store = json.loads((home / "keys" / "keystore.json").read_text(encoding="utf-8"))
    assert "ghost" not in store["tenants"]
