"""The leak search itself: it finds a value wherever it is written, but not inside random identifiers."""

from __future__ import annotations

from pathlib import Path

from leak_check import LeakFinder


def test_a_phone_written_anywhere_in_text_is_found() -> None:
    finder = LeakFinder({"13386141502", "赵琳"})
    assert finder.found_in('{"phone":"13386141502"}') == {"13386141502"}
    assert finder.found_in("tel:+8613386141502;") == {"13386141502"}
    assert finder.found_in("收件人赵琳") == {"赵琳"}


def test_a_phone_by_chance_inside_a_waybill_number_or_a_hex_hash_is_not_a_leak() -> None:
    finder = LeakFinder({"13386141502"})
    assert finder.found_in("waybill PW013386141502448 issued") == set()
    assert finder.found_in("blind=9f13386141502e0c4d7a") == set()
    assert finder.found_in("PW013386141502448 13386141502") == {"13386141502"}


def test_a_four_byte_value_by_chance_among_random_bytes_is_not_a_leak_but_a_longer_one_is(tmp_path: Path) -> None:
    finder = LeakFinder({"3幢", "西溪花园3幢", "13386141502"})
    database = tmp_path / "pwb.sqlite3"
    # As found inside a wrapped data key: random bytes that happen to spell 3幢 in UTF-8.
    database.write_bytes(b"\x01\xd1|\xec\xc7b\xf0" + "3幢".encode() + b"\xc3f5\x93\xb0\xdc\x16\x87")
    assert finder.found_in_files([database]) == {}
    database.write_bytes(b"\x01\xd1|\xec" + "西溪花园3幢".encode() + b"\x93\xb0" + b"13386141502")
    assert finder.found_in_files([database]) == {str(database): {"西溪花园3幢", "13386141502"}}
    log = tmp_path / "pwb.log"
    log.write_text("住3幢\n", encoding="utf-8")
    assert finder.found_in_files([log]) == {str(log): {"3幢"}}
