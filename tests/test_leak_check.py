"""The leak search itself: it finds a value wherever it is written, but not inside random identifiers."""

from __future__ import annotations

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
