"""Reports of a prepared file (``analytics.ingest.reports``)."""

from __future__ import annotations

from pathlib import Path

from analytics import ingest
from tests.ingest.files import (
    LOANS_CSV,
)


def test_error_report_download_neutralises_formulas(base: Path):
    text = LOANS_CSV.replace("L3,C3,B1", "L3,C3,=cmd|' /C calc'!A0")
    prepared = ingest.prepare(base, text.encode(), "x.csv", "loans")
    csv = ingest.error_report_csv(prepared, "zh").decode("utf-8-sig")
    assert "'=cmd" in csv and "\n=cmd" not in csv and ",=cmd" not in csv
    assert csv.splitlines()[0] == "文件,行号,源列,字段,值,规则,说明"
