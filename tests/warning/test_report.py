"""Per-loan warning report (PDF, text searchable) and the monthly Excel report (neutralised)."""

from __future__ import annotations

import io
import shutil
import subprocess

import polars as pl
import pytest
from openpyxl import load_workbook

from analytics.warning import report as rp
from analytics.warning import signals as S
from tests.warning.test_signals import OCT, con  # noqa: F401  (con: the tiny-book fixture)


def test_report_content(con):  # noqa: F811
    data = rp.loan_report_data(con, month=OCT, loan_id="C")
    assert data["warning"]["level"] == "red" and [h["dpd"] for h in data["history"]] == [25, 55, 85]
    zh = rp.loan_report_content(data, "zh")
    assert zh["reasons"] == ["即将逾期超90天(临界)"]
    assert zh["action"].startswith("立即催收") and "1 天" in zh["action"]
    ind = dict(map(tuple, zh["sections"][1]["rows"]))
    assert ind["临界日期(不还款)"] == "2026-11-06" and ind["距临界天数"] == "6"
    en = rp.loan_report_content(rp.loan_report_data(con, month=OCT, loan_id="H"), "en")
    assert en["reasons"] == ["No warning this month"]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler not installed")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf(con, lang, tmp_path):  # noqa: F811
    pdf = rp.loan_report_pdf(rp.loan_report_data(con, month=OCT, loan_id="A"), lang)
    assert pdf[:5] == b"%PDF-"
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True).stdout
    assert ("贷后预警报告" if lang == "zh" else "Early-warning report") in text
    assert ("本月未足额还款" if lang == "zh" else "Missed payment this month") in text


def test_labelled_and_monthly_xlsx(con):  # noqa: F811
    c = S.centre(con, month=OCT)
    view = rp.labelled(c["list"], "zh")
    assert view.filter(pl.col("loan_id") == "A")["reasons"][0] == "正常滚动至M1；本月未足额还款"
    assert view.filter(pl.col("loan_id") == "C")["level"][0] == "红色预警"
    risky = pl.DataFrame({"note": ["=1+1", "ok"]})
    data = rp.monthly_report_xlsx({"级别": rp.labelled(c["by_level"], "en"), "list": view, "x": risky})
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["级别", "list", "x"]
    assert book["级别"]["A2"].value == "Red"
    assert book["x"]["A2"].value == "'=1+1"
