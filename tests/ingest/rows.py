"""Tiny hand-built contract rows for the validation tests: give only the columns that matter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from analytics.core import schema, store

D = Decimal


M = dt.date(2024, 3, 1)


def snap(**over) -> dict:
    row = {
        "month": M, "loan_id": "L1", "branch_id": "B1", "outstanding_principal": D("100.00"), "overdue_principal": D("0.00"),
        "overdue_interest": D("0.00"), "dpd": 0, "booked_class": 1, "status": "active", "tech_overdue": False,
        "overdue_cause": None, "collector_id": None, "restructured": False, "collateral_value": None,
        "amount_due": D("10.00"), "amount_paid": D("10.00"), "disposed_principal": D("0.00"),
    }
    return row | over


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema.TABLES[table].polars_schema)


def loan(**over) -> dict:
    row = {
        "loan_id": "L1", "customer_id": "C1", "branch_id": "B1", "product": "consumer",
        "origination_date": dt.date(2023, 1, 5), "maturity_date": dt.date(2026, 1, 5), "principal": D("1000.00"),
        "annual_rate": 0.05, "term_months": 36, "repayment_method": "annuity", "guarantee_type": "credit",
        "collateral_value": None, "borrower_age": 30, "annual_income": None, "industry": None, "internal_rating": "A",
    }
    return row | over


JAN, FEB, APR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 4, 1)


def continuity_store(root: Path) -> None:
    """Jan, Feb and Apr (no March). Rows are written per month in this order (row numbers within each file)."""
    store.write_table(root, "branches", frame("branches", [{"branch_id": "B1", "branch_name": "n", "region": "r"}]))
    store.write_table(root, "loans", frame("loans", [loan(loan_id=f"L{i}") for i in range(1, 7)]))
    paid = {"status": "paid_off", "outstanding_principal": D("0.00")}
    written_off = {"status": "written_off", "outstanding_principal": D("0.00"), "disposed_principal": D("100.00")}
    rows = [
        snap(month=JAN, loan_id="L1"), snap(month=JAN, loan_id="L2"), snap(month=JAN, loan_id="L4", **paid),
        snap(month=JAN, loan_id="L5"), snap(month=JAN, loan_id="L6"),
        # Feb: L2 vanished (active in Jan, no row, no exit row); L4 has a row after its exit; L5 exits properly
        snap(month=FEB, loan_id="L1"), snap(month=FEB, loan_id="L3"), snap(month=FEB, loan_id="L4", **paid),
        snap(month=FEB, loan_id="L5", **written_off), snap(month=FEB, loan_id="L6"),
        # Apr: L3 and L6 have no row, but March is missing, so Feb -> Apr is not a consecutive pair
        snap(month=APR, loan_id="L1"),
    ]
    store.write_table(root, "snapshots", frame("snapshots", rows))


def month_file(month: dt.date) -> str:
    return str(Path(f"snapshots/month={month:%Y-%m-%d}/part-0.parquet"))
