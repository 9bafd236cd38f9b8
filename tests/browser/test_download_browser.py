"""A table's download is built when the button is clicked (a callable), and the file holds every row."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve, settle

pytestmark = pytest.mark.browser


def test_drilldown_csv_is_built_on_click(demo_root, tmp_path):
    from playwright.sync_api import sync_playwright

    require_chromium()
    with serve(demo_root, tmp_path / "server.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        page.goto(url)
        settle(page)
        page.get_by_role("link", name="借据明细").click()
        page.get_by_role("heading", name="借据明细").first.wait_for()
        settle(page)
        loans = int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(",", ""))
        with page.expect_download(timeout=60_000) as info:
            page.locator(".st-key-dd_table_csv button").click()
        path = tmp_path / "loans.csv"
        info.value.save_as(path)
        browser.close()
    lines = path.read_text(encoding="utf-8-sig").strip().splitlines()
    assert loans > 0 and len(lines) == loans + 1  # a header and every loan
