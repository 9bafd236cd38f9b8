"""Every page in a real browser at 1366 px, in 中文 and English: a screenshot of each, KPI tiles that show
their whole value and label (no ellipsis), amounts with a unit, and no raw field name anywhere on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import app
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve, settle

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "pages"
# Field names that must never reach a screen (analytics and contract column names).
RAW = re.compile(r"\b(branch_id|origination_date|overdue_principal|outstanding_principal|collector_id|prev_dpd|"
                 r"message_zh|message_en|change_id|sha256|rows_accepted|total_balance|total_count|share_balance|"
                 r"rate_balance|den_count|num_count|from_state|to_state|booked_class|floor_class|written_off|"
                 r"paid_off|not_reported|cohort_count|None)\b")
TILE_OVERFLOW_JS = """
() => Array.from(document.querySelectorAll('[data-testid=stMetricValue], [data-testid=stMetricLabel]')).flatMap(el =>
    [el, ...el.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => el.innerText)).filter((v, i, a) => a.indexOf(v) === i)
"""
GRID_TEXT_JS = """
() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] table th, [data-testid=stDataFrame] table td'))
    .map(c => c.innerText).join('\\n')
"""


@pytest.fixture(scope="module")
def page(demo_root, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    require_chromium()
    with serve(demo_root, tmp_path_factory.mktemp("streamlit") / "server.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1366, "height": 900})
        pg.goto(url)
        settle(pg)
        try:
            yield pg
        finally:
            browser.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_at_1366(page, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("radio", name="English" if lang == "en" else "中文").check(force=True)
    settle(page)
    problems = []
    for path, zh, en, *_ in app.PAGES:
        title = zh if lang == "zh" else en
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title).first.wait_for()
        settle(page)
        # a page of several views (ui.view) is looked at in each of them, the first one last
        views = page.locator("[class*='st-key-'][class*='_view'] [data-testid=stButtonGroup] button")
        assert views.count() > 1 or Path(path).stem not in ("classification", "vintage", "rollrate", "causes"), title
        for i in [*range(1, views.count()), 0]:
            if views.count():
                views.nth(i).click()
                settle(page)
            shot = f"{Path(path).stem}{f'_view{i + 1}' if views.count() else ''}_{lang}_1366.png"
            problems += _look(page, path, title, lang, shot)
    assert problems == []


def _look(page, path: str, title: str, lang: str, shot: str) -> list[str]:
    """What a person would see wrong on the page as drawn now (a screenshot of it in test-results/pages)."""
    problems = []
    page.wait_for_timeout(300)  # charts and grids finish drawing after the run
    assert page.locator("[data-testid=stException]").count() == 0, title
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    cut = page.evaluate(TILE_OVERFLOW_JS)
    if cut:
        problems.append(f"{title}: tiles cut {cut}")
    labels = page.locator("[data-testid=stMetricLabel]").all_inner_texts()
    values = page.locator("[data-testid=stMetricValue]").all_inner_texts()
    for label, value in zip(labels, values, strict=False):
        if re.fullmatch(r"[−\-]?[\d,]+\.\d\d", value.strip()):  # an amount: its unit must be in the label
            if not re.search(r"亿元|万元|元|CNY", label):
                problems.append(f"{title}: amount {value!r} without a unit in {label!r}")
    grid = page.evaluate(GRID_TEXT_JS)
    if path == "pages/overview.py":  # the check reads the tables' cells (the grid's accessible table)
        assert ("月份" if lang == "zh" else "Month") in grid and re.search(r"\d{4}-\d{2}", grid)
        assert "00:00:00" not in grid
    text = page.locator("[data-testid=stMain]").inner_text() + "\n" + grid
    raw = sorted(set(RAW.findall(text)))
    if raw:
        problems.append(f"{title}: raw field names {raw}")
    return problems


def test_reload_keeps_language_filters_and_choices(page):
    page.get_by_role("radio", name="English").check(force=True)
    settle(page)
    page.get_by_role("link", name="Roll rates").click()
    page.get_by_role("heading", name="Roll rates").first.wait_for()
    settle(page)
    page.get_by_role("radio", name="Count").first.check(force=True)
    settle(page)
    page.wait_for_function("location.search.includes('rr_basis=count')", timeout=20_000)
    page.reload()
    settle(page)
    page.get_by_role("heading", name="Roll rates").first.wait_for()
    assert page.get_by_role("radio", name="Count").first.is_checked()
    assert "lang=en" in page.url


def test_click_a_bar_or_a_table_row_opens_the_loans(page):
    page.get_by_role("radio", name="中文").check(force=True)
    settle(page)
    page.get_by_role("link", name="逾期原因").click()
    page.get_by_role("heading", name="逾期原因").first.wait_for()
    settle(page)
    page.wait_for_timeout(500)
    bar = page.locator("[data-testid=stPlotlyChart]").first.locator("g.point path").first.bounding_box()
    x, y = bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] * 0.7
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.get_by_role("heading", name="借据明细").first.wait_for(timeout=30_000)
    settle(page)
    assert int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(",", "")) > 0
    page.get_by_role("link", name="滚动率").click()
    page.get_by_role("heading", name="滚动率").first.wait_for()
    settle(page)
    page.locator("[data-testid=stDataFrame]").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    page.mouse.click(grid["x"] + 15, grid["y"] + 55)  # the first row's selection box
    page.get_by_role("heading", name="借据明细").first.wait_for(timeout=30_000)
    settle(page)
    assert int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(",", "")) > 0


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tiles_fit_at_1024_and_1280(page, lang):
    page.get_by_role("radio", name="English" if lang == "en" else "中文").check(force=True)
    settle(page)
    cut = []
    try:
        for width in (1024, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for _path, zh, en, *_ in app.PAGES[:2]:  # the pages with the most tiles
                title = zh if lang == "zh" else en
                page.get_by_role("link", name=title).click()
                page.get_by_role("heading", name=title).first.wait_for()
                settle(page)
                page.wait_for_timeout(300)
                cut += [f"{width} {title}: {v}" for v in page.evaluate(TILE_OVERFLOW_JS)]
    finally:
        page.set_viewport_size({"width": 1366, "height": 900})
    assert cut == []
