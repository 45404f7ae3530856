"""The security console in Chromium: an auditor signs in with password and TOTP, sees an alert
raised by this test (with its evidence), freezes the account from it, and runs and opens a leak
trace with its chart. Screenshots go to docs/screenshots/ (phone 390 px and desktop)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect, sync_playwright

from browser_support import CHROMIUM, CHROMIUM_ARGS, browser_skip_reason, free_port, serve
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings

SKIP_REASON = browser_skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"
TENANT = "console-shop"
SUSPECT = "user:u_suspect01"


class Console:
    def __init__(self, base_url: str, rt: Runtime, totp_uri: str) -> None:
        self.base_url, self.rt, self.totp = base_url, rt, pyotp.parse_uri(totp_uri)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(tmp_path_factory.mktemp("security-home")))
        env.delenv("PWB_MASTER_SECRET", raising=False)
        env.delenv("PWB_DATABASE_URL", raising=False)
        settings = Settings()
        initialise(settings)
        rt = open_runtime(settings)
    created = rt.identity.add_user("auditor.li", PASSWORD, Role.SECURITY_AUDITOR, rt.clock())
    with serve(create_app(rt), port) as base_url:
        yield Console(base_url, rt, created.totp_uri or "")
    rt.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, viewport: ViewportSize) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in(page: Page, console: Console, step: int) -> None:
    page.goto(console.base_url + "/security")
    page.fill("#username", "auditor.li")
    page.fill("#password", PASSWORD)
    # A TOTP code is good once; each sign-in of the module uses the code of a later step.
    page.fill("#totp", console.totp.at(console.rt.clock() + timedelta(seconds=30 * step)))
    page.click("#login-form button[type=submit]")
    expect(page.locator("#who")).to_contain_text("user:")


def harvest(rt: Runtime) -> list[str]:
    """The suspect's account is used from three devices within minutes on 30 issued parcels;
    two other couriers read 30 parcels each from their own phone."""
    rt.tenants.ensure(TENANT, "Console shop", rt.clock())
    orders = [
        {"order_id": f"C-{i}", "recipient": {"name": "王建国", "phone": f"1391234{1000 + i}", "address":
         "上海市浦东新区张江镇祖冲之路887弄香楠苑12号302室"}, "sender": {"name": "司马翊瑄", "phone": "13987654321",
         "address": "北京市海淀区中关村街道中关村大街27号华芯大厦806室"}, "items": [{"name": "茶叶", "quantity": 1}]}
        for i in range(90)
    ]  # fmt: skip
    waybills = [o.waybill for o in rt.issuance().issue(TENANT, records_from_objects(orders), actor="test")]
    readers = [(SUSPECT, f"phone-{i % 3}") for i in range(30)]
    readers += [(f"user:u_other{i // 30}", f"phone-other{i // 30}") for i in range(60)]
    rt.audit.record_many(
        [
            AuditEvent(at=rt.clock(), actor=actor, role="courier", action="waybill.read", outcome=Outcome.ALLOWED,
                       rule="courier-read-assigned", tenant_id=TENANT, waybill_id=w.waybill_id, device=device)
            for (actor, device), w in zip(readers, waybills, strict=True)
        ]
    )  # fmt: skip
    rt.audit.record_many(
        [
            AuditEvent(at=rt.clock() - timedelta(days=day), actor=f"user:u_other{day % 2}", role=role,
                       action="waybill.reveal", outcome=Outcome.ALLOWED, rule="courier-reveal", tenant_id=TENANT,
                       waybill_id=waybills[30 + day].waybill_id, fields=("address",))
            for day in range(5) for role in ("courier", "courier", "crowd_courier")
        ]
    )  # fmt: skip
    return [w.waybill_no for w in waybills[:30]]


def test_an_auditor_sees_the_alert_freezes_the_account_and_opens_a_trace(browser: Browser, console: Console) -> None:
    numbers = harvest(console.rt)
    [alert] = console.rt.alerts.recent(kind="device_hopping")
    assert alert["actor"] == SUSPECT  # raised by the engine from the audit entries above ...
    console.rt.risk_responder.lift(SUSPECT, "freeze", console.rt.clock(), "user:admin", "platform_admin", "test")
    # ... which froze the account at once; the test lifted that so the auditor freezes it by hand.

    page = open_page(browser, PHONE)
    sign_in(page, console, step=0)
    card = page.locator(f"#alerts li[data-alert='{alert['id']}']")
    expect(card).to_contain_text("device_hopping")
    expect(card).to_contain_text("证据: #")
    expect(page.locator("#accounts")).to_contain_text("暂无受限账户。")
    page.screenshot(path=str(SCREENSHOTS / "security-alerts.png"), full_page=True)

    card.locator(f"button[data-freeze='{SUSPECT}']").click()
    expect(page.locator("#accounts-status")).to_have_text(f"{SUSPECT} 已冻结")
    expect(page.locator(f"#accounts li[data-account='{SUSPECT}']")).to_contain_text("freeze")
    assert console.rt.is_frozen(SUSPECT)

    leak = ("运单号\n" + "\n".join(numbers[:20]) + "\n").encode()
    page.set_input_files("#leak-file", {"name": "leak.csv", "mimeType": "text/csv", "buffer": leak})
    page.click("#trace-form button[type=submit]")
    expect(page.locator("#trace-status")).to_have_text("20 行, 20 条已匹配")
    first = page.locator("#ranking tbody tr").first
    expect(first).to_contain_text("account")
    expect(first).to_contain_text(SUSPECT)
    assert page.evaluate("Chart.getChart('trace-chart').data.datasets[0].data.length") >= 1
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone"
    page.locator("#case").screenshot(path=str(SCREENSHOTS / "security-trace.png"))

    with page.context.expect_page() as report_page:
        page.click("#open-report")
    report = report_page.value
    report.wait_for_load_state()
    expect(report.locator("h1")).to_contain_text("泄露溯源报告")
    expect(report.locator("svg")).to_be_visible()
    expect(report.locator("table")).to_contain_text(SUSPECT)
    page.context.close()


def test_the_console_on_a_desktop_in_english(browser: Browser, console: Console) -> None:
    page = open_page(browser, DESKTOP)
    sign_in(page, console, step=1)
    page.click("#lang")
    expect(page.locator("h1")).to_have_text("Privacy waybill · Security console")
    # A refresh's read of the verification state that lands after a newer "verify now" must not
    # paint over it: the read is held back and answered last, with what it read before.
    held: list[Route] = []
    page.route(
        "**/api/v1/security/audit/verify",
        lambda route: held.append(route) if route.request.method == "GET" else route.continue_(),
    )
    page.click("#refresh")
    with page.expect_response(lambda r: r.url.endswith("/security/audit/verify") and r.request.method == "POST"):
        page.click("#verify")
    expect(page.locator("#verify-state")).to_contain_text("intact")
    assert len(held) == 1
    with page.expect_response(lambda r: r.url.endswith("/security/audit/verify") and r.request.method == "GET"):
        held[0].fulfill(json={"checked_at": None, "intact": None, "entries": 0, "problem": None})
    page.wait_for_timeout(200)
    expect(page.locator("#verify-state")).to_contain_text("intact")
    page.fill("#audit-action", "account.freeze")
    page.click("#audit-form button[type=submit]")
    expect(page.locator("#audit tbody tr").first).to_contain_text("account.freeze")
    expect(page.locator("#coverage tbody tr").first).to_contain_text(TENANT)
    page.screenshot(path=str(SCREENSHOTS / "security-desktop.png"), full_page=True)
    page.context.close()


