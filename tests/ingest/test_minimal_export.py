"""Imports of real exports (issue 8, items 15-18 and 20): a minimal export loads, title rows are skipped, the
managing branch is checked, unused columns are reported, a quarantine that makes a loan vanish is warned."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analytics import ingest
from analytics.core import store
from analytics.ingest import mapping, reading
from analytics.metrics import aging, coverage, portfolio
from tests.ingest import minimal
from tests.ingest.files import ROOT, SNAP_HEADER, SNAP_ROWS, load, snapshots
from tests.ingest.rows import frame, snap

D = minimal.D


@pytest.fixture()
def empty(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    load(root, minimal.branches_csv(), "机构.csv", "branches")
    return root


def overview_numbers(root: Path) -> dict[dt.date, tuple]:
    """What the overview shows (portfolio.kpi_tiles) at each month, as (total, count, overdue, NPL)."""
    con = store.connect(root)
    try:
        out = {}
        counts = portfolio.quality_by(con, by=("month",))
        for month in minimal.EXPECTED:
            tiles = dict(portfolio.kpi_tiles(con, month=month).select("kpi", "value").iter_rows())
            count = counts.filter(pl.col("month") == month)["total_count"].item()
            out[month] = (D(f"{tiles['total_balance']:.2f}"), count, D(f"{tiles['overdue_balance']:.2f}"),
                          D(f"{tiles['npl_balance']:.2f}"))
        by_branch = portfolio.quality_by(con, by=("month", "branch_id")).filter(
            (pl.col("month") == minimal.MAR) & (pl.col("total_balance") > 0))
        out["branches"] = dict(zip(by_branch["branch_id"], by_branch["total_balance"], strict=True))
        return out
    finally:
        con.close()


def check_minimal_store(root: Path) -> None:
    numbers = overview_numbers(root)
    assert {m: numbers[m] for m in minimal.EXPECTED} == minimal.EXPECTED
    assert numbers["branches"] == minimal.EXPECTED_MAR_BY_BRANCH
    loans = _loans(root).sort("loan_id")
    assert dict(zip(loans["loan_id"], loans["origination_date"], strict=True)) == minimal.EXPECTED_ORIGINATION
    assert loans["principal"].to_list() == [D("2000.00"), D("8000.00"), D("500.00"), D("3000.00"), D("700.00")]
    # the origination branch is the managing branch at the loan's first month; unmapped loan fields are empty
    assert loans["branch_id"].to_list() == ["B1", "B1", "B2", "B2", "B1"]
    assert loans["product"].null_count() == 5 and loans["maturity_date"].null_count() == 5
    snaps = snapshots(root)
    l2 = snaps.filter(pl.col("loan_id") == "L2").sort("month")
    assert l2["disposed_principal"].to_list() == [D("0.00"), D("5000.00")]  # derived: its February balance
    assert snaps["overdue_principal"].null_count() == snaps.height  # not provided: empty, never invented
    con = store.connect(root)
    try:
        assert coverage.not_provided(con) == minimal.NOT_PROVIDED
        report = aging.aging_report(con, month=minimal.MAR)
        assert report["overdue_principal"].null_count() == report.height  # "not provided", not 0
    finally:
        con.close()


def test_minimal_gbk_csv_with_a_title_line_loads_and_creates_its_loans(empty: Path):
    prepared = ingest.prepare(empty, minimal.snapshots_csv(), "快照.csv", "snapshots")
    assert prepared.source.header_row == 2 and prepared.source.encoding == "gb18030"
    assert prepared.problems.is_empty(), prepared.problems
    assert prepared.unused == ["客户经理"]
    assert prepared.not_provided == minimal.NOT_PROVIDED
    assert list(prepared.derived) == ["disposed_principal"]
    assert prepared.n_new_loans == 5
    assert any("客户经理" in n for n in prepared.notes("zh")) and any("not provided" in n for n in prepared.notes("en"))
    result = ingest.commit(empty, prepared)
    assert (result.rows_accepted, result.loans_created) == (9, 5)
    check_minimal_store(empty)
    message = ingest.history(empty)["message"][0]
    assert "客户经理" in message and "overdue_principal" in message and "creates 5 loans" in message


def test_minimal_xlsx_with_merged_title_rows_loads(empty: Path):
    source = reading.read_source(minimal.snapshots_xlsx(), "快照.xlsx")
    assert source.header_row == 3 and source.columns == minimal.HEADER
    assert source.frame["__row__"].to_list() == list(range(1, 10))
    ingest.commit(empty, ingest.prepare(empty, minimal.snapshots_xlsx(), "快照.xlsx", "snapshots"))
    check_minimal_store(empty)


def test_header_row_chosen_by_hand(empty: Path):
    wrong = reading.read_source(minimal.snapshots_xlsx(), "快照.xlsx", header_row=2)
    assert wrong.header_row == 2 and "借据号" not in wrong.columns
    prepared = ingest.prepare(empty, minimal.snapshots_xlsx(), "快照.xlsx", "snapshots", header_row=3)
    assert prepared.problems.is_empty()
    csv = ingest.prepare(empty, minimal.snapshots_csv(), "快照.csv", "snapshots", header_row=2)
    assert csv.problems.is_empty() and csv.n_rows == 9
    with pytest.raises(reading.IngestError, match="no row 99"):
        reading.read_source(minimal.snapshots_csv(), "快照.csv", header_row=99)


def test_old_reader_took_the_title_as_the_header(empty: Path):
    """Without detection the first non-empty row (the merged title) would be the header: no column maps."""
    assert reading.detect_header([(minimal.TITLE, None, None), tuple(minimal.HEADER)]) == 1
    assert reading.detect_header([("a", "b"), ("1", "2")]) == 0  # nothing known: the first row of text cells


def test_snapshot_row_naming_an_unknown_branch_is_a_reference_error(base: Path):
    text = SNAP_HEADER + SNAP_ROWS.replace("2024/3/31,L2,B2", "2024/3/31,L2,B7")
    prepared = ingest.prepare(base, text.encode(), "m.csv", "snapshots")
    ref = prepared.problems.filter(pl.col("rule") == "reference")
    assert ref.select("file", "row", "column", "value").rows() == [("m.csv", 2, "branch_id", "B7")]
    report = ingest.error_report(prepared, "en").filter(pl.col("rule") == "reference")
    assert report["source column"].to_list() == ["机构号"]


def test_managing_branch_is_required(base: Path):
    header = SNAP_HEADER.replace("机构号,", "")
    rows = "".join(r.replace(",B1,", ",", 1).replace(",B2,", ",", 1) for r in SNAP_ROWS.splitlines(keepends=True))
    prepared = ingest.prepare(base, (header + rows).encode(), "m.csv", "snapshots")
    assert "branch_id" in prepared.file_problems["column"].to_list()


def test_unused_source_columns_are_reported_not_dropped_silently(base: Path, capsys, tmp_path: Path):
    text = SNAP_HEADER.replace("\n", ",客户经理,备注\n") + "".join(
        r + ",张三,\n" for r in SNAP_ROWS.splitlines())
    prepared = ingest.prepare(base, text.encode(), "m.csv", "snapshots")
    assert prepared.unused == ["客户经理", "备注"]
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots"]) == 0
    assert "no place in the data contract and are not loaded: 客户经理, 备注" in capsys.readouterr().out
    assert "客户经理, 备注" in ingest.history(base)["message"][0]


def test_origination_month_is_the_first_of_the_month(tmp_path: Path):
    root = tmp_path / "data"
    load(root, minimal.branches_csv(), "机构.csv", "branches")
    text = "借据号,机构号,放款月份,放款金额\nL1,B1,2023-05,1000\nL2,B1,202306,2000\nL3,B2,2023年7月,3000\nL4,B2,2023/8/9,1\n"
    load(root, text, "借据.csv", "loans")
    loans = _loans(root)
    assert loans["origination_date"].to_list() == [dt.date(2023, 5, 1), dt.date(2023, 6, 1), dt.date(2023, 7, 1),
                                                   dt.date(2023, 8, 9)]
    assert loans["product"].null_count() == 4  # not provided


def test_disposed_principal_derived_from_the_stored_previous_month(empty: Path):
    feb = [r for r in minimal.ROWS if r[1] == "2024-02"]
    mar = [r for r in minimal.ROWS if r[1] == "2024-03"]
    head = ",".join(minimal.HEADER)

    def csv(rows):
        return (head + "\n" + "\n".join(",".join(minimal._quote(c) for c in r) for r in rows) + "\n").encode("gbk")

    load(empty, csv(feb), "2月.csv", "snapshots")
    load(empty, csv(mar), "3月.csv", "snapshots")
    assert snapshots(empty).filter(pl.col("status") == "written_off")["disposed_principal"].to_list() == [D("5000.00")]
    # a write-off without a previous month: no balance to derive from, so the row is reported, not invented
    lone = [["L9", "2024-03", "B1", "0", "200", "损失", "核销", "2020-01", "100", ""]]
    prepared = ingest.prepare(empty, csv(lone), "x.csv", "snapshots")
    assert prepared.problems["rule"].to_list() == ["disposal_without_principal"]


def test_invalid_loan_fields_reject_the_row_and_create_no_loan(empty: Path):
    rows = [r.copy() for r in minimal.ROWS]
    rows[2][8] = "abc"  # L3's disbursed amount (its first row)
    head = ",".join(minimal.HEADER)
    text = head + "\n" + "\n".join(",".join(minimal._quote(c) for c in r) for r in rows) + "\n"
    prepared = ingest.prepare(empty, text.encode("gbk"), "x.csv", "snapshots")
    assert sorted(prepared.problems.select("table", "row", "column", "rule").rows()) == [
        ("loans", 3, "principal", "parse"), ("snapshots", 3, "loan_id", "reference"),
        ("snapshots", 7, "loan_id", "reference")]
    report = ingest.error_report(prepared, "en").filter(pl.col("rule") == "parse")
    assert report.select("row", "source column", "field", "value").rows() == [(3, "放款金额", "principal", "abc")]
    result = ingest.commit(empty, prepared, on_bad="quarantine")
    assert result.loans_created == 4 and "L3" not in _loans(empty)["loan_id"].to_list()


def test_loans_are_created_only_for_ids_the_store_lacks(empty: Path):
    load(empty, "借据号,机构号,放款日期,放款金额,产品\nL1,B2,2023-05-20,2000,信用卡\n", "借据.csv", "loans")
    ingest.commit(empty, ingest.prepare(empty, minimal.snapshots_csv(), "快照.csv", "snapshots"))
    loans = _loans(empty).sort("loan_id")
    assert loans.height == 5
    assert loans.row(0, named=True) | {} == loans.filter(pl.col("loan_id") == "L1").row(0, named=True)
    assert loans.filter(pl.col("loan_id") == "L1").select("branch_id", "product").row(0) == ("B2", "credit_card")


def test_quarantined_row_that_makes_a_loan_vanish_is_warned(empty: Path, capsys, tmp_path: Path):
    """Old behaviour: L4's bad March row was quarantined and L4 became 无记录 in the migration matrix silently."""
    ingest.commit(empty, ingest.prepare(empty, minimal.snapshots_csv(), "快照.csv", "snapshots"))
    rows = [r.copy() for r in minimal.ROWS if r[1] == "2024-03"]
    for r in rows:
        r[1] = "2024-04"
    rows[3][4] = "六十五"  # L4: an unreadable DPD
    text = (",".join(minimal.HEADER) + "\n" + "\n".join(",".join(minimal._quote(c) for c in r) for r in rows
                                                        if r[0] not in ("L2", "L3")) + "\n")
    prepared = ingest.prepare(empty, text.encode("gbk"), "4月.csv", "snapshots")
    assert prepared.warnings.is_empty()  # the whole file is continuous
    assert prepared.quarantine_warnings()["value"].to_list() == ["L4"]
    assert "L4" in prepared.quarantine_warning_text("en") and "无记录" in prepared.quarantine_warning_text("zh")
    path = tmp_path / "4月.csv"
    path.write_bytes(text.encode("gbk"))
    assert ingest.main(["--data", str(empty), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--on-bad", "quarantine"]) == 0
    out = capsys.readouterr().out
    assert "1 loans active the month before will have no row" in out and "vanished_by_quarantine=1" in out
    assert "L4" in ingest.history(empty)["message"][0]


def test_quarantine_without_vanishing_loans_warns_nothing(base: Path):
    text = SNAP_HEADER + SNAP_ROWS + "2024/3/31,L9,B1,1,0,0,0,正常,正常,否,,,否,,0,0,0\n"
    prepared = ingest.prepare(base, text.encode(), "m.csv", "snapshots")
    assert prepared.n_bad == 1 and prepared.quarantine_warnings().is_empty()
    assert ingest.commit(base, prepared, on_bad="quarantine").vanished_by_quarantine == []


def test_mapping_options_match_the_page(empty: Path):
    head = "报表标题\n借据编号,月份,管理网点,余额(万元),DPD,等级,状态,发放月份,合同金额(万元),备注\n"
    body = "L1,2024-03,B1,0.09,0,A,在账,2023-05,0.2,x\nL2,2024-03,B2,0.5,40,B,在账,2023-06,1,\n"
    data = (head + body).encode("gbk")
    with pytest.raises(mapping.ProfileError, match="no column 'nope'"):
        ingest.prepare(empty, data, "x.csv", "snapshots", maps=["nope=DPD"])
    with pytest.raises(mapping.ProfileError, match="the file has no column"):
        ingest.prepare(empty, data, "x.csv", "snapshots", maps=["dpd=逾期"])
    with pytest.raises(mapping.ProfileError, match="COLUMN:SOURCE_VALUE=CODE"):
        ingest.prepare(empty, data, "x.csv", "snapshots", value_maps=["booked_class=1"])
    prepared = ingest.prepare(
        empty, data, "x.csv", "snapshots",
        maps=["branch_id=管理网点", "booked_class=等级", "loans.origination_date=发放月份", "loans.principal=合同金额(万元)",
              "overdue_cause=" + mapping.ALL_EMPTY],
        value_maps=["booked_class:A=1", "booked_class:B=2", "status:在账=active", "loans.principal:unused=1"])
    assert prepared.problems.is_empty(), prepared.problems
    assert prepared.unused == ["备注"] and "overdue_cause" in prepared.not_provided
    result = ingest.commit(empty, prepared, save_as="我行")
    assert result.loans_created == 2
    loans = _loans(empty).sort("loan_id")
    assert loans["principal"].to_list() == [D("2000.00"), D("10000.00")]  # 万元 from the header
    saved = json.loads((empty / "_meta" / "profiles" / "我行.json").read_text(encoding="utf-8"))
    assert saved["loan_columns"]["origination_date"] == "发放月份" and saved["value_maps"]["status"]["在账"] == "active"


def test_command_loads_the_minimal_export_in_a_subprocess(empty: Path, tmp_path: Path):
    """Done-when: snapshots only, Chinese headers, GBK, a title row in Excel, through `python -m analytics.ingest`."""
    help_text = subprocess.run([sys.executable, "-m", "analytics.ingest", "--help"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout
    assert "--map" in help_text and "--value-map" in help_text and "--header-row" in help_text
    load_help = subprocess.run([sys.executable, "-m", "analytics.ingest", "load", "--help"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout
    for option in ("--map", "--value-map", "--unit", "--save-profile", "--profile", "--header-row", "--sheet"):
        assert option in load_help
    xlsx = tmp_path / "贷款明细.xlsx"
    xlsx.write_bytes(minimal.snapshots_xlsx())
    run = subprocess.run(
        [sys.executable, "-m", "analytics.ingest", "--data", str(empty), "--lang", "en", "load", str(xlsx),
         "--table", "snapshots", "--sheet", "贷款明细", "--header-row", "3", "--map", "branch_id=机构号",
         "--value-map", "status:正常=active", "--unit", "元", "--save-profile", "minimal"],
        cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "accepted=9" in run.stdout and "loans_created=5" in run.stdout and "header row 3" in run.stdout
    assert "客户经理" in run.stdout
    check_minimal_store(empty)
    assert [p.name for p in mapping.list_profiles(empty, "snapshots")] == ["minimal"]
    # next month with the saved profile
    april = [r.copy() for r in minimal.ROWS if r[1] == "2024-03" and r[0] in ("L1", "L4", "L5")]
    for r in april:
        r[1] = "2024-04"
    csv = tmp_path / "4月.csv"
    csv.write_bytes(("\n".join([",".join(minimal.HEADER)] + [",".join(minimal._quote(c) for c in r) for r in april])
                     + "\n").encode("gbk"))
    run = subprocess.run([sys.executable, "-m", "analytics.ingest", "--data", str(empty), "load", str(csv),
                          "--table", "snapshots", "--profile", "minimal"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert store.query(store.connect(empty), "SELECT count(*)::BIGINT AS n FROM snapshots")["n"][0] == 12


def test_rows_fixture_carries_the_managing_branch():
    assert frame("snapshots", [snap()])["branch_id"].to_list() == ["B1"]


def test_profile_mapping_onto_a_column_the_contract_lacks_is_reported(base: Path):
    prepared = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS).encode(), "m.csv", "snapshots")
    profile = prepared.profile
    profile.columns["managing_officer"] = "是否重组"  # e.g. a hand-edited profile
    profile.columns["restructured"] = None
    again = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS).encode(), "m.csv", "snapshots", profile=profile)
    assert again.unused == ["是否重组"]
    assert any("是否重组 → managing_officer" in n for n in again.notes("en"))


def _loans(root) -> pl.DataFrame:
    """The loans table of the published store version (files live under _versions/, never read by path)."""
    from analytics.core import store

    con = store.connect(root)
    try:
        return store.query(con, "SELECT * FROM loans")
    finally:
        con.close()
