"""Reading, mapping and checking files (``analytics.ingest.preparing``): shapes that load, bad inputs refused
with the store unchanged, continuity warnings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from analytics import ingest
from analytics.core import schema, store
from analytics.ingest import mapping, preparing
from analytics.metrics import portfolio
from tests.ingest.files import (
    APR_ROWS,
    BRANCHES_CSV,
    L2_PAID_APR,
    LOANS_CSV,
    MARCH,
    MARCH_FILE,
    SNAP_HEADER,
    SNAP_ROWS,
    D,
    load,
    rejected,
    snapshots,
    table_frame,
    warned,
)


def test_gbk_csv_with_chinese_headers_labels_thousands_and_units(base: Path):
    loans = table_frame(base, "loans")
    assert loans["loan_id"].to_list() == ["L1", "L2", "L3"]
    assert loans["product"].to_list() == ["consumer", "mortgage", "consumer"]
    assert loans["principal"].to_list() == [D("100000.00"), D("800000.00"), D("5000.50")]
    assert loans["annual_rate"].to_list() == [0.045, 0.041, 0.12]
    assert loans["origination_date"].to_list() == [dt.date(2023, 1, 5), dt.date(2022, 3, 10), dt.date(2023, 6, 1)]
    assert loans["annual_income"].to_list() == [D("120000.00"), None, None]
    assert loans.schema == schema.LOANS.polars_schema

    result = load(base, SNAP_HEADER + SNAP_ROWS, "快照.csv", "snapshots", encoding="gb18030")
    assert (result.months, result.rows_accepted, result.rows_rejected) == ([MARCH], 3, 0)
    got = snapshots(base)
    assert got["month"].to_list() == [MARCH] * 3
    assert got["outstanding_principal"].to_list() == [D("81234.56"), D("705000.00"), D("0.00")]  # 万元 exact
    assert got["overdue_interest"].to_list() == [D("0.00"), D("500.00"), D("0.00")]
    assert got["booked_class"].to_list() == [1, 2, 1]
    assert got["status"].to_list() == ["active", "active", "paid_off"]
    assert got["overdue_cause"].to_list() == [None, "business_difficulty", None]


def test_round_trip_to_the_same_numbers_on_the_pages(base: Path):
    load(base, SNAP_HEADER + SNAP_ROWS, "快照.csv", "snapshots", encoding="gbk")
    con = store.connect(base)
    try:
        got = portfolio.quality_by(con, by=("month",))
    finally:
        con.close()
    row = got.row(0, named=True)
    assert row["month"] == MARCH
    balances = {k: v for k, v in row.items() if isinstance(v, Decimal)}
    assert D("786234.56") in balances.values()  # 81,234.56 + 705,000.00 + 0 on the overview


def test_xlsx_with_serial_dates_and_named_sheet(tmp_path: Path):
    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "b.csv", "branches")
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["this sheet is not the data"])
    ws = book.create_sheet("借据")
    ws.append(["借据号", "客户号", "网点", "产品", "放款日期", "到期日期", "贷款金额", "年利率", "期限(月)", "还款方式",
               "担保方式", "押品价值", "年龄", "年收入", "职业/行业", "评级"])
    ws.append(["L1", "C1", "B1", "小微企业贷款", 45292, 46388, 250000, 0.06, 36, "按期付息到期还本", "保证", None, 50,
               1_000_000, "制造业", "BB"])  # 45292 = 2024-01-01, 46388 = 2027-01-01
    ws.append(["L2", "C2", "B2", "信用卡", dt.datetime(2024, 2, 1), dt.datetime(2029, 2, 1), 50000.5, 0.18, 60, "循环额度",
               "信用", None, None, None, None, None])
    buf = io.BytesIO()
    book.save(buf)
    result = load(root, buf.getvalue(), "loans.xlsx", "loans", sheet="借据")
    assert result.rows_accepted == 2
    loans = table_frame(root, "loans")
    assert loans["origination_date"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    assert loans["maturity_date"].to_list() == [dt.date(2027, 1, 1), dt.date(2029, 2, 1)]
    assert loans["principal"].to_list() == [D("250000.00"), D("50000.50")]
    assert loans["repayment_method"].to_list() == ["interest_only", "revolving"]


def test_xlsx_formula_without_cached_value_is_an_error_and_never_computed(tmp_path: Path):
    root = tmp_path / "data"
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["机构号", "机构名称", "区域"])
    ws.append(["B1", "总行", "东区"])
    ws.append(["B2", '=HYPERLINK("http://x","y")', "西区"])  # openpyxl stores no cached value
    buf = io.BytesIO()
    book.save(buf)
    prepared = ingest.prepare(root, buf.getvalue(), "b.xlsx", "branches")
    got = {(p["row"], p["column"], p["rule"]) for p in prepared.problems.iter_rows(named=True)}
    assert got == {(2, "branch_name", "formula"), (2, "branch_name", "null")}  # the formula is not computed
    result = ingest.commit(root, prepared, on_bad="quarantine")
    assert table_frame(root, "branches")["branch_id"].to_list() == ["B1"]
    assert result.rows_rejected == 1


def test_parquet_and_one_file_holding_several_months(base: Path, tmp_path: Path):
    rows = [{"month": m, "loan_id": "L1", "branch_id": "B1", "outstanding_principal": "1000", "overdue_principal": "0",
             "overdue_interest": "0", "dpd": "0", "booked_class": "1", "status": "active", "tech_overdue": "false",
             "overdue_cause": None, "collector_id": None, "restructured": "false", "collateral_value": None,
             "amount_due": "10", "amount_paid": "10", "disposed_principal": "0"}
            for m in ("2024-01-31", "2024-02-29", "2024-03-31")]
    buf = io.BytesIO()
    pl.DataFrame(rows).with_columns(pl.col("month").str.to_date(), pl.col("dpd").cast(pl.Int64)).write_parquet(buf)
    result = load(base, buf.getvalue(), "snap.parquet", "snapshots")
    assert result.months == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), MARCH]
    assert sorted(p.parent.name for p in store.table_files(base, "snapshots")) == [
        "month=2024-01-01", "month=2024-02-01", "month=2024-03-01"]


def test_profile_saved_with_value_maps_and_reused_next_month(base: Path):
    header = "月份,借据号,网点,余额,逾期本金,逾期利息,DPD,风险等级,状态,技术性逾期,逾期原因,催收员,重组,押品现值,应还金额,实还金额,处置本金\n"
    march = "2024-03,L1,B1,100,0,0,0,A,正常,N,,,N,,1,1,0\n"
    prepared = ingest.prepare(base, (header + march).encode(), "m3.csv", "snapshots")
    assert prepared.profile.columns["booked_class"] is None  # "风险等级" is not a known synonym
    profile = prepared.profile
    profile.columns["booked_class"] = "风险等级"
    profile.value_maps["booked_class"] = {"A": "1", "B": "2"}
    prepared = ingest.prepare(base, (header + march).encode(), "m3.csv", "snapshots", profile=profile)
    assert prepared.n_bad == 0, prepared.problems
    ingest.commit(base, prepared, save_as="我行快照")
    april = "2024-04,L1,B1,90,10,1,15,B,正常,N,,,N,,1,0,0\n"
    result = load(base, header + april, "m4.csv", "snapshots", profile="我行快照")
    assert result.months == [dt.date(2024, 4, 1)]
    assert snapshots(base)["booked_class"].to_list() == [1, 2]
    assert [p.name for p in mapping.list_profiles(base, "snapshots")] == ["我行快照"]


def test_one_month_file_without_month_column(base: Path):
    header = SNAP_HEADER.split(",", 1)[1]
    rows = "".join(r.split(",", 1)[1] for r in SNAP_ROWS.splitlines(keepends=True))
    result = load(base, header + rows, "2024年3月.csv", "snapshots", month="2024-03")
    assert result.months == [MARCH]


def test_empty_file(base: Path):
    assert "empty" in rejected(base, b"", "x.csv", "snapshots")
    assert "empty" in rejected(base, SNAP_HEADER, "x.csv", "snapshots")


def test_wrong_encoding(base: Path):
    assert "UTF-8 or GBK" in rejected(base, (SNAP_HEADER + SNAP_ROWS).encode("utf-16"), "x.csv", "snapshots")


def test_missing_required_column(base: Path):
    text = "借据号,机构\nL9,B1\n"
    assert "required columns missing" in rejected(base, text, "x.csv", "loans", on_bad="quarantine")


@pytest.mark.parametrize(("row", "rule", "column", "value"), [
    ("2024/13/45,L1,B1,1,0,0,0,正常,正常,否,,,否,,0,0,0", "parse", "month", "2024/13/45"),
    ("2024/3/31,L1,B1,-1,0,0,0,正常,正常,否,,,否,,0,0,0", "min", "outstanding_principal", "-1"),  # as in the file (万元)
    ("2024/3/31,L1,B1,abc,0,0,0,正常,正常,否,,,否,,0,0,0", "parse", "outstanding_principal", "abc"),
    ("2024/3/31,L9,B1,1,0,0,0,正常,正常,否,,,否,,0,0,0", "reference", "loan_id", "L9"),
    ("2024/3/31,L1,B1,1,0,0,3天,正常,正常,否,,,否,,0,0,0", "parse", "dpd", "3天"),
])
def test_bad_row_rejects_the_file_with_row_column_value(base: Path, row, rule, column, value):
    good = SNAP_ROWS.splitlines()[1]
    text = SNAP_HEADER + good + "\n" + row + "\n"
    prepared = ingest.prepare(base, text.encode(), "x.csv", "snapshots")
    report = ingest.error_report(prepared, "en")
    assert (rule, column, value) in {(r["rule"], r["field"], r["value"]) for r in report.iter_rows(named=True)}
    assert report.filter(pl.col("rule") == rule)["row"].to_list() == [2]
    assert "rejected" in rejected(base, text, "x.csv", "snapshots")


def test_duplicate_loan_month(base: Path):
    text = SNAP_HEADER + SNAP_ROWS + SNAP_ROWS.splitlines()[0] + "\n"
    assert "rejected" in rejected(base, text, "x.csv", "snapshots")
    prepared = ingest.prepare(base, text.encode(), "x.csv", "snapshots")
    assert prepared.problems.filter(pl.col("rule") == "duplicate_key")["row"].to_list() == [1, 4]


def test_unknown_branch(base: Path):
    text = LOANS_CSV.replace("L3,C3,B1", "L3,C3,B7")
    assert "rejected" in rejected(base, text, "x.csv", "loans")


def test_truncated_parquet(base: Path):
    buf = io.BytesIO()
    pl.DataFrame({"借据号": ["L1"] * 100}).write_parquet(buf)
    assert "corrupt or truncated" in rejected(base, buf.getvalue()[:-40], "x.parquet", "snapshots")


def test_size_limit(base: Path):
    assert "limit" in rejected(base, SNAP_HEADER + SNAP_ROWS, "x.csv", "snapshots", limit=100)


def test_no_pickle_or_unknown_types(base: Path):
    assert "Unsupported file type" in rejected(base, b"\x80\x04K\x01.", "x.pkl", "snapshots")


def test_zip_bomb_xlsx_and_highly_compressed_parquet_are_refused_before_unpacking(base: Path):
    book = openpyxl.Workbook()
    book.active.append(["机构号", "机构名称", "区域"])
    book.active.append(["B3", "x", "y"])
    small = io.BytesIO()
    book.save(small)
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small.getvalue())) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # 8 MB of whitespace: a few KB zipped
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (8 << 20))
            z.writestr(item.filename, data)
    assert len(bomb.getvalue()) < 100_000
    assert "unpacks to about 8 MB" in rejected(base, bomb.getvalue(), "b.xlsx", "branches", limit=1 << 20)
    buf = io.BytesIO()
    pl.DataFrame({"机构号": ["B3"] * 200_000, "机构名称": ["x"] * 200_000, "区域": ["y"] * 200_000}).write_parquet(buf)
    assert len(buf.getvalue()) < 1 << 20
    assert "unpacks to about" in rejected(base, buf.getvalue(), "b.parquet", "branches", limit=1 << 20)


def test_empty_rows_are_skipped_and_rows_keep_their_numbers_in_the_file(base: Path):
    good, other = SNAP_ROWS.splitlines()[:2]
    bad = good.replace(",0,0,0,正常", ",0,0,3天,正常")
    text = SNAP_HEADER + good + "\n\n" + other + "\n" + ",,,,,,,,,,,,,,,,\n" + bad.replace("L1", "L3") + "\n\n"
    prepared = ingest.prepare(base, text.encode(), "x.csv", "snapshots")
    assert prepared.n_rows == 3
    assert ingest.error_report(prepared, "en").select("row", "field", "value").rows() == [(5, "dpd", "3天")]

    book = openpyxl.Workbook()
    ws = book.active
    ws.append([])  # an empty row above the header
    ws.append(SNAP_HEADER.strip().split(","))
    for line in (good, "", other, bad.replace("L1", "L3")):
        ws.append(next(csv.reader([line])) if line else [])
    buf = io.BytesIO()
    book.save(buf)
    prepared = ingest.prepare(base, buf.getvalue(), "x.xlsx", "snapshots")
    assert prepared.n_rows == 3
    assert ingest.error_report(prepared, "en").select("row", "field", "value").rows() == [(4, "dpd", "3天")]


def test_ragged_csv_says_which_line(base: Path):
    text = SNAP_HEADER + SNAP_ROWS + SNAP_ROWS.splitlines()[0].replace("L1", "L1,") + "\n"
    message = rejected(base, text, "x.csv", "snapshots")
    assert "line 5 (data row 4) has 18 fields but the header has 17" in message
    assert "truncate_ragged_lines" not in message


def test_no_continuity_warning_when_exit_rows_are_present(base: Path):
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    prepared = ingest.prepare(base, (SNAP_HEADER + APR_ROWS[0] + "\n" + L2_PAID_APR + "\n").encode(), "m4.csv",
                              "snapshots")
    assert prepared.warnings.is_empty()  # L2 exits with a paid_off row; L3 exited in March and is gone
    assert (prepared.n_vanished, prepared.n_after_exit, prepared.warning_text("zh")) == (0, 0, "")


def test_vanished_loans_and_rows_after_exit_are_warned_and_still_loaded(base: Path):
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    text = SNAP_HEADER + APR_ROWS[0] + "\n" + APR_ROWS[2] + "\n"  # L2 dropped; L3 (paid off in March) again
    prepared = ingest.prepare(base, text.encode(), "m4.csv", "snapshots")
    assert warned(prepared) == [("after_exit", "m4.csv", 2, "L3"), ("vanished", MARCH_FILE, 2, "L2")]
    assert (prepared.n_vanished, prepared.n_after_exit, prepared.n_bad) == (1, 1, 0)
    assert "1 loans active" in prepared.warning_text("en") and "1 笔贷款" in prepared.warning_text("zh")
    report = ingest.continuity_report(prepared, "en")
    assert report.columns == ["file", "row", "loan_id", "rule", "message"]
    assert "active in 2024-03 but has no row in 2024-04" in report.filter(pl.col("rule") == "vanished")["message"][0]
    assert ingest.continuity_report(prepared, "zh").columns == ["文件", "行号", "借据号", "规则", "说明"]
    result = ingest.commit(base, prepared)
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)
    assert snapshots(base).filter(pl.col("month") == dt.date(2024, 4, 1))["loan_id"].to_list() == ["L1", "L3"]
    row = ingest.history(base).row(0, named=True)
    assert (row["vanished_loans"], row["after_exit_rows"]) == (1, 1)


def test_continuity_within_one_file_and_against_a_later_stored_month(base: Path):
    # one file holding March and April: L2 vanishes between its own months
    text = SNAP_HEADER + SNAP_ROWS + APR_ROWS[0] + "\n"
    prepared = ingest.prepare(base, text.encode(), "m34.csv", "snapshots")
    assert warned(prepared) == [("vanished", "m34.csv", 2, "L2")]
    # April stored first, March loaded afterwards: March's active L2 has no April row
    load(base, SNAP_HEADER + APR_ROWS[0] + "\n", "m4.csv", "snapshots")
    prepared = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS).encode(), "m3.csv", "snapshots")
    assert warned(prepared) == [("vanished", "m3.csv", 2, "L2")]
    # replacing a month: the stored version being replaced does not count
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    fixed = SNAP_HEADER + APR_ROWS[0] + "\n" + L2_PAID_APR + "\n"
    assert ingest.prepare(base, fixed.encode(), "m4b.csv", "snapshots").warnings.is_empty()


def test_exit_in_the_file_with_rows_stored_after_it(base: Path):
    load(base, SNAP_HEADER + APR_ROWS[0] + "\n" + APR_ROWS[1] + "\n", "m4.csv", "snapshots")
    march = SNAP_ROWS.splitlines()
    text = SNAP_HEADER + march[0] + "\n" + march[1].replace(",正常,否,经营困难", ",核销,否,经营困难").replace(
        "0.6,0,0", "0.6,0,70.5").replace("70.5,1.2,0.05,45", "0,0,0,0") + "\n"  # L2 written off in March
    prepared = ingest.prepare(base, text.encode(), "m3.csv", "snapshots")
    assert prepared.n_bad == 0, prepared.problems
    assert warned(prepared) == [("after_exit", str(Path("snapshots/month=2024-04-01/part-0.parquet")), 2, "L2")]


def test_stored_months_of_partitioned_tables_only(base: Path):
    assert preparing.stored_months(base, schema.SNAPSHOTS) == []
    load(base, SNAP_HEADER + SNAP_ROWS + APR_ROWS[0] + "\n", "m34.csv", "snapshots")
    assert preparing.stored_months(base, schema.SNAPSHOTS) == [MARCH, dt.date(2024, 4, 1)]
    assert preparing.stored_months(base, schema.LOANS) == []
