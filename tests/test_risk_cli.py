"""The security team's commands through the real `pwb` script: trace, accounts, canaries, retention, simulate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_support import personal_order
from cli_support import json_lines, run_pwb, write_jsonl


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("risk-cli") / "home"
    assert run_pwb(home, "init").returncode == 0
    return home


def test_trace_writes_json_and_html_and_prints_the_ranking(home: Path, tmp_path: Path) -> None:
    issued = run_pwb(
        home, "issue", str(write_jsonl(tmp_path / "o.jsonl", [personal_order(f"CLI-T{i}") for i in range(3)]))
    )
    numbers = [line["waybill_no"] for line in json_lines(issued.stdout)]
    leak = tmp_path / "leak.csv"
    leak.write_text("运单号\n" + "\n".join(numbers) + "\nPW000000000000000\n", encoding="utf-8")
    out = tmp_path / "reports"
    result = run_pwb(home, "trace", str(leak), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pwb trace: 4 rows, 3 matched, 0 ambiguous, 1 unmatched;")
    [report_file] = out.glob("*.json")
    report = json.loads(report_file.read_text("utf-8"))
    assert report["leak"]["matched"] == 3 and (out / f"{report['case_id']}.html").exists()
    assert "13812345678" not in result.stdout + report_file.read_text("utf-8")


def test_trace_of_a_missing_or_unusable_file_fails_with_one_line(home: Path, tmp_path: Path) -> None:
    missing = run_pwb(home, "trace", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("colour\nblue\n", encoding="utf-8")
    unusable = run_pwb(home, "trace", str(bad))
    assert unusable.returncode == 2 and "header: names none of the known columns" in unusable.stderr
    assert "Traceback" not in unusable.stderr


def test_freeze_list_and_unfreeze_an_account(home: Path) -> None:
    assert run_pwb(home, "accounts", "freeze", "user:u_cli01").returncode == 0
    listed = run_pwb(home, "accounts", "list")
    assert listed.stdout.split("\t")[:2] == ["user:u_cli01", "freeze"]
    assert run_pwb(home, "accounts", "unfreeze", "user:u_cli01").returncode == 0
    assert run_pwb(home, "accounts", "list").stdout == ""
    again = run_pwb(home, "accounts", "unfreeze", "user:u_cli01", "--step-up")
    assert again.returncode == 2 and "not under step-up" in again.stderr


def test_plant_a_canary_and_set_a_tenants_retention(home: Path) -> None:
    planted = run_pwb(home, "canaries", "plant", "--tenant", "default", "--at", "station", "--scope", "BJ05")
    assert planted.returncode == 0, planted.stderr
    [line] = json_lines(planted.stdout)
    assert line["planted_at"] == "station:BJ05" and line["sort_code"].split("-")[1] == "BJ05"
    assert "station:BJ05" in run_pwb(home, "canaries", "list").stdout
    unknown = run_pwb(home, "canaries", "plant", "--tenant", "default", "--at", "station", "--scope", "XX99")
    assert unknown.returncode == 2 and "no division in the routing table routes to station XX99" in unknown.stderr

    result = run_pwb(home, "retention", "set", "default", "14")
    assert result.returncode == 0 and "keeps personal data 14 days" in result.stderr
    assert "keeps personal data 30 days" in run_pwb(home, "retention", "set", "default").stderr


def test_simulate_reports_detection_and_false_alerts(home: Path) -> None:
    result = run_pwb(home, "risk", "simulate", "--couriers", "60", "--days", "25", "--parcels", "10")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("user:courier-007: first alert after 0:") and "frozen after 0:" in lines[0]
    assert lines[1].startswith("user:courier-042: first alert after 0:")
    assert "false alerts: 0 on 0 of 58 normal couriers, 0 on others" in lines[2]
