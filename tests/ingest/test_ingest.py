"""Bring-your-own-data import: real file shapes load, bad inputs are refused and leave the store unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import derived, ingest
from analytics.core import schema, store
from analytics.ingest import LoadRejected, journal, mapping
from analytics.ingest.reading import IngestError
from analytics.metrics import portfolio

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
MARCH = dt.date(2024, 3, 1)

BRANCHES_CSV = "机构号,机构名称,区域\nB1,城东支行,东区\nB2,城西支行,西区\n"
LOANS_CSV = (
    "借据号,客户号,机构,产品,放款日期,到期日期,放款金额(元),年利率,期限,还款方式,担保方式,押品价值,借款人年龄,年收入,行业,内部评级\n"
    'L1,C1,B1,个人消费贷款,2023/1/5,2026/1/5,"100,000.00",4.5%,36,等额本息,信用,,30,"120,000",IT,A\n'
    "L2,C2,B2,个人住房贷款,20220310,20420310,800000,0.041,240,等额本金,抵押,1200000,41,,,AA\n"
    "L3,C3,B1,consumer,2023-06-01,2024-06-01,5000.5,0.12,12,annuity,credit,,25,,,BBB\n"
)
SNAP_HEADER = "数据日期,借据号,贷款余额(万元),逾期本金(万元),逾期利息(万元),逾期天数,五级分类,状态,技术性短期逾期,逾期原因,催收员,是否重组,押品现值(万元),本月应还(万元),本月实还(万元),处置本金(万元)\n"
SNAP_ROWS = (
    "2024/3/31,L1,\"8.123456\",0,0,0,正常,正常,否,,,否,,0.3,0.3,0\n"
    "2024/3/31,L2,70.5,1.2,0.05,45,关注,正常,否,经营困难,,否,110,0.6,0,0\n"
    "2024/3/31,L3,0,0,0,0,1,结清,否,,,否,,0.2,0.2,0\n"
)


def fingerprint(root: Path) -> dict[str, str]:
    """Every queryable file's bytes (bookkeeping folders excluded) plus the data version."""
    files = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(root.rglob("*.parquet")) if p.relative_to(root).parts[0] not in store.BOOKKEEPING}
    return files | {"__version__": store.data_version(root)}


def load(root: Path, text: str | bytes, name: str, table: str, encoding: str = "utf-8", **kw) -> ingest.LoadResult:
    data = text.encode(encoding) if isinstance(text, str) else text
    commit_kw = {k: kw.pop(k) for k in ("on_bad", "replace", "save_as") if k in kw}
    return ingest.commit(root, ingest.prepare(root, data, name, table, **kw), **commit_kw)


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    """A store with two branches and three loans imported from CSV (Chinese headers)."""
    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    return root


def snapshots(root: Path) -> pl.DataFrame:
    con = store.connect(root)
    try:
        return store.query(con, "SELECT * FROM snapshots ORDER BY month, loan_id", schema=schema.SNAPSHOTS.polars_schema)
    finally:
        con.close()


# --- shapes that load --------------------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers_labels_thousands_and_units(base: Path):
    loans = pl.read_parquet(base / "loans.parquet")
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
    loans = pl.read_parquet(root / "loans.parquet")
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
    assert pl.read_parquet(root / "branches.parquet")["branch_id"].to_list() == ["B1"]
    assert result.rows_rejected == 1


def test_parquet_and_one_file_holding_several_months(base: Path, tmp_path: Path):
    rows = [{"month": m, "loan_id": "L1", "outstanding_principal": "1000", "overdue_principal": "0",
             "overdue_interest": "0", "dpd": "0", "booked_class": "1", "status": "active", "tech_overdue": "false",
             "overdue_cause": None, "collector_id": None, "restructured": "false", "collateral_value": None,
             "amount_due": "10", "amount_paid": "10", "disposed_principal": "0"}
            for m in ("2024-01-31", "2024-02-29", "2024-03-31")]
    buf = io.BytesIO()
    pl.DataFrame(rows).with_columns(pl.col("month").str.to_date(), pl.col("dpd").cast(pl.Int64)).write_parquet(buf)
    result = load(base, buf.getvalue(), "snap.parquet", "snapshots")
    assert result.months == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), MARCH]
    assert sorted(p.name for p in (base / "snapshots").iterdir()) == [
        "month=2024-01-01", "month=2024-02-01", "month=2024-03-01"]


