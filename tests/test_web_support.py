"""Browser journey of the customer service desk (/support): the real app under uvicorn,
Playwright in Debian's Chromium. A waybill is looked up masked; break-glass needs a ticket that
names it and a reason, shows the full record for a minute, then removes it from the page; the
recipient's portal lists the access. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from api_support import open_ticket
from browser_support import CHROMIUM, CHROMIUM_ARGS, browser_skip_reason, free_port, serve
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.recipients.model import Recipient
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from station_support import PASSWORD, parcels_in_transit, phone, recipient_name

SKIP_REASON = browser_skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TICKET = "T-20261202-0007"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(tmp_path_factory.mktemp("support-ui-home")))
        env.setenv("PWB_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        env.delenv("PWB_MASTER_SECRET", raising=False)
        env.delenv("PWB_DATABASE_URL", raising=False)
        settings = Settings()
        initialise(settings)
        rt = open_runtime(settings)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serve(create_app(rt), port) as base_url:
        yield base_url, rt
    rt.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as running:
        chromium = running.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser: Browser, base_url: str, rt: Runtime, viewport: ViewportSize) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.set_default_timeout(8_000)
    page = context.new_page()
    page.clock.install()
    page.goto(base_url + "/support")
    expect(page.locator("h1")).to_have_text("客服工作台")
    username = f"support.{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, Role.CUSTOMER_SERVICE, rt.clock())
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#totp", pyotp.parse_uri(created.totp_uri).now())  # type: ignore[union-attr]
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#desk")).to_be_visible()
    return page


def test_customer_service_sees_masked_data_and_opens_the_full_record_only_with_a_ticket(
    browser: Browser, site: tuple[str, Runtime]
) -> None:
    base_url, rt = site
    parcel, other = parcels_in_transit(rt, [80, 81])
    open_ticket(rt, TICKET, parcel)
    full_name, number = recipient_name(80), phone(80)
    page = signed_in(browser, base_url, rt, DESKTOP)

    page.fill("#lookup-waybill", parcel.waybill_no)
    page.press("#lookup-waybill", "Enter")
    expect(page.locator("#lookup-result")).to_contain_text(parcel.waybill_no)
    expect(page.locator("#lookup-result")).to_contain_text(f"*******{number[-4:]}")
    assert full_name not in page.content() and number not in page.content()

    # A ticket that does not name this waybill opens nothing.
    page.fill("#lookup-waybill", other.waybill_no)
    page.press("#lookup-waybill", "Enter")
    page.fill("#ticket", TICKET)
    page.fill("#reason", "收件人来电要求改约时间")
    page.click("#break-glass-form button[type=submit]")
    expect(page.locator("#disclosed .error")).to_be_visible()
    assert recipient_name(81) not in page.content()

    page.fill("#lookup-waybill", parcel.waybill_no)
    page.press("#lookup-waybill", "Enter")
    page.fill("#ticket", TICKET)
    page.fill("#reason", "收件人来电要求改约时间")
    page.click("#break-glass-form button[type=submit]")
    expect(page.locator("#disclosed")).to_contain_text(full_name)
    expect(page.locator("#disclosed")).to_contain_text(number)
    expect(page.locator("#disclosed-countdown")).to_contain_text("60")
    page.screenshot(path=str(SCREENSHOTS / "support-break-glass.png"), full_page=True)

    # A minute later the record is gone from the page, not only hidden.
    page.clock.run_for(61_000)
    expect(page.locator("#disclosed")).to_have_text("已重新隐藏。")
    assert full_name not in page.content() and number not in page.content()

    [entry] = rt.recipients.who_saw(Recipient(actor="recipient:ui", phone_index=b"", phone="+86" + number))
    assert (entry.waybill_no, entry.role, entry.action) == (parcel.waybill_no, "customer_service", "waybill.break_glass")

    phone_page = signed_in(browser, base_url, rt, PHONE)
    phone_page.fill("#lookup-waybill", parcel.waybill_no)
    phone_page.press("#lookup-waybill", "Enter")
    expect(phone_page.locator("#break-glass")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    phone_page.screenshot(path=str(SCREENSHOTS / "support-lookup.png"), full_page=True)
    phone_page.click("#lang")
    expect(phone_page.locator("h1")).to_have_text("Customer service desk")
