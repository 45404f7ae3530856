"""The courier's page in Debian's Chromium: a courier's day (sign-in, manifest, scanning a
rendered label through the fake camera, reveal, call, sign-off) and a crowd courier signing in
with the OTP an operator reads from the outbox page. Screenshots at phone width go to
docs/screenshots/."""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyotp
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from browser_support import CHROMIUM, CHROMIUM_ARGS, browser_skip_reason, served_runtime
from delivery_support import PASSWORD, STATION, X_NUMBERS, Parcel, issue_route
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.delivery.service import work_day
from privacy_waybill.labels import render_label
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.runtime import Runtime

SKIP_REASON = browser_skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

PHONE: ViewportSize = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
VENDOR = ROOT / "src" / "privacy_waybill" / "web" / "static" / "vendor" / "zxing-wasm"
DEVICE = "device-courier-web"
COURIER_PHONE = "13700000001"
CROWD_PHONE = "13788886666"


class Site:
    def __init__(self, base_url: str, rt: Runtime, parcels: list[Parcel], users: dict[str, str]) -> None:
        self.base_url, self.rt, self.parcels, self.users = base_url, rt, parcels, users

    def totp(self, username: str) -> str:
        return pyotp.TOTP(self.users[username]).now()


def label_video(parcel: Parcel, rt: Runtime, path: Path) -> Path:
    """The parcel's rendered label held up to a 640x480 camera (the QR corner), as Y4M video."""
    png = render_label(rt.label_content(parcel.waybill), LabelFormat.PNG, LabelSize.STANDARD_100X180, 203)
    path.with_suffix(".png").write_bytes(png)
    label = Image.open(path.with_suffix(".png")).convert("L")
    frame = label.crop((438, 880, 838, 1180)).resize((640, 480), Image.Resampling.BILINEAR)
    luma = np.asarray(frame, dtype=np.uint8)
    chroma = np.full((240, 320), 128, dtype=np.uint8)
    with path.open("wb") as video:
        video.write(b"YUV4MPEG2 W640 H480 F5:1 Ip A1:1 C420jpeg\n")
        for _ in range(5):
            video.write(b"FRAME\n" + luma.tobytes() + chroma.tobytes() + chroma.tobytes())
    return path


def secret_of(uri: str | None) -> str:
    assert uri is not None
    return pyotp.parse_uri(uri).secret


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with served_runtime(tmp_path_factory.mktemp("courier-home")) as (base_url, rt):
        yield courier_site(base_url, rt)


def courier_site(base_url: str, rt: Runtime) -> Site:
    """Parcels on a route, a courier, a clerk, an admin and a crowd pass, as the journeys need."""
    now = rt.clock()
    rt.telephony.add_numbers(X_NUMBERS[:10], capacity=200, pool="demo", now=now)
    parcels = issue_route(rt, buildings_per_compound=2, parcels_per_building=2)
    courier = rt.identity.add_user("li.courier", PASSWORD, Role.COURIER, now, station=STATION)
    rt.identity.bind_device("li.courier", DEVICE, now)
    clerk = rt.identity.add_user("wang.clerk", PASSWORD, Role.STATION_CLERK, now, station=STATION)
    admin = rt.identity.add_user("ops.admin", PASSWORD, Role.PLATFORM_ADMIN, now)
    clerk_subject = Subject(actor=f"user:{clerk.user.id}", role=Role.STATION_CLERK, station=STATION)
    # Two buildings of four parcels for the courier, the other four buildings for a crowd pass.
    rt.delivery.assign(clerk_subject, [p.no for p in parcels[:4]], f"user:{courier.user.id}", rt.access.context())
    crowd_pass = rt.identity.create_pass(CROWD_PHONE, "13", work_day(now), clerk_subject.actor, now)
    rt.delivery.assign(clerk_subject, [p.no for p in parcels[4:]], f"pass:{crowd_pass.id}", rt.access.context())
    users = {
        name: secret_of(u.totp_uri)
        for name, u in (("li.courier", courier), ("wang.clerk", clerk), ("ops.admin", admin))
    }
    return Site(base_url, rt, parcels, users)


@pytest.fixture(scope="module")
def browser(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    # The courier's first parcel of the day, rendered and shown to Chromium's fake camera.
    video = label_video(site.parcels[0], site.rt, tmp_path_factory.mktemp("camera") / "label.y4m")
    camera = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + camera)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.grant_permissions(["camera"], origin=site.base_url)
    context.add_init_script(f"localStorage.setItem('pwb-device', '{DEVICE}')")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def fits_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_the_vendored_decoder_is_the_locked_package() -> None:
    package = ROOT / "node_modules" / "zxing-wasm"
    if not package.exists():
        pytest.skip("node_modules is not installed (make install)")
    assert filecmp.cmp(VENDOR / "zxing_reader.iife.js", package / "dist/iife/reader/index.js", shallow=False)
    assert filecmp.cmp(VENDOR / "zxing_reader.wasm", package / "dist/reader/zxing_reader.wasm", shallow=False)


