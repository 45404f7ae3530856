"""`pwb stations`: registering a station and a locker bank, and refusing bad layouts in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import json_lines, run_pwb


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("stations-cli")
    assert run_pwb(home, "init").returncode == 0
    return home


def test_add_and_list_a_station_and_a_locker(home: Path) -> None:
    added = run_pwb(home, "stations", "add", "HZ10", "--name", "文一西路驿站", "--shelf", "A:4:80", "--shelf", "3:2:40")
    assert (added.returncode, added.stdout) == (0, "station HZ10 (station): 2 shelves, 120 places\n")
    locker = run_pwb(home, "stations", "add", "HZ11", "--name", "丰巢柜", "--kind", "locker", "--shelf", "C:6")
    assert (locker.returncode, locker.stdout) == (0, "station HZ11 (locker): 1 shelves, 6 places\n")
    listed = run_pwb(home, "stations", "list")
    assert json_lines(listed.stdout) == [
        {
            "id": "HZ10",
            "name": "文一西路驿站",
            "kind": "station",
            "shelves": [{"label": "A", "layers": 4, "capacity": 80}, {"label": "3", "layers": 2, "capacity": 40}],
        },
        {"id": "HZ11", "name": "丰巢柜", "kind": "locker", "shelves": [{"label": "C", "layers": 6, "capacity": 6}]},
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["X1", "--name", "n", "--shelf", "A-4"], "--shelf: must be LABEL:LAYERS[:CAPACITY]"),
        (["X2", "--name", "n", "--shelf", "A:4:8", "--shelf", "A:2:8"], "--shelves: shelf labels must be distinct"),
        (["X3", "--name", "n", "--kind", "locker", "--shelf", "A:4:8"], "--shelves: a locker column holds one parcel"),
        (["bad id!", "--name", "n", "--shelf", "A:4:8"], "--station: must be 1-64 letters"),
    ],
)
def test_a_bad_layout_is_one_line_and_exit_2(home: Path, args: list[str], message: str) -> None:
    result = run_pwb(home, "stations", "add", *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
