"""In a real browser, a bank starts from an empty data folder and imports its own files through the page."""

from __future__ import annotations

import re

import polars as pl
import pytest
from playwright.sync_api import expect

from analytics.core import store
from tests.browser.conftest import browser_page, require_chromium, serve, settle

pytestmark = pytest.mark.browser


def _export_files(demo_root, folder):
    """The bank's files: branches as a GBK CSV with Chinese headers, loans and one month of snapshots as CSV."""
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    snaps = store.query(con, "SELECT * FROM snapshots WHERE month = $m", {"m": month})
    loans = store.query(con, "SELECT * FROM loans WHERE loan_id IN (SELECT loan_id FROM snapshots WHERE month = $m)",
                        {"m": month})
    branches = store.query(con, "SELECT branch_id AS 机构号, branch_name AS 机构名称, region AS 区域 FROM branches")
    con.close()
    files = {"branches": folder / "机构.csv", "loans": folder / "loans.csv", "snapshots": folder / "snapshots.csv"}
    files["branches"].write_bytes(branches.write_csv().encode("gbk"))
    loans.write_csv(files["loans"])
    snaps.with_columns(pl.col("month").cast(pl.String)).write_csv(files["snapshots"])
    on_book = snaps.filter(pl.col("status") == "active")["outstanding_principal"].cast(pl.Float64).sum()
    return files, on_book


def _load(page, table: str, path) -> None:
    # Type to filter the select box's options, as a keyboard user does, then take the match.
    box = page.locator("[data-testid=stSelectbox]").filter(has_text="导入到表")
    option = page.get_by_role("option").filter(has_text=f"（{table}）")
    for _ in range(3):  # a click on a box that still has focus may close the menu instead of opening it
        box.locator("input").click()
        if page.get_by_role("listbox").is_visible():
            break
        page.wait_for_timeout(500)
    page.keyboard.type(table)
    option.wait_for()
    page.keyboard.press("Enter")
    expect(box.locator("input")).to_have_value(re.compile(f"（{table}）"))
    settle(page)
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(path))
    page.get_by_text("所有行都符合数据契约").wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="导入", exact=True).click()
    page.locator("[data-testid=stAlert]").filter(has_text="已导入").first.wait_for(timeout=60_000)
    settle(page)


def test_import_from_empty_folder_to_dashboard(demo_root, tmp_path):
    require_chromium()
    files, on_book = _export_files(demo_root, tmp_path)
    root = tmp_path / "data"
    root.mkdir()
    with serve(root, tmp_path / "server.log") as url, browser_page(url) as page:
        page.get_by_text("中还没有贷款数据").wait_for()
        page.get_by_role("link", name="数据导入", exact=True).click()
        settle(page)
        for table in ("branches", "loans", "snapshots"):
            _load(page, table, files[table])
        assert page.get_by_text("snapshots").count() > 0  # the import history lists the loads
        page.get_by_role("link", name="资产质量总览").click()
        page.get_by_role("heading", name="资产质量总览").wait_for()
        settle(page)
        shown = page.locator("[data-testid=stMetricValue]").first.inner_text()
        label = page.locator("[data-testid=stMetricLabel]").first.inner_text()
        unit = "亿元" if "亿元" in label else "万元"  # the tile's unit is in its label, the value is the number
        assert shown.strip() == f"{on_book / (1e8 if unit == '亿元' else 1e4):,.2f}"