def test_a_couriers_day_in_the_page(page: Page, site: Site) -> None:
    page.goto(site.base_url + "/courier/")
    expect(page.locator("h1")).to_have_text("快递员 · 今日派送")
    expect(page.locator("#device-id")).to_have_text(DEVICE)
    page.screenshot(path=str(SCREENSHOTS / "courier-signin.png"), full_page=True)
    page.fill("#username", "li.courier")
    page.fill("#password", PASSWORD)
    page.fill("#totp", site.totp("li.courier"))
    page.click("#staff-form button[type=submit]")

    stops = page.locator("#manifest > li")
    expect(stops).to_have_count(2)
    expect(page.locator("#manifest-count")).to_have_text("2 站 · 4 件")
    expect(stops.first).to_contain_text("文一西路****")
    page.screenshot(path=str(SCREENSHOTS / "courier-manifest.png"), full_page=True)
    fits_phone(page)

    # Scan the first parcel's label with the camera: its QR opens the parcel.
    first, typed = site.parcels[0], site.parcels[1]
    page.click("#start-camera")
    expect(page.locator("#card-waybill")).to_have_text(first.no, timeout=20_000)
    expect(page.locator("#message")).to_have_text("已出仓派送")
    expect(page.locator("#card-address")).to_have_text("浙江省杭州市余杭区五常街道文一西路****")
    page.screenshot(path=str(SCREENSHOTS / "courier-scan-card.png"), full_page=True)

    page.click("#reveal")
    expect(page.locator("#full-address")).to_contain_text(f"{first.compound}{first.building}")
    expect(page.locator("#full-remark")).to_have_text(first.remark)
    page.click("#call")
    page.fill("#own-phone", COURIER_PHONE)
    page.click("#call-panel button[type=submit]")
    expect(page.locator("#x-number")).to_have_text(X_NUMBERS[0])
    assert first.phone not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "courier-reveal-call.png"), full_page=True)

    page.click("#signoff")
    page.set_input_files("#photo", {"name": "door.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n door"})
    page.click("#signoff-photo")
    expect(page.locator("#message")).to_have_text(f"已签收 {first.no}")

    # The next parcel by typing its number; sign off with the code texted to the recipient.
    page.fill("#typed", typed.no)
    page.click("#typed-form button[type=submit]")
    expect(page.locator("#card-waybill")).to_have_text(typed.no)
    page.click("#signoff")
    page.click("#send-code")
    expect(page.locator("#message")).to_have_text("签收码已发送给收件人。")
    [texted] = site.rt.notifications.recent(template="delivery.signoff_code", to="+86" + typed.phone)
    assert texted.body is not None
    page.fill("#signoff-code", texted.body.data["code"])
    page.click("#code-form button[type=submit]")
    expect(page.locator("#message")).to_have_text(f"已签收 {typed.no}")
    expect(page.locator("#manifest > li.done")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "courier-signed-off.png"), full_page=True)

    page.click("#lang")
    expect(page.locator("h1")).to_have_text("Courier · Today's deliveries")


def test_a_crowd_courier_signs_in_with_the_otp_from_the_outbox(page: Page, browser: Browser, site: Site) -> None:
    page.goto(site.base_url + "/courier/?pass=1")
    expect(page.locator("#pass-form")).to_be_visible()
    page.fill("#pass-phone", CROWD_PHONE)
    page.click("#request-otp")
    expect(page.locator("#message")).to_have_text("如该号码持有今日通行证，验证码已发送。")
    page.screenshot(path=str(SCREENSHOTS / "courier-pass-signin.png"), full_page=True)

    # The operator reads the simulated text message in the outbox page.
    operator = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    operator.goto(site.base_url + "/operator/outbox")
    operator.fill("#username", "ops.admin")
    operator.fill("#password", PASSWORD)
    operator.fill("#totp", site.totp("ops.admin"))
    operator.click("#signin-form button[type=submit]")
    message = operator.locator("#messages li[data-template='crowd_courier.otp']").first
    expect(message).to_contain_text("****6666")
    operator.screenshot(path=str(SCREENSHOTS / "operator-outbox.png"), full_page=True)
    assert CROWD_PHONE not in operator.content()
    code = message.locator(".text").inner_text().split("验证码为")[1][:6]
    operator.context.close()

    page.fill("#pass-code", code)
    page.click("#pass-form button[type=submit]")
    expect(page.locator("#manifest > li")).to_have_count(4)
    crowd_parcels = {p.no for p in site.parcels[4:]}
    shown = set(page.locator("#manifest li[data-waybill]").evaluate_all("els => els.map(e => e.dataset.waybill)"))
    assert shown == crowd_parcels
    page.screenshot(path=str(SCREENSHOTS / "courier-pass-manifest.png"), full_page=True)
    fits_phone(page)
