"""The board pack: open the produced PDF and Excel files and compare their numbers with the page's summary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import openpyxl
import polars as pl
import pypdf
import pytest

from analytics import pack
from analytics.core.months import quarter_label
from analytics.metrics import bridge
from analytics.pack import content

ROOT = Path(__file__).resolve().parents[2]
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists(),
                                    reason="kaleido renders charts with Debian's Chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def summary(demo_root):
    from analytics.core import store

    con = store.connect(demo_root)
    quarter = bridge.available_quarters(con)[1]  # the last complete quarter
    s = content.summary(con, quarter=quarter)
    con.close()
    return s


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(BytesIO(pdf)).pages))


@needs_chromium
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_holds_the_page_numbers_in_embedded_fonts(summary, lang, tmp_path):
    data = pack.render(summary, fmt="pdf", lang=lang)
    text = _text(data)
    assert re.sub(r"\s+", "", content.title(summary, lang)) in text
    for r in summary.tiles.iter_rows(named=True):
        shown = content.money(r["value"], lang) if r["kind"] == "money" else content.pct(r["value"])
        assert re.sub(r"\s+", "", shown) in text, (r["kpi"], shown)
    npl = summary.bridges["npl"]
    closing = float(npl.filter(pl.col("line") == "closing")["amount"].item())
    assert re.sub(r"\s+", "", content.money(closing, lang)) in text
    for name in summary.league["branch_name"]:
        assert name in text
    path = tmp_path / "pack.pdf"
    path.write_bytes(data)
    if shutil.which("pdffonts") is None:
        if os.environ.get("CI"):
            pytest.fail("poppler-utils missing: .ci/run installs it")
        pytest.skip("poppler-utils not installed (apt-get install poppler-utils)")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts.stdout  # every font embedded
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(pypdf.PdfReader(BytesIO(data)).pages) >= 2
    assert all(p.stat().st_size > 5000 for p in pages)  # rendered, not blank


def test_excel_numbers_formats_and_sheets(summary):
    wb = openpyxl.load_workbook(BytesIO(pack.render(summary, fmt="xlsx", lang="zh")))
    assert wb.sheetnames == ["摘要", "逾期余额变动", "不良余额变动", "机构考核", "项目评估", "季度趋势", "清收效果",
                             "口径"]
    ws = wb["摘要"]
    values = {ws.cell(r, 1).value: (ws.cell(r, 2).value, ws.cell(r, 2).number_format) for r in range(8, 16)}
    for r in summary.tiles.iter_rows(named=True):
        label = [k for k in values if k.startswith(content.labels.label("exec_kpi", r["kpi"], "zh"))][0]
        value, fmt = values[label]
        if r["kind"] == "money":
            assert value == pytest.approx(r["value"] / 1e4) and fmt == "#,##0.00"  # 万元, already divided
        else:
            assert value == pytest.approx(r["value"]) and fmt == "0.00%"
    br = wb["不良余额变动"]
    amounts = [br.cell(i, 3).value for i in range(2, br.max_row + 1)]
    assert sum(amounts[:-1]) == pytest.approx(amounts[-1], abs=1e-6)  # opening + lines = closing
    assert br._charts, "a native Excel chart"
    league = wb["机构考核"]
    scores = [league.cell(i, 5).value for i in range(2, league.max_row + 1)]
    assert scores[0] == pytest.approx(summary.league["score"][0])
    assert league.cell(2, 5).number_format == "0.0"
    review = wb["清收效果"]
    total = summary.collections.filter(pl.col("group") == "total").row(0, named=True)
    last = review.max_row
    assert review.cell(last, 1).value == "合计" and review.cell(last, 2).value == total["cases_assigned"]
    assert review.cell(last, 6).value == pytest.approx(float(total["cash"]) / 1e4)


@needs_chromium
def test_command_writes_both_formats(demo_root, summary, tmp_path):
    for fmt in ("xlsx", "pdf"):
        out = tmp_path / f"pack.{fmt}"
        proc = subprocess.run([sys.executable, "-m", "analytics.pack", "--quarter", quarter_label(summary.quarter),
                               "--format", fmt, "--lang", "en", "--out", str(out), "--data", str(demo_root)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 1000
    bad = subprocess.run([sys.executable, "-m", "analytics.pack", "--quarter", "2026Q5", "--out", str(tmp_path / "x")],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "2026Q5" in bad.stderr


def test_summary_and_pack_on_imported_data(tmp_path):
    """A bank's minimal export (snapshots only, GBK, Chinese headers) imported into an empty store: the quarter's
    bridge is the hand-computed one, including the move of two loans to the special-assets branch."""
    from decimal import Decimal as D

    from analytics import ingest
    from analytics.core import store
    from tests.ingest import minimal

    root = tmp_path / "data"
    ingest.commit(root, ingest.prepare(root, minimal.branches_csv(), "机构.csv", "branches"))
    text = minimal.snapshots_csv(title=False).decode("gbk")
    lines = text.splitlines()
    december = [line.replace("2024-02", "2023-12") for line in lines[1:] if "2024-02" in line]
    january = [line.replace("2024-02", "2024-01") for line in lines[1:] if "2024-02" in line]
    text = "\n".join([lines[0], *december, *january, *lines[1:]]) + "\n"
    ingest.commit(root, ingest.prepare(root, text.encode("gbk"), "快照.csv", "snapshots"))
    con = store.connect(root)
    quarter = bridge.available_quarters(con)[0]
    s = content.summary(con, quarter=quarter)
    con.close()
    assert quarter_label(quarter) == "2024Q1" and s.window["open_month"].month == 12
    npl = {r["line"]: r["amount"] for r in s.bridges["npl"].iter_rows(named=True) if r["loans_count"]}
    # L2 (5,000 NPL at B1) written off at B99; L4 new NPL at B99 (2,400); transfers add up to zero for the bank
    assert npl == {"opening": D("5000.00"), "new": D("2400.00"), "transfer_in": D("5000.00"),
                   "written_off": D("-5000.00"), "cash_recovered": D("0.00"), "transfer_out": D("-5000.00"),
                   "closing": D("2400.00")}
    overdue = {r["line"]: r["amount"] for r in s.bridges["overdue"].iter_rows(named=True) if r["loans_count"]}
    assert overdue["opening"] == D("7500.00") and overdue["stayer"] == D("-100.00") and overdue["closing"] == D("2400.00")
    assert s.tiles.filter(pl.col("kpi") == "npl_balance")["target"].item() is None  # no targets imported
    wb = openpyxl.load_workbook(BytesIO(pack.render(s, fmt="xlsx", lang="en")))
    assert wb.sheetnames[0] == "Summary"
