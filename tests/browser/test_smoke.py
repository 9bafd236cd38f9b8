"""End to end in a real browser: serve the app on loopback and drive it with Playwright + Debian Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_root, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it with apt-get install chromium")
        pytest.skip("Debian Chromium not installed (apt-get install chromium)")
    port = _free_port()
    env = os.environ | {"OVERDUE_DATA_DIR": str(demo_root)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        proc.wait()
        log.close()
        pytest.fail(f"streamlit did not start: {log_path.read_text(errors='replace')[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _settle(page) -> None:
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-stale=true]').length === 0", timeout=60_000)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(server)
        _settle(pg)
        yield pg
        browser.close()


def test_overview_shows_kpis(page, demo_root, tmp_path):
    from analytics import portfolio, store

    con = store.connect(demo_root)
    month = store.months(con)[-1]
    tiles = portfolio.kpi_tiles(con, month)
    con.close()
    npl_ratio = tiles.filter(tiles["kpi"] == "npl_ratio")["value"][0]
    page.get_by_role("heading", name="资产质量总览").wait_for()
    values = page.locator("[data-testid=stMetricValue]").all_inner_texts()
    assert f"{npl_ratio * 100:.2f}%" in values
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
    assert page.locator("[data-testid=stMetricValue]").count() >= 2


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
