"""Browser journeys of the customer service desk (/support), the hub's sorting scan (/hub) and
the administrators' accounts page (/operator/users):
the real app under uvicorn, Playwright in Debian's Chromium. Customer service looks a waybill
up masked; break-glass needs a ticket that names it and a reason, shows the full record for a
minute, then removes it from the page; the recipient's portal lists the access. A sorter's one
scan per parcel records it as sorted and shows its sort code, never more than the masked label.
Screenshots go to docs/screenshots/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from api_support import open_ticket
from browser_support import CHROMIUM, CHROMIUM_ARGS, browser_skip_reason, decode_qr, served_runtime
from privacy_waybill.access.model import Role
from privacy_waybill.recipients.model import Recipient
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.waybills import WAYBILLS
from station_support import PASSWORD, parcels_in_transit, phone, recipient_name

SKIP_REASON = browser_skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TICKET = "T-20261202-0007"
PAGES = {Role.CUSTOMER_SERVICE: "/support", Role.SORTING_OPERATOR: "/hub", Role.PLATFORM_ADMIN: "/operator/users"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with served_runtime(tmp_path_factory.mktemp("desks-ui-home")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as running:
        chromium = running.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(
    browser: Browser, base_url: str, rt: Runtime, viewport: ViewportSize, role: Role = Role.CUSTOMER_SERVICE, **scope: str
) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.set_default_timeout(8_000)
    page = context.new_page()
    page.clock.install()
    page.goto(base_url + PAGES[role])
    username = f"{role.value.replace('_', '-')}.{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
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
    expect(page.locator("h1")).to_have_text("客服工作台")

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


def test_one_sorting_scan_records_the_parcel_as_sorted_and_shows_its_sort_code(
    browser: Browser, site: tuple[str, Runtime]
) -> None:
    base_url, rt = site
    printed, other_hub = parcels_in_transit(rt, [82, 83])
    with rt.engine.begin() as conn:  # one arrives straight from printing, one belongs to another hub
        conn.execute(WAYBILLS.update().where(WAYBILLS.c.id == printed.waybill_id).values(status="printed"))
        conn.execute(WAYBILLS.update().where(WAYBILLS.c.id == other_hub.waybill_id).values(sort_code="010-BJ05-02"))
    hub, station, route = printed.sort_code.split("-")
    page = signed_in(browser, base_url, rt, PHONE, Role.SORTING_OPERATOR, hub=hub)
    expect(page.locator("h1")).to_have_text("分拣扫描")

    page.fill("#sort-waybill", printed.waybill_no)
    page.press("#sort-waybill", "Enter")
    card = page.locator(f"#sort-result li[data-waybill='{printed.waybill_no}']")
    expect(card.locator(".sort-code strong")).to_have_text(station)
    expect(card.locator(".sort-code")).to_contain_text(route)
    expect(card).to_contain_text("已分拣：运输中")
    expect(page.locator("#sorted-count")).to_have_text("(1)")
    stored = rt.waybills.get_by_number(None, printed.waybill_no)
    assert stored is not None and stored.status.value == "in_transit"
    assert [e["status"] for e in rt.waybills.events(stored.waybill_id)][-2:] == ["collected", "in_transit"]
    html = page.content()
    assert recipient_name(82) not in html and phone(82) not in html
    page.screenshot(path=str(SCREENSHOTS / "hub-sorting.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    # Scanned again: shown, not moved, not counted twice.
    page.fill("#sort-waybill", printed.waybill_no)
    page.press("#sort-waybill", "Enter")
    expect(card).to_contain_text("已分拣过")
    expect(page.locator("#sorted-count")).to_have_text("(1)")
    # Another hub's parcel is not this sorter's: refused like a missing one, nothing shown.
    page.fill("#sort-waybill", other_hub.waybill_no)
    page.press("#sort-waybill", "Enter")
    expect(page.locator("#sort-result .error")).to_be_visible()
    assert recipient_name(83)[:1] + "*" not in page.locator("#sort-result").inner_text()


def test_an_admin_creates_an_account_shows_its_totp_once_binds_a_courier_and_locks_it(
    browser: Browser, site: tuple[str, Runtime]
) -> None:
    base_url, rt = site
    page = signed_in(browser, base_url, rt, PHONE, Role.PLATFORM_ADMIN)
    expect(page.locator("h1")).to_have_text("账号管理")
    expect(page.locator("#accounts li").first).to_be_visible()

    page.fill("#new-username", "liu.courier")
    page.fill("#new-password", "a long enough passphrase")
    page.select_option("#new-role", "courier")
    page.fill("#new-scope", "HZ10")
    page.click("#add-form button[type=submit]")
    expect(page.locator("#add-result .ok")).to_contain_text("liu.courier")
    uri = page.locator("#add-result .totp-uri").text_content() or ""
    assert uri.startswith("otpauth://totp/")
    qr = page.locator("#add-result svg").screenshot()
    assert decode_qr(qr) == uri
    page.screenshot(path=str(SCREENSHOTS / "operator-users.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    page.select_option("#bind-username", "liu.courier")
    page.fill("#bind-device", "web-1234567890")
    page.click("#bind-form button[type=submit]")
    expect(page.locator("#bind-result .ok")).to_contain_text("liu.courier")
    card = page.locator("#accounts li[data-username='liu.courier']")
    expect(card).to_contain_text("已绑定手机")
    card.locator("button").click()
    expect(card).to_contain_text("已锁定")
    user = rt.identity.store.user_by_username("liu.courier")
    assert user is not None and (user.status.value, user.device_id, user.station) == ("locked", "web-1234567890", "HZ10")

    # A merchant account for a tenant that does not exist is refused by field; nothing is made.
    page.fill("#new-username", "zhou.shop")
    page.fill("#new-password", "a long enough passphrase")
    page.select_option("#new-role", "merchant")
    page.fill("#new-scope", "no-such-shop")
    page.click("#add-form button[type=submit]")
    expect(page.locator("#add-result .error")).to_contain_text("tenant_id")
    assert rt.identity.store.user_by_username("zhou.shop") is None
