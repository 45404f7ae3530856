"""Browser tests of the web UI: the real app under uvicorn, driven by Playwright in Chromium.

Pages are opened at a phone's size (390x844): the UI is mobile first. Each test gets a fresh
browser context, so the language choice kept in localStorage never leaks between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    browser_skip_reason,
    free_port,
    serve,
)
from cli_support import use_test_database
from privacy_waybill.access.api_keys import MERCHANT_SCOPES, new_api_key
from privacy_waybill.api.app import create_app
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.service import Issued
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings

SKIP_REASON = browser_skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
TENANT = "ui-shop"
CSV_HEADER = "order_id,recipient_name,recipient_phone,recipient_address,sender_name,sender_phone,sender_address,items\n"
CSV_ROWS = (
    "UI-1,欧阳震华,13812345678,浙江省杭州市余杭区五常街道文一西路969号西溪园区5号楼1201室,司马翊瑄,13987654321,北京市海淀区中关村街道中关村大街27号华芯大厦806室,机密样品*2\n"
    "UI-2,诸葛晓岚,13700001234,上海市浦东新区张江镇祖冲之路887弄香楠苑12号302室,司马翊瑄,13987654321,北京市海淀区中关村街道中关村大街27号华芯大厦806室,茶叶\n"
    "UI-3,王五,12345,上海市浦东新区张江镇祖冲之路887弄,司马翊瑄,13987654321,北京市海淀区中关村街道中关村大街27号华芯大厦806室,茶叶\n"
)
# Personal values of the CSV that must never reach a page: names beyond the surname,
# phones beyond the last four digits, address detail below the road.
PERSONAL_VALUES = (
    "欧阳震华", "震华", "13812345678", "1381234", "969号", "西溪园区", "1201室",
    "诸葛晓岚", "晓岚", "13700001234", "1370000", "887弄", "香楠苑", "302室",
    "司马翊瑄", "翊瑄", "13987654321", "华芯大厦", "806室", "机密样品",
)  # fmt: skip
TRACKED_ORDER = {
    "order_id": "UI-TRACKED",
    "recipient": {
        "name": "欧阳震华",
        "phone": "13812345678",
        "address": "浙江省杭州市余杭区五常街道文一西路969号西溪园区1201室",
    },
    "sender": {
        "name": "司马翊瑄",
        "phone": "13987654321",
        "address": "北京市海淀区中关村街道中关村大街27号华芯大厦806室",
    },
    "items": [{"name": "机密样品", "quantity": 1}],
}


def assert_no_personal_values(html: str) -> None:
    for value in PERSONAL_VALUES:
        assert value not in html, f"page shows {value!r}"


class Site:
    """The running app: its URL, runtime and a merchant API key."""

    def __init__(self, base_url: str, rt: Runtime, api_key: str) -> None:
        self.base_url, self.rt, self.api_key = base_url, rt, api_key

    def tracking_path(self, order: dict[str, Any]) -> str:
        [outcome] = self.rt.issuance().issue(TENANT, records_from_objects([order]), actor="test")
        assert isinstance(outcome, Issued)
        url = self.rt.tracking_url(outcome.waybill)
        assert url.startswith(self.base_url)
        return url.removeprefix(self.base_url)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        home = tmp_path_factory.mktemp("ui-home")
        env.setenv("PWB_HOME", str(home))
        env.setenv("PWB_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        env.delenv("PWB_MASTER_SECRET", raising=False)
        use_test_database(env, home)
        settings = Settings()
        initialise(settings)
        rt = open_runtime(settings)
    rt.tenants.ensure(TENANT, "UI shop", rt.clock())
    key = new_api_key()
    rt.tenants.add_api_key(TENANT, key, MERCHANT_SCOPES, "ui", rt.clock())
    with serve(create_app(rt), port) as base_url:
        yield Site(base_url, rt, key.token)
    rt.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(5_000)
    yield context.new_page()
    context.close()


def assert_fits_phone_width(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone"


def upload_csv(page: Page, site: Site, text: str) -> None:
    page.goto(site.base_url + "/")
    page.fill("#api-key", site.api_key)
    page.set_input_files("#file", {"name": "orders.csv", "mimeType": "text/csv", "buffer": text.encode()})
    page.click("#upload-form button[type=submit]")


def test_console_loads_in_chinese_and_switches_language(page: Page, site: Site) -> None:
    page.goto(site.base_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("隐私面单 · 商家控制台")
    expect(page.locator("#upload-form button")).to_have_text("上传并出单")

    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Privacy waybill · Merchant console")
    expect(page.locator("#waybills th").nth(1)).to_have_text("Waybill")
    expect(page.locator("#lang")).to_have_text("中文")

    page.click("#lang")
    expect(page.locator("h1")).to_have_text("隐私面单 · 商家控制台")
    expect(page.locator("#waybills th").nth(1)).to_have_text("运单号")
    assert_fits_phone_width(page)


def test_upload_without_key_asks_for_one(page: Page, site: Site) -> None:
    page.goto(site.base_url + "/")
    page.set_input_files("#file", {"name": "orders.csv", "mimeType": "text/csv", "buffer": CSV_HEADER.encode()})
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#summary")).to_have_text("请先输入 API 密钥。")


def test_csv_upload_fills_the_table_with_masked_data_only(page: Page, site: Site) -> None:
    upload_csv(page, site, CSV_HEADER + CSV_ROWS)
    expect(page.locator("#summary")).to_have_text("已出单: 2 · 已存在: 0 · 被拒绝: 1")
    rows = page.locator("#waybills tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="欧阳**")).to_contain_text("*******5678")
    expect(rows.filter(has_text="欧阳**")).to_contain_text("文一西路****")
    expect(rows.first).to_contain_text("已下单")
    rejected = page.locator("#rejections tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.locator("td")).to_have_text(["4", "UI-3", "收件人电话", "不是有效的中国大陆手机号或固定电话号码"])
    assert_no_personal_values(page.content())
    assert_fits_phone_width(page)
    page.screenshot(path=str(SCREENSHOTS / "merchant-upload-rejected-rows.png"), full_page=True)

    page.click("#lang")
    expect(page.locator("#rejections th")).to_have_text(["Line", "Order", "Field", "Reason"])
    expect(rejected.locator("td")).to_have_text(
        ["4", "UI-3", "recipient.phone", "not a valid Chinese mobile or landline number"]
    )
    page.click("#lang")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "merchant-upload-rejected-rows-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)

    upload_csv(page, site, CSV_HEADER + CSV_ROWS)
    expect(page.locator("#summary")).to_have_text("已出单: 0 · 已存在: 2 · 被拒绝: 1")


def test_unusable_file_shows_the_problem(page: Page, site: Site) -> None:
    upload_csv(page, site, "order_id,favourite_colour\nA-1,blue\n")
    expect(page.locator("#summary")).to_have_class("error")
    expect(page.locator("#summary")).to_have_text("第 1 行：未知的列 'favourite_colour'")
    expect(page.locator("#rejections")).to_be_hidden()
    upload_csv(page, site, CSV_HEADER)
    expect(page.locator("#summary")).to_have_text("文件只有表头，没有订单记录")


def test_rows_without_an_order_id_or_with_an_open_quote_are_shown_by_line(page: Page, site: Site) -> None:
    rows = CSV_ROWS.splitlines()
    upload_csv(page, site, CSV_HEADER + rows[0].replace("UI-1,", ",", 1) + "\n" + rows[1] + ',"\n')
    rejected = page.locator("#rejections tbody tr")
    expect(rejected).to_have_count(2)
    expect(rejected.nth(0).locator("td")).to_have_text(["2", "—", "订单号", "必填"])
    expect(rejected.nth(1).locator("td")).to_have_text(["3", "—", "整行", "第 3 行的引号直到文件结尾都没有闭合"])


def test_pdf_button_downloads_a_label(page: Page, site: Site) -> None:
    upload_csv(page, site, CSV_HEADER + CSV_ROWS)
    button = page.locator("#waybills tbody tr").first.locator("button.label-download")
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as label:
        assert label.read(5) == b"%PDF-"


def test_a_merchant_opens_one_recipient_in_full_for_a_purpose_for_one_minute(browser: Browser, site: Site) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.clock.install()
    upload_csv(page, site, CSV_HEADER + CSV_ROWS)
    row = page.locator("#waybills tbody tr", has_text="欧阳**")
    waybill_no = row.get_attribute("data-waybill")
    row.locator("button.decrypt").click()
    expect(page.locator("#decrypt-waybill")).to_have_text(waybill_no or "")
    page.select_option("#decrypt-purpose", "return")
    page.click("#decrypt-form button[type=submit]")
    expect(page.locator("#decrypted .full-record")).to_contain_text("欧阳震华")
    expect(page.locator("#decrypted .full-record")).to_contain_text("13812345678")
    expect(page.locator("#decrypted .full-record")).to_contain_text("969号西溪园区5号楼1201室")
    expect(page.locator("#decrypt-countdown")).to_contain_text("60")
    decrypted = site.rt.audit.events(action="waybill.decrypt", limit=100)
    assert decrypted[-1].purpose == "return" and decrypted[-1].outcome == "allowed"

    page.clock.run_for(61_000)
    expect(page.locator("#decrypted")).to_have_text("已从页面移除。")
    assert_no_personal_values(page.content())
    assert_fits_phone_width(page)
    context.close()


def test_tracking_page_shows_status_in_chinese_only(page: Page, site: Site) -> None:
    page.goto(site.base_url + site.tracking_path(TRACKED_ORDER))
    expect(page.locator("#tracking .status")).to_have_text("已下单")
    expect(page.locator("h1")).to_have_text("物流查询")
    expect(page.locator("#tracking")).to_contain_text("PW")
    assert_no_personal_values(page.content())
    page.screenshot(path="/tmp/pwb-tracking-390x844.png", full_page=True)
    assert_fits_phone_width(page)

    page.click("#lang")
    expect(page.locator("#tracking .status")).to_have_text("created")


def test_unknown_tracking_token_shows_the_error(page: Page, site: Site) -> None:
    page.goto(site.base_url + "/t/not-a-real-token")
    expect(page.locator("#tracking .error")).to_have_text("查询码无效。")
