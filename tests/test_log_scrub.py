"""The log scrubber: phones, ID numbers, e-mails and addresses hidden; waybill numbers and ids kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from privacy_waybill.logs import configure_logging
from privacy_waybill.masking.scrub import scrub_log_message

WAYBILL_NO = "PW804373870739469"  # a valid check digit
RECORD_ID = "3f2a1391234567800000000000000abc"


@pytest.mark.parametrize(
    ("message", "logged"),
    [
        (f"GET /api/v1/waybills/{WAYBILL_NO} HTTP/1.1 200", f"GET /api/v1/waybills/{WAYBILL_NO} HTTP/1.1 200"),
        (f"waybill {RECORD_ID} sealed", f"waybill {RECORD_ID} sealed"),
        (f"print job for {WAYBILL_NO},{WAYBILL_NO}", f"print job for {WAYBILL_NO},{WAYBILL_NO}"),
        # Not a waybill number (wrong length or check digit): the digits inside may be a phone.
        ("GET /api/v1/waybills/PW13812345678000", "GET /api/v1/waybills/PW[电话]"),
        ("GET /api/v1/waybills/PW804373870739468", "GET /api/v1/waybills/PW[电话]"),
        ("GET /api/v1/tracking/13812345678 404", "GET /api/v1/tracking/[电话] 404"),
        ("GET /x?phone=%2B8613912345678 200", "GET /x?phone=[电话] 200"),
        ("GET /x?phone=139+1234+5678 200", "GET /x?phone=[电话] 200"),
        ("sms to +8613912345678", "sms to [电话]"),
        ("GET /x?phone=%252B86%2520139%25201234%25205678", "GET /x?phone=[电话]"),
        ("GET /x?q=%E6%AC%A7%E9%98%B3%20139%201234%205678", "GET /x?q=欧阳 [电话]"),
        ("token pwb_13812345678 refused", "token pwb_[电话] refused"),
        ("mail a.b@qq.com id 11010519491231002X", "mail [邮箱] id [证件号]"),
        ("rejected 浙江省杭州市余杭区五常街道文一西路969号", "rejected [地址]"),
        ("issue tenant=acme issued=12 rejected=0", "issue tenant=acme issued=12 rejected=0"),
        ("discount 50% off", "discount 50% off"),
    ],
)
def test_scrub_log_message(message: str, logged: str) -> None:
    assert scrub_log_message(message) == logged


def test_the_log_file_keeps_waybill_numbers_and_hides_phones(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        log_file = configure_logging(tmp_path / "logs")
        logging.getLogger("privacy_waybill.test").info("scan %s by %s", WAYBILL_NO, "13812345678")
        for handler in root.handlers:
            handler.flush()
        assert log_file.read_text("utf-8").rstrip().endswith(f"scan {WAYBILL_NO} by [电话]")
    finally:
        for handler in list(root.handlers):
            handler.close()
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