def test_profile_saved_with_value_maps_and_reused_next_month(base: Path):
    header = "月份,借据号,余额,逾期本金,逾期利息,DPD,风险等级,状态,技术性逾期,逾期原因,催收员,重组,押品现值,应还金额,实还金额,处置本金\n"
    march = "2024-03,L1,100,0,0,0,A,正常,N,,,N,,1,1,0\n"
    prepared = ingest.prepare(base, (header + march).encode(), "m3.csv", "snapshots")
    assert prepared.profile.columns["booked_class"] is None  # "风险等级" is not a known synonym
    profile = prepared.profile
    profile.columns["booked_class"] = "风险等级"
    profile.value_maps["booked_class"] = {"A": "1", "B": "2"}
    prepared = ingest.prepare(base, (header + march).encode(), "m3.csv", "snapshots", profile=profile)
    assert prepared.n_bad == 0, prepared.problems
    ingest.commit(base, prepared, save_as="我行快照")
    april = "2024-04,L1,90,10,1,15,B,正常,N,,,N,,1,0,0\n"
    result = load(base, header + april, "m4.csv", "snapshots", profile="我行快照")
    assert result.months == [dt.date(2024, 4, 1)]
    assert snapshots(base)["booked_class"].to_list() == [1, 2]
    assert [p.name for p in mapping.list_profiles(base, "snapshots")] == ["我行快照"]


def test_one_month_file_without_month_column(base: Path):
    header = SNAP_HEADER.split(",", 1)[1]
    rows = "".join(r.split(",", 1)[1] for r in SNAP_ROWS.splitlines(keepends=True))
    result = load(base, header + rows, "2024年3月.csv", "snapshots", month="2024-03")
    assert result.months == [MARCH]


# --- bad inputs: a clear error and the store unchanged ------------------------------------------------


def rejected(root: Path, data: bytes | str, name: str, table: str, **kw) -> str:
    before = fingerprint(root)
    with pytest.raises((IngestError, LoadRejected)) as info:
        load(root, data, name, table, **kw)
    assert fingerprint(root) == before
    return info.value.message("en")


def test_empty_file(base: Path):
    assert "empty" in rejected(base, b"", "x.csv", "snapshots")
    assert "empty" in rejected(base, SNAP_HEADER, "x.csv", "snapshots")


def test_wrong_encoding(base: Path):
    assert "UTF-8 or GBK" in rejected(base, (SNAP_HEADER + SNAP_ROWS).encode("utf-16"), "x.csv", "snapshots")


def test_missing_required_column(base: Path):
    text = "借据号,机构\nL9,B1\n"
    assert "required columns missing" in rejected(base, text, "x.csv", "loans", on_bad="quarantine")


