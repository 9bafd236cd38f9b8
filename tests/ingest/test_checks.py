"""Each validation rule of ``analytics.ingest.checks`` on a tiny hand-built table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics.core import schema
from analytics.ingest import checks
from analytics.ingest.problems import FILE, ROW
from tests.ingest.rows import D, M, frame, loan, snap


def rules(problems) -> list[tuple]:
    return sorted((p.rule, p.column, p.row) for p in problems)


def test_valid_rows_have_no_problem():
    df = frame("snapshots", [snap(), snap(loan_id="L2", dpd=5, overdue_principal=D("3.00"), tech_overdue=True,
                                          booked_class=1)])
    assert checks.validate_table("snapshots", df, known_keys={"loans.loan_id": ["L1", "L2"]}) == []


def test_missing_required_column():
    df = frame("branches", [{"branch_id": "B1", "branch_name": "x", "region": "r"}]).drop("region")
    [p] = checks.validate_table("branches", df, file="b.csv")
    assert (p.rule, p.column, p.row, p.file, p.table) == ("missing_column", "region", None, "b.csv", "branches")
    assert "区域" in p.message_zh and "region" in p.message_en


def test_text_cells_are_parsed_and_failures_reported_with_row_and_value():
    df = pl.DataFrame({"branch_id": ["B1"], "branch_name": ["n"], "region": ["r"]})
    assert checks.validate_table("branches", df) == []
    text = pl.DataFrame({c: ["x", "y"] for c in schema.LOANS.names}).with_columns(
        loan_id=pl.Series(["L1", "L2"]), principal=pl.Series(["1000.50", "12.345"]),
        origination_date=pl.Series(["2023-01-05", "2023/01/05"]), term_months=pl.Series(["36", "3.5"]),
        annual_rate=pl.Series(["0.05", "abc"]), maturity_date=pl.Series(["2026-01-05", "2026-01-05"]),
        product=pl.Series(["consumer", "consumer"]), repayment_method=pl.Series(["annuity", "annuity"]),
        guarantee_type=pl.Series(["credit", "credit"]), collateral_value=pl.Series(["", ""]),
        borrower_age=pl.Series(["30", "30"]), annual_income=pl.Series([None, None]),
        internal_rating=pl.Series(["A", "A"]))
    got = [(p.rule, p.column, p.row, p.value) for p in checks.validate_table("loans", text)]
    assert sorted(got) == [
        ("parse", "annual_rate", 2, "abc"),
        ("parse", "origination_date", 2, "2023/01/05"),
        ("parse", "principal", 2, "12.345"),  # three decimals are never rounded silently
        ("parse", "term_months", 2, "3.5"),
    ]


def test_wrong_dtype_is_reported_once_per_column():
    df = frame("snapshots", [snap()]).with_columns(pl.col("dpd").cast(pl.Int64))
    assert rules(checks.validate_table("snapshots", df)) == [("dtype", "dpd", None)]


def test_null_in_non_nullable_column():
    df = frame("snapshots", [snap(), snap(loan_id="L2", status=None)])
    assert rules(checks.validate_table("snapshots", df)) == [("null", "status", 2)]


def test_allowed_codes():
    df = frame("snapshots", [snap(booked_class=6), snap(loan_id="L2", status="closed")])
    assert rules(checks.validate_table("snapshots", df)) == [("allowed", "booked_class", 1), ("allowed", "status", 2)]


def test_min_and_max():
    df = frame("loans", [loan(principal=D("-1.00")), loan(loan_id="L2", annual_rate=0.5, borrower_age=17)])
    assert rules(checks.validate_table("loans", df)) == [
        ("max", "annual_rate", 2), ("min", "borrower_age", 2), ("min", "principal", 1)]


def test_negative_balance_and_dpd():
    df = frame("snapshots", [snap(outstanding_principal=D("-5.00"), overdue_principal=D("-5.00"))])
    got = rules(checks.validate_table("snapshots", df))
    assert ("min", "outstanding_principal", 1) in got and ("min", "overdue_principal", 1) in got
    df = frame("snapshots", [snap(dpd=-1)])
    assert ("min", "dpd", 1) in rules(checks.validate_table("snapshots", df))


def test_duplicate_key_reports_every_row_of_the_key():
    df = frame("snapshots", [snap(), snap(loan_id="L2"), snap()])
    problems = checks.validate_table("snapshots", df)
    assert rules(problems) == [("duplicate_key", "month,loan_id", 1), ("duplicate_key", "month,loan_id", 3)]
    assert problems[0].value == "2024-03-01|L1"


def test_references_checked_only_against_given_keys():
    df = frame("snapshots", [snap(), snap(loan_id="L9", collector_id="X")])
    assert checks.validate_table("snapshots", df) == []
    got = checks.validate_table("snapshots", df, known_keys={"loans.loan_id": ["L1"],
                                                               "collectors.collector_id": pl.Series(["Y"])})
    assert rules(got) == [("reference", "collector_id", 2), ("reference", "loan_id", 2)]
    assert "借据" in got[1].message_zh


def test_month_first_day_and_quarter_first_day():
    df = frame("snapshots", [snap(month=dt.date(2024, 3, 31))])
    assert rules(checks.validate_table("snapshots", df)) == [("month_not_first", "month", 1)]
    t = {"branch_id": "B1", "overdue_balance_target": D("1.00"), "npl_balance_target": D("1.00"),
         "npl_ratio_ceiling": 0.02, "cash_recovery_target": D("1.00"), "new_npl_ceiling": D("1.00"),
         "writeoff_quota": D("1.00")}
    df = frame("targets", [t | {"quarter": dt.date(2024, 4, 1)}, t | {"quarter": dt.date(2024, 5, 1), "branch_id": "B2"}])
    assert rules(checks.validate_table("targets", df)) == [("quarter_not_first", "quarter", 2)]


@pytest.mark.parametrize(("row", "rule"), [
    (snap(dpd=10), "dpd_overdue_mismatch"),
    (snap(overdue_interest=D("1.00")), "dpd_overdue_mismatch"),
    (snap(dpd=10, overdue_principal=D("200.00")), "overdue_exceeds_outstanding"),
    (snap(status="paid_off", outstanding_principal=D("0.00"), dpd=3, overdue_interest=D("1.00")), "paid_off_open"),
    (snap(status="written_off", disposed_principal=D("100.00")), "exit_outstanding"),
    (snap(status="written_off", outstanding_principal=D("0.00")), "disposal_without_principal"),
    (snap(disposed_principal=D("5.00")), "active_disposed"),
    (snap(tech_overdue=True), "tech_overdue_dpd"),
    (snap(tech_overdue=True, dpd=8, overdue_principal=D("1.00")), "tech_overdue_dpd"),
])
def test_snapshot_consistency(row, rule):
    problems = checks.validate_table("snapshots", frame("snapshots", [row]))
    assert [p.rule for p in problems] == [rule]
    assert problems[0].row == 1


def test_consistent_exits_pass():
    rows = [snap(status="paid_off", outstanding_principal=D("0.00")),
            snap(loan_id="L2", status="written_off", outstanding_principal=D("0.00"), disposed_principal=D("80.00"),
                 dpd=400, overdue_interest=D("12.00"), booked_class=5)]
    assert checks.validate_table("snapshots", frame("snapshots", rows)) == []


def test_maturity_before_origination():
    df = frame("loans", [loan(maturity_date=dt.date(2022, 1, 1))])
    [p] = checks.validate_table("loans", df)
    assert (p.rule, p.value) == ("maturity_before_origination", "2022-01-01 < 2023-01-05")


def test_action_outside_month():
    a = {"month": M, "action_id": "A1", "loan_id": "L1", "collector_id": "K1", "action_date": dt.date(2024, 4, 2),
         "channel": "phone", "outcome": "ptp", "promised_amount": None, "promised_date": None,
         "amount_collected": D("0.00"), "cost": D("1.00")}
    assert rules(checks.validate_table("collection_actions", frame("collection_actions", [a]))) == [
        ("action_outside_month", "action_date", 1)]


def test_rows_and_file_come_from_the_frame_when_given():
    df = frame("snapshots", [snap(dpd=-1)]).with_columns(
        pl.lit(17, pl.Int64).alias(ROW), pl.lit("x.csv").alias(FILE))
    [p] = [p for p in checks.validate_table("snapshots", df) if p.rule == "min"]
    assert (p.row, p.file) == (17, "x.csv")


def test_reported_rows_are_capped_with_the_total():
    df = frame("snapshots", [snap(loan_id=f"L{i}", status="bad") for i in range(5)])
    problems = checks.validate_table("snapshots", df, max_rows_per_rule=2)
    assert [p.row for p in problems] == [1, 2, None]
    assert problems[-1].rule == "too_many" and problems[-1].value == "5"
    assert "5" in problems[-1].message_zh and "5 rows" in problems[-1].message_en
    assert checks.problems_frame("snapshots", df).height == 5  # uncapped for the importer


def test_outlier_months_relative_to_the_file_and_the_store():
    m = dt.date
    # A 2024 file with one row typed 2014-03: runs {2014-03} (1 row) and {2024-01..2024-03} (30 rows, gaps of 1):
    # 2014-03 is 118 months before 2024-01 (> MONTH_GAP = 12), the other run has more rows.
    file = {m(2024, 1, 1): 10, m(2024, 2, 1): 10, m(2024, 3, 1): 10, m(2014, 3, 1): 1}
    assert checks.outlier_months(file) == ({m(2014, 3, 1)}, (m(2024, 1, 1), m(2024, 3, 1)))
    # Relative to the store: a store ending 2024-06 and a file of 2025-09 (15 months later) -> the file's month is
    # far even though it is the file's only month; 2025-06 (12 months later) is within the gap.
    store = [m(2024, 4, 1), m(2024, 5, 1), m(2024, 6, 1)]
    assert checks.outlier_months({m(2025, 9, 1): 5}, store) == ({m(2025, 9, 1)}, (m(2024, 4, 1), m(2024, 6, 1)))
    assert checks.outlier_months({m(2025, 6, 1): 5}, store) == (set(), (m(2024, 4, 1), m(2025, 6, 1)))
    # A back-dated block 2015 onto the 2024 store is far; months outside the absolute range take no part.
    assert checks.outlier_months({m(2015, 1, 1): 9, m(2999, 12, 1): 1, m(2024, 3, 15): 1}, store)[0] == {m(2015, 1, 1)}
    assert checks.outlier_months({}) == (set(), None)


def test_month_outlier_names_file_row_and_month():
    rows = [snap(loan_id=f"L{i}", month=dt.date(2024, 3, 1)) for i in range(3)] + [snap(loan_id="L9",
                                                                                          month=dt.date(2014, 3, 1))]
    got = checks.validate_table("snapshots", frame("snapshots", rows), file="m.csv")
    assert [(p.rule, p.column, p.row, p.file, p.value) for p in got] == [("month_outlier", "month", 4, "m.csv",
                                                                           "2014-03")]
    assert "2024-03 to 2024-03" in got[0].message_en and "12 months" in got[0].message_en
    assert "本文件的月份为 2024-03 至 2024-03" in got[0].message_zh
    stored = checks.validate_table("snapshots", frame("snapshots", rows[:1]), file="m.csv",
                                   store_months=[dt.date(2022, 1, 1), dt.date(2022, 12, 1)])
    assert [(p.rule, p.row) for p in stored] == [("month_outlier", 1)]  # 2024-03 is 15 months after 2022-12
    assert "the store and this file run from 2022-01 to 2022-12" in stored[0].message_en
