"""End to end in a real browser: serve the app on loopback and drive it with Playwright + Debian Chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import browser_page, require_chromium, serve
from tests.browser.conftest import settle as _settle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(demo_root, tmp_path_factory):
    require_chromium()
    with serve(demo_root, tmp_path_factory.mktemp("streamlit") / "server.log") as url, browser_page(url) as pg:
        yield pg


def test_overview_shows_kpis(page, demo_root, tmp_path):
    from analytics.core import store
    from analytics.metrics import portfolio

    con = store.connect(demo_root)
    month = store.months(con)[-1]
    tiles = portfolio.kpi_tiles(con, month=month)
    con.close()
    npl_ratio = tiles.filter(tiles["kpi"] == "npl_ratio_balance")["value"][0]
    page.get_by_role("heading", name="资产质量总览").wait_for()
    # The tile shows the NPL ratio the analytics compute (waits until the run has drawn it).
    page.locator("[data-testid=stMetricValue]").filter(has_text=f"{npl_ratio * 100:.2f}%").first.wait_for()
    page.screenshot(path=str(tmp_path / "overview.png"))


def _english(page) -> None:
    page.get_by_role("radio", name="English").check(force=True)
    _settle(page)


def test_language_switch_and_navigation(page):
    _english(page)
    page.get_by_role("heading", name="Portfolio overview").wait_for()
    page.get_by_role("link", name="Loan drill-down").click()
    _settle(page)
    page.get_by_role("heading", name="Loan drill-down").wait_for()
    # Wait for the rendered numbers rather than count them at once: the run may still be drawing.
    page.locator("[data-testid=stMetricValue]").nth(1).wait_for()


PAGES_EN = ("Classification & migration", "Aging (DPD buckets)", "Vintage", "Roll rates", "Overdue trends",
            "Overdue causes", "Data import", "Portfolio overview")


def test_every_page_renders_without_error(page):
    _english(page)
    for title in PAGES_EN:
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title).first.wait_for()
        _settle(page)
        assert page.locator("[data-testid=stException]").count() == 0, title


def test_drill_down_from_overview(page):
    _english(page)
    page.get_by_role("link", name="Portfolio overview").click()
    _settle(page)
    page.get_by_role("button", name="Show the loans").first.click()
    page.get_by_role("heading", name="Loan drill-down").wait_for()
    _settle(page)
    loans = int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(",", ""))
    assert loans > 0