@pytest.mark.parametrize(("row", "rule", "column", "value"), [
    ("2024/13/45,L1,1,0,0,0,正常,正常,否,,,否,,0,0,0", "parse", "month", "2024/13/45"),
    ("2024/3/31,L1,-1,0,0,0,正常,正常,否,,,否,,0,0,0", "min", "outstanding_principal", "-1"),  # as in the file (万元)
    ("2024/3/31,L1,abc,0,0,0,正常,正常,否,,,否,,0,0,0", "parse", "outstanding_principal", "abc"),
    ("2024/3/31,L9,1,0,0,0,正常,正常,否,,,否,,0,0,0", "reference", "loan_id", "L9"),
    ("2024/3/31,L1,1,0,0,3天,正常,正常,否,,,否,,0,0,0", "parse", "dpd", "3天"),
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


def test_existing_month_needs_confirmation(base: Path):
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    assert "confirm" in rejected(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")


def test_failure_in_the_middle_of_the_swap_rolls_back(base: Path, monkeypatch):
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    before = fingerprint(base)
    real, calls = journal._move, []

    def flaky(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(journal, "_move", flaky)
    with pytest.raises(OSError):
        load(base, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m.csv", "snapshots", replace=True)
    monkeypatch.undo()
    assert fingerprint(base) == before
    assert not (base / "_meta" / "journal.json").exists()


KILL = """
import os, sys
from analytics import ingest
from analytics.ingest import journal
real = journal._move
calls = []
def dying(src, dst):
    calls.append(src)
    real(src, dst)
    if len(calls) == int(sys.argv[3]):
        os._exit(9)   # killed: no except, no finally
journal._move = dying
root, path = sys.argv[1], sys.argv[2]
prepared = ingest.prepare(root, open(path, "rb").read(), "m.csv", "snapshots")
ingest.commit(root, prepared, replace=True)
"""


@pytest.mark.parametrize("moves_before_kill", [1, 2, 3])
def test_killed_load_is_rolled_back_by_the_next_operation(base: Path, tmp_path: Path, moves_before_kill: int):
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    before = fingerprint(base)
    new = tmp_path / "m.csv"
    # Two months: the March file is replaced (moved aside, new moved in), April is added.
    new.write_text(SNAP_HEADER + SNAP_ROWS.replace("70.5", "60") + SNAP_ROWS.replace("2024/3/31", "2024/4/30"),
                   encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", KILL, str(base), str(new), str(moves_before_kill)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert (base / "_meta" / "journal.json").exists()
    assert fingerprint(base) != before
    assert ingest.recover(base) is not None
    assert fingerprint(base) == before
    assert not (base / "snapshots" / "month=2024-04-01").exists()
    assert ingest.history(base).filter(pl.col("table") == "snapshots").height == 1  # the killed load is not logged


# --- quarantine, replace, restore, log ------------------------------------------------------------------


def test_quarantine_loads_valid_rows_and_keeps_the_rest_with_reasons(base: Path):
    text = SNAP_HEADER + SNAP_ROWS + "2024/3/31,L9,1,0,0,0,正常,正常,否,,,否,,0,0,0\n"
    result = load(base, text, "m.csv", "snapshots", on_bad="quarantine")
    assert (result.rows_accepted, result.rows_rejected) == (3, 1)
    assert snapshots(base)["loan_id"].to_list() == ["L1", "L2", "L3"]
    kept = pl.read_parquet(base / result.quarantine / "rows.parquet")
    assert kept["loan_id"].to_list() == ["L9"]
    assert kept["__rules__"].to_list() == ["reference"]
    assert "loans" in kept["__reasons_en__"][0]
    log = ingest.history(base).row(0, named=True)
    assert (log["rows_accepted"], log["rows_rejected"], log["quarantine"]) == (3, 1, result.quarantine)


def test_replace_keeps_previous_version_and_restore_undoes_it(base: Path):
    first = load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    v1 = fingerprint(base)
    second = load(base, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m2.csv", "snapshots", replace=True)
    assert snapshots(base)["outstanding_principal"][1] == D("600000.00")
    v2 = fingerprint(base)
    undo = ingest.restore(base, second.change_id)
    assert snapshots(base)["outstanding_principal"][1] == D("705000.00")
    assert {k: v for k, v in fingerprint(base).items() if k != "__version__"} == \
        {k: v for k, v in v1.items() if k != "__version__"}
    assert fingerprint(base)["__version__"] != v2["__version__"]
    ingest.restore(base, undo.change_id)  # a restore is itself reversible
    assert snapshots(base)["outstanding_principal"][1] == D("600000.00")
    ingest.restore(base, first.change_id)  # undo the very first load: the month disappears
    assert snapshots(base).is_empty()
    assert not (base / "snapshots" / "month=2024-03-01").exists()
    log = ingest.history(base)
    assert log["kind"].to_list() == ["restore", "restore", "restore", "load", "load", "load", "load"]
    assert log["restored_from"][0] == first.change_id


def test_loans_are_upserted_by_key_and_old_file_kept(base: Path):
    before = pl.read_parquet(base / "loans.parquet")
    text = LOANS_CSV.splitlines()[0] + "\nL2,C2,B2,个人住房贷款,20220310,20420310,900000,0.041,240,等额本金,抵押,,41,,,AA\n" \
        "L4,C4,B2,consumer,2024-01-01,2025-01-01,100,0.1,12,annuity,credit,,30,,,A\n"
    result = load(base, text, "l.csv", "loans")
    after = pl.read_parquet(base / "loans.parquet")
    assert after["loan_id"].to_list() == ["L1", "L3", "L2", "L4"]
    assert after.filter(pl.col("loan_id") == "L2")["principal"].item() == D("900000.00")
    kept = pl.read_parquet(base / "_history" / result.change_id / "loans.parquet")
    assert_frame_equal(kept, before)


def test_import_log_records_checksum_table_months_profile(base: Path):
    data = (SNAP_HEADER + SNAP_ROWS).encode("gbk")
    result = ingest.commit(base, ingest.prepare(base, data, "快照.csv", "snapshots"))
    row = ingest.history(base).row(0, named=True)
    assert row["change_id"] == result.change_id
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert (row["source"], row["table"], row["months"], row["rows_accepted"], row["status"]) == (
        "快照.csv", "snapshots", "2024-03", 3, "loaded")
    assert row["profile"] == "snapshots"
    assert json.loads((base / "_meta" / "import_log.jsonl").read_text(encoding="utf-8").splitlines()[-1])["sha256"]


def test_error_report_download_neutralises_formulas(base: Path):
    text = LOANS_CSV.replace("L3,C3,B1", "L3,C3,=cmd|' /C calc'!A0")
    prepared = ingest.prepare(base, text.encode(), "x.csv", "loans")
    csv = ingest.error_report_csv(prepared, "zh").decode("utf-8-sig")
    assert "'=cmd" in csv and "\n=cmd" not in csv and ",=cmd" not in csv
    assert csv.splitlines()[0] == "文件,行号,源列,字段,值,规则,说明"


def test_derive_failure_does_not_touch_the_loaded_data(base: Path, monkeypatch):

    monkeypatch.setattr(derived, "build", lambda root: (_ for _ in ()).throw(RuntimeError("boom")))
    result = load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    assert "boom" in result.warning
    assert snapshots(base).height == 3


def test_nothing_is_written_outside_the_data_folder(tmp_path: Path):
    root = tmp_path / "data"
    with pytest.raises(ValueError):
        journal.inside(root, "../evil")
    with pytest.raises(ValueError):
        mapping.save_profile(root, mapping.Profile(name="../../x", table="loans"))


def test_empty_store_to_dashboard_in_load_order(tmp_path: Path, demo_root: Path):
    """A bank starts from an empty folder: branches, loans, then snapshots give the same overview numbers."""
    root = tmp_path / "data"
    month = store.months(store.connect(demo_root))[-1]
    for table in ("branches", "collectors", "loans"):
        buf = io.BytesIO()
        pl.read_parquet(store.table_path(demo_root, table)).write_csv(buf)
        load(root, buf.getvalue(), f"{table}.csv", table)
    part = store.table_path(demo_root, "snapshots") / store.month_dir_name(month) / "part-0.parquet"
    buf = io.BytesIO()
    pl.read_parquet(part).write_csv(buf)
    load(root, buf.getvalue(), "snap.csv", "snapshots", month=f"{month:%Y-%m}")
    want, got = (portfolio.quality_by(store.connect(r), by=("month", "branch_id")) for r in (demo_root, root))
    assert_frame_equal(got, want.filter(pl.col("month") == month))


def test_cli_load_history_restore(base: Path, tmp_path: Path, capsys):
    path = tmp_path / "快照.csv"
    path.write_bytes((SNAP_HEADER + SNAP_ROWS).encode("gbk"))
    assert ingest.main(["--data", str(base), "load", str(path), "--table", "snapshots", "--save-profile", "p1"]) == 0
    assert "accepted=3" in capsys.readouterr().out
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--profile", "p1"]) == 1
    assert "confirm" in capsys.readouterr().err
    report = tmp_path / "errors.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text(SNAP_HEADER + "2024/3/31,L9,1,0,0,0,正常,正常,否,,,否,,0,0,0\n", encoding="utf-8")
    assert ingest.main(["--data", str(base), "load", str(bad), "--table", "snapshots", "--report", str(report)]) == 1
    assert "L9" in report.read_text(encoding="utf-8-sig")
    change_id = ingest.history(base).filter(pl.col("status") == "loaded")["change_id"][0]
    assert ingest.main(["--data", str(base), "restore", change_id]) == 0
    assert snapshots(base).is_empty()
    assert ingest.main(["--data", str(base), "history"]) == 0
    assert ingest.main(["--data", str(base), "profiles"]) == 0
    assert "p1" in capsys.readouterr().out


def test_demo_store_copy_can_be_reimported(tmp_path: Path, demo_root: Path):
    """Importing a stored month back into a copy of the demo store (replace) leaves its numbers unchanged."""
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("_*"))
    month = store.months(store.connect(root))[-1]
    part = root / "snapshots" / store.month_dir_name(month) / "part-0.parquet"
    buf = io.BytesIO()
    pl.read_parquet(part).with_columns(pl.lit(month).alias("month")).write_excel(buf)
    before = portfolio.quality_by(store.connect(root), by=("month", "branch_id", "product"))
    result = load(root, buf.getvalue(), "snap.xlsx", "snapshots", replace=True)
    assert result.rows_rejected == 0
    assert ingest.history(root).row(0, named=True)["vanished_loans"] == 0  # the demo book is continuous
    assert_frame_equal(portfolio.quality_by(store.connect(root), by=("month", "branch_id", "product")), before)


# --- adversarial review: defects found and fixed ----------------------------------------------------------


def test_bad_profile_name_refuses_the_load_before_anything_is_written(base: Path, tmp_path: Path, capsys):
    assert "Invalid profile name" in rejected(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots",
                                              save_as="../../etc/x")
    assert "Invalid profile name" in rejected(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots", save_as=" ")
    path = tmp_path / "m.csv"
    path.write_text(SNAP_HEADER + SNAP_ROWS, encoding="utf-8")
    before = fingerprint(base)
    assert ingest.main(["--data", str(base), "load", str(path), "--table", "snapshots", "--save-profile", "a/b"]) == 1
    assert "映射方案名称" in capsys.readouterr().err
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--profile", "../../etc/passwd"]) == 1
    assert "Invalid profile name" in capsys.readouterr().err
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--profile", "nosuch"]) == 1
    assert "no mapping profile 'nosuch'" in capsys.readouterr().err
    assert fingerprint(base) == before
    assert not list((base / "_meta").glob("profiles/*"))


def test_month_loaded_by_another_user_since_prepare_still_needs_confirmation(base: Path):
    data = (SNAP_HEADER + SNAP_ROWS).encode()
    first = ingest.prepare(base, data, "a.csv", "snapshots")
    second = ingest.prepare(base, data.replace(b"70.5", b"60"), "b.csv", "snapshots")
    assert first.existing_months == second.existing_months == []
    ingest.commit(base, first)
    before = fingerprint(base)
    with pytest.raises(LoadRejected, match="confirm"):
        ingest.commit(base, second)
    assert fingerprint(base) == before


def test_restore_twice_and_unknown_or_traversing_ids_are_refused(base: Path, capsys):
    result = load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    undo = ingest.restore(base, result.change_id)
    before = fingerprint(base)
    with pytest.raises(LoadRejected, match=f"already been restored \\(as {undo.change_id}\\)"):
        ingest.restore(base, result.change_id)
    for bad in ("nosuch", "../../etc", "../_meta", ""):
        with pytest.raises(LoadRejected, match="no restorable change"):
            ingest.restore(base, bad)
    assert fingerprint(base) == before
    log = ingest.history(base)
    assert log.filter(pl.col("change_id") == result.change_id)["restorable"].to_list() == [False]
    assert log.filter(pl.col("change_id") == undo.change_id)["restorable"].to_list() == [True]
    assert ingest.main(["--data", str(base), "restore", "../../etc/x"]) == 1
    assert "没有可恢复的导入记录" in capsys.readouterr().err


def test_cli_missing_file_is_a_clear_error(base: Path, tmp_path: Path, capsys):
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(tmp_path / "nope.csv"),
                        "--table", "snapshots"]) == 1
    assert "Cannot read" in capsys.readouterr().err
    assert ingest.main(["--data", str(base), "load", str(tmp_path), "--table", "snapshots"]) == 1
    assert "无法读取" in capsys.readouterr().err


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
    text = SNAP_HEADER + good + "\n\n" + other + "\n" + ",,,,,,,,,,,,,,,\n" + bad.replace("L1", "L3") + "\n\n"
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
    assert "line 5 (data row 4) has 17 fields but the header has 16" in message
    assert "truncate_ragged_lines" not in message


def test_derived_tables_are_rebuilt_while_the_store_is_locked(base: Path, monkeypatch):
    """Two loads at once: each rebuild must see its own store, never swap in tables of an older one."""

    seen = []

    def build(root):
        with journal.locked(Path(root), wait=False) as free:
            seen.append(free)

    monkeypatch.setattr(derived, "build", build)
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    second = load(base, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m2.csv", "snapshots", replace=True)
    ingest.restore(base, second.change_id)
    assert seen == [False, False, False]  # busy: each load and the restore still held the lock


# --- month-to-month continuity: warnings, never rejections -----------------------------------------------

APR_ROWS = SNAP_ROWS.replace("2024/3/31", "2024/4/30").splitlines()  # L1 active, L2 active, L3 paid_off
L2_PAID_APR = "2024/4/30,L2,0,0,0,0,正常,结清,否,,,否,,70.5,70.5,0"
MARCH_FILE = str(Path("snapshots/month=2024-03-01/part-0.parquet"))


def warned(prepared: ingest.Prepared) -> list[tuple]:
    return sorted((w["rule"], w["file"], w["row"], w["value"]) for w in prepared.warnings.iter_rows(named=True))


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


def test_cli_prints_continuity_warnings(base: Path, tmp_path: Path, capsys):
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    path = tmp_path / "m4.csv"
    path.write_text(SNAP_HEADER + APR_ROWS[0] + "\n", encoding="utf-8")
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots"]) == 0
    out = capsys.readouterr().out
    assert "Continuity warning" in out and "1 loans active" in out and "L2" in out and "accepted=1" in out
    assert ingest.history(base).row(0, named=True)["vanished_loans"] == 1
