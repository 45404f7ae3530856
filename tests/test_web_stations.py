"""Browser journeys of the station desk and the recipient portal: the real app under uvicorn,
Playwright in Debian's Chromium, at a phone's width and a desktop's. The page text is checked
against the input values: a clerk's page never shows a given name or more than the last 4
digits of a phone, the portal never the phone. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyotp
import pytest
import segno
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright

from api_support import open_ticket
from browser_support import CHROMIUM, CHROMIUM_ARGS, browser_skip_reason, decode_qr, served_runtime
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.recipients.model import Recipient
from privacy_waybill.runtime import Runtime
from station_support import (
    GIVEN_NAMES,
    PASSWORD,
    STATION,
    last_text_to,
    parcels_in_transit,
    phone,
    recipient_name,
    register_station,
)

SKIP_REASON = browser_skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def assert_clerk_page_safe(html: str) -> None:
    for given in GIVEN_NAMES:
        assert given not in html, f"the desk shows a given name {given!r}"
    assert "1381234" not in html, "the desk shows more than the last 4 digits of a phone"


class Site:
    def __init__(self, base_url: str, rt: Runtime) -> None:
        self.base_url, self.rt = base_url, rt

    def new_clerk(self) -> tuple[str, str]:
        """A clerk of the station: username and a current TOTP code (each clerk signs in once:
        a TOTP code cannot be used twice)."""
        username = f"clerk.{uuid.uuid4().hex[:8]}"
        created = self.rt.identity.add_user(username, PASSWORD, Role.STATION_CLERK, self.rt.clock(), station=STATION)
        return username, pyotp.parse_uri(created.totp_uri).now()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with served_runtime(tmp_path_factory.mktemp("station-ui-home")) as (base_url, rt):
        register_station(rt)
        yield Site(base_url, rt)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def new_page(browser: Browser, viewport: ViewportSize) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(8_000)
    return context.new_page()


def sign_in_clerk(page: Page, site: Site) -> None:
    page.goto(site.base_url + "/station")
    expect(page.locator("h1")).to_have_text("驿站工作台")
    username, code = site.new_clerk()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#totp", code)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#desk")).to_be_visible()


def check_in(page: Page, waybill_no: str) -> None:
    page.fill("#checkin-waybill", waybill_no)
    page.press("#checkin-waybill", "Enter")
    expect(page.locator(f"#checkin-result li[data-waybill='{waybill_no}']")).to_be_visible()


def assert_fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_clerk_checks_parcels_in_and_hands_them_over(browser: Browser, site: Site) -> None:
    rt = site.rt
    single, *pair = parcels_in_transit(rt, [50, 51, 51])
    page = new_page(browser, PHONE)
    sign_in_clerk(page, site)

    check_in(page, single.waybill_no)
    card = page.locator(f"#checkin-result li[data-waybill='{single.waybill_no}']")
    held = rt.station_store.held_waybill(single.waybill_id)
    assert held is not None and re.fullmatch(r"[AB]-[1-4]-[0-9]{4}", held.shelf_code)
    expect(card.locator(".shelf")).to_have_text(held.shelf_code)
    expect(card.locator(".code")).to_have_text(held.pickup_code)
    expect(card.locator(".name")).to_have_text(single.recipient.name)
    expect(card).to_contain_text(f"****{phone(50)[-4:]}")
    page.screenshot(path=str(SCREENSHOTS / "station-checkin.png"), full_page=True)
    assert_fits(page)
    with page.expect_download() as download:
        card.locator("button.sticker[data-format=pdf]").click()
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"

    for waybill in pair:
        check_in(page, waybill.waybill_no)
    expect(page.locator("#held li")).to_have_count(3)

    page.fill("#last4", phone(51)[-4:])
    page.click("#search-form button[type=submit]")
    expect(page.locator("#search-result li")).to_have_count(2)

    page.fill("#pickup-code", held.pickup_code)
    page.click("#code-form button[type=submit]")
    expect(page.locator(f"#pickup-result li[data-waybill='{single.waybill_no}']")).to_contain_text("已交付")

    # The recipient of the pair shows their identity code; the desk sees both parcels, not the phone.
    token, _ = rt.recipients.identity_code(Recipient(actor="recipient:ui", phone_index=b"", phone="+86" + phone(51)))
    page.fill("#identity-code", token)
    page.click("#identity-form button[type=submit]")
    expect(page.locator("#pickup-result li")).to_have_count(2)
    page.click("#hand-over-all")
    expect(page.locator("#pickup-result li .ok")).to_have_count(2)
    expect(page.locator("#held li")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "station-handover.png"), full_page=True)
    assert_clerk_page_safe(page.content())
    assert_fits(page)
    assert {rt.waybills.get_by_number(None, w.waybill_no).status.value for w in (single, *pair)} == {"delivered"}

    desktop = new_page(browser, DESKTOP)
    sign_in_clerk(desktop, site)
    [more] = parcels_in_transit(rt, [52])
    check_in(desktop, more.waybill_no)
    desktop.fill("#last4", phone(52)[-4:])
    desktop.click("#search-form button[type=submit]")
    expect(desktop.locator("#search-result li")).to_have_count(1)
    desktop.screenshot(path=str(SCREENSHOTS / "station-desk-desktop.png"), full_page=True)
    assert_clerk_page_safe(desktop.content())

    desktop.click("#lang")
    expect(desktop.locator("h1")).to_have_text("Station desk")


def test_a_clerk_dispatches_parcels_takes_one_back_orders_a_route_and_issues_a_crowd_pass(
    browser: Browser, site: Site
) -> None:
    rt = site.rt
    first, second = parcels_in_transit(rt, [70, 71])
    username = f"courier.{uuid.uuid4().hex[:6]}"
    courier = rt.identity.add_user(username, PASSWORD, Role.COURIER, rt.clock(), station=STATION)
    page = new_page(browser, PHONE)
    sign_in_clerk(page, site)

    expect(page.locator(f"#dispatch-courier option[value='user:{courier.user.id}']")).to_have_text(username)
    page.select_option("#dispatch-courier", f"user:{courier.user.id}")
    for waybill in (first, second, first):  # a parcel scanned twice is listed once
        page.fill("#dispatch-waybill", waybill.waybill_no)
        page.press("#dispatch-waybill", "Enter")
    expect(page.locator("#dispatch-list li")).to_have_count(2)
    page.click("#dispatch-button")
    expect(page.locator("#dispatch-result li")).to_have_count(2)
    expect(page.locator(f"#dispatch-result li[data-waybill='{first.waybill_no}']")).to_contain_text("已派件")
    # Out for delivery only once the courier scans it out; the card says which route it joined.
    expect(page.locator(f"#dispatch-result li[data-waybill='{first.waybill_no}']")).to_contain_text("运输中")
    route = first.sort_code.split("-")[2]
    expect(page.locator(f"#dispatch-result li[data-waybill='{first.waybill_no}']")).to_contain_text(f"路线 {route}")
    expect(page.locator("#dispatch-list li")).to_have_count(0)
    for waybill in (first, second):
        stored = rt.waybills.get_by_number(None, waybill.waybill_no)
        assert stored is not None and stored.assigned_courier == f"user:{courier.user.id}"

    page.fill("#withdraw-waybill", second.waybill_no)
    page.press("#withdraw-waybill", "Enter")
    expect(page.locator(f"#withdraw-result li[data-waybill='{second.waybill_no}']")).to_contain_text("已撤回")
    taken_back = rt.waybills.get_by_number(None, second.waybill_no)
    assert taken_back is not None and taken_back.assigned_courier is None

    # An unknown parcel is refused with the reason, and nothing is dispatched.
    page.fill("#dispatch-waybill", "PW000000000000000")
    page.press("#dispatch-waybill", "Enter")
    page.click("#dispatch-button")
    expect(page.locator("#dispatch-result .error")).to_contain_text("waybills[0]: 没有这个运单")

    # The route's walking order: written once, read back, and what the manifests follow.
    page.fill("#route-id", route)
    page.press("#route-id", "Enter")
    expect(page.locator("#route-result")).to_contain_text("还没有保存顺序")
    page.fill("#route-sequence", "海创园\n西溪园区\n\n 未来科技城 ")
    page.select_option("#route-start", "西溪园区")
    page.click("#route-form button[type=submit]")
    expect(page.locator("#route-result .ok")).to_be_visible()
    clerk = Subject(actor="user:ui-clerk", role=Role.STATION_CLERK, station=STATION)
    saved = rt.delivery.route(clerk, route, rt.access.context())
    assert saved is not None and (saved.sequence, saved.start) == (("海创园", "西溪园区", "未来科技城"), "西溪园区")
    page.fill("#route-sequence", "")
    page.press("#route-id", "Enter")
    expect(page.locator("#route-sequence")).to_have_value("海创园\n西溪园区\n未来科技城")
    expect(page.locator("#route-start")).to_have_value("西溪园区")

    page.fill("#pass-phone", "13912340099")
    page.fill("#pass-route", route)
    page.click("#pass-form button[type=submit]")
    expect(page.locator("#pass-result svg")).to_be_visible()
    link = page.locator("#pass-result a")
    expect(link).to_contain_text("/courier/?pass=")
    pass_id = (link.text_content() or "").split("pass=")[1]
    # The pass is offered for dispatch at once; its sign-in link is what the QR holds.
    expect(page.locator(f"#dispatch-courier option[value='pass:{pass_id}']")).to_contain_text(route)
    qr_png = page.locator("#pass-result svg").screenshot()
    assert decode_qr(qr_png) == link.text_content()
    html = page.content()
    assert "13912340099" not in html
    assert_clerk_page_safe(html)
    page.screenshot(path=str(SCREENSHOTS / "station-dispatch.png"), full_page=True)
    assert_fits(page)


def test_a_recipient_follows_the_label_qr_signs_in_and_uses_the_portal(browser: Browser, site: Site) -> None:
    rt = site.rt
    [parcel] = parcels_in_transit(rt, [60])
    clerk = Subject(actor="user:ui-clerk", role=Role.STATION_CLERK, station=STATION)
    held = rt.stations.check_in(clerk, parcel.waybill_no)
    support = Subject(actor="user:ui-support", role=Role.CUSTOMER_SERVICE)
    ticket = open_ticket(rt, "T-20261201-0001", parcel)
    rt.access.view(support, "waybill.break_glass", parcel, rt.access.context("support_ticket", ticket, "address check"))

    page = new_page(browser, PHONE)
    page.goto(site.base_url + rt.tracking_url(parcel).removeprefix(site.base_url))
    expect(page.locator("#tracking .status")).to_have_text("待取件（驿站）")
    page.click("#portal-link")
    expect(page.locator("#track-waybill")).to_have_value(parcel.waybill_no)
    page.fill("#track-last4", phone(60)[-4:])
    page.click("#track-form button[type=submit]")
    expect(page.locator("#track-result")).to_contain_text("文一西路驿站")
    expect(page.locator("#track-result")).to_contain_text(parcel.recipient.name)
    page.screenshot(path=str(SCREENSHOTS / "recipient-tracking.png"), full_page=True)

    page.fill("#phone", phone(60))
    page.click("#otp-form button[type=submit]")
    expect(page.locator("#signin-status")).to_have_text("如果该号码有包裹，验证码已发送。")
    page.fill("#code", last_text_to(rt, "+86" + phone(60), "recipient.otp")["code"])
    page.click("#verify-form button[type=submit]")
    expect(page.locator("#portal")).to_be_visible()

    card = page.locator(f"#parcels li[data-waybill='{parcel.waybill_no}']")
    expect(card.locator(".shelf")).to_have_text(held.shelf_code)
    expect(card.locator(".code")).to_have_text(held.pickup_code)
    card.locator("button").click()
    expect(page.locator("#timeline li")).to_have_count(5)
    expect(page.locator("#timeline li").last).to_contain_text(STATION)
    expect(page.locator("#who-saw li .role")).to_have_text(["客服"])
    expect(page.locator("#who-saw li").first).to_contain_text("support_ticket")

    # Masked labels and virtual numbers are stated, not offered as switches.
    expect(page.locator("#always-on li")).to_have_text(["面单上的姓名、电话、地址始终打码", "快递员始终通过虚拟号联系我"])
    expect(page.locator("#prefs-form input[type=checkbox]")).to_have_count(2)
    expect(page.locator("#pref-locker_allowed")).to_be_checked()
    page.uncheck("#pref-locker_allowed")
    page.click("#prefs-form button[type=submit]")
    expect(page.locator("#prefs-status")).to_have_text("已保存。")
    index = rt.blind_index.index(parcel.tenant_id, "phone", "+86" + phone(60))
    prefs = rt.recipient_store.preference(parcel.tenant_id, index)
    assert prefs is not None and (prefs.locker_allowed, prefs.station_allowed) == (False, True)

    page.click("#identity-button")
    expect(page.locator("#identity svg")).to_be_visible()
    expect(page.locator("#identity .identity-token")).to_contain_text("pwid1.")

    page.check(f"#leak-waybills input[value='{parcel.waybill_no}']")
    page.fill("#leak-text", f"有人叫出我的全名{recipient_name(60)}")
    page.click("#leak-form button[type=submit]")
    expect(page.locator("#leak-result")).to_contain_text("已收到举报: lr_")
    expect(page.locator("#leak-text")).to_have_value("")
    html = page.content()
    assert recipient_name(60) not in html and phone(60) not in html
    page.screenshot(path=str(SCREENSHOTS / "recipient-portal.png"), full_page=True)
    assert_fits(page)

    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "recipient-portal-desktop.png"), full_page=True)


def qr_video(payload: str, path: Path) -> Path:
    """A QR code of `payload` held up to a 640x480 camera, as a few frames of Y4M video."""
    png = io.BytesIO()
    segno.make(payload, error="M").save(png, kind="png", scale=6, border=4)
    symbol = Image.open(io.BytesIO(png.getvalue())).convert("L")
    frame = Image.new("L", (640, 480), 255)
    frame.paste(symbol, ((640 - symbol.width) // 2, (480 - symbol.height) // 2))
    luma = np.asarray(frame, dtype=np.uint8)
    chroma = np.full((240, 320), 128, dtype=np.uint8)
    with path.open("wb") as video:
        video.write(b"YUV4MPEG2 W640 H480 F5:1 Ip A1:1 C420jpeg\n")
        for _ in range(5):
            video.write(b"FRAME\n" + luma.tobytes() + chroma.tobytes() + chroma.tobytes())
    return path


def test_the_desk_scans_an_identity_code_with_the_phone_camera(playwright: Playwright, site: Site, tmp_path: Path) -> None:
    rt = site.rt
    [parcel] = parcels_in_transit(rt, [70])
    rt.stations.check_in(Subject(actor="user:ui-clerk", role=Role.STATION_CLERK, station=STATION), parcel.waybill_no)
    token, _ = rt.recipients.identity_code(Recipient(actor="recipient:ui", phone_index=b"", phone="+86" + phone(70)))
    camera = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={qr_video(token, tmp_path / 'identity.y4m')}",
    ]
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + camera)
    try:
        context = chromium.new_context(viewport=PHONE, locale="zh-CN")
        context.grant_permissions(["camera"], origin=site.base_url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        sign_in_clerk(page, site)
        page.click("#camera-identity")
        expect(page.locator(f"#pickup-result li[data-waybill='{parcel.waybill_no}']")).to_be_visible()
        expect(page.locator("#camera")).to_be_hidden()
        assert_clerk_page_safe(page.content())
    finally:
        chromium.close()
