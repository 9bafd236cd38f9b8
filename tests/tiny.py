"""Tiny hand-built stores for unit tests: give only the columns that matter, the rest get defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from analytics.core import schema, store

SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)

LOAN_DEFAULTS = {
    "customer_id": None, "branch_id": "B1", "product": "consumer", "origination_date": dt.date(2025, 1, 15),
    "maturity_date": dt.date(2028, 1, 15), "principal": Decimal("10000.00"), "annual_rate": 0.08, "term_months": 36,
    "repayment_method": "annuity", "guarantee_type": "credit", "collateral_value": None, "borrower_age": 35,
    "annual_income": Decimal("120000.00"), "industry": "制造业", "internal_rating": "BBB",
}
SNAPSHOT_DEFAULTS = {
    "outstanding_principal": Decimal("0"), "overdue_principal": None, "overdue_interest": None, "dpd": 0,
    "booked_class": 1, "status": "active", "tech_overdue": False, "overdue_cause": None, "collector_id": None,
    "restructured": False, "collateral_value": None, "amount_due": Decimal("0"), "amount_paid": Decimal("0"),
    "disposed_principal": Decimal("0"),
}


def _frame(table: schema.Table, rows: list[dict], defaults: dict) -> pl.DataFrame:
    full = [defaults | row for row in rows]
    return pl.DataFrame(full, schema=table.polars_schema, strict=False)


def loans(rows: list[dict]) -> pl.DataFrame:
    rows = [{"customer_id": "C" + r["loan_id"]} | r for r in rows]
    return _frame(schema.LOANS, rows, LOAN_DEFAULTS)


def snapshots(rows: list[dict], loan_branches: dict[str, str] | None = None) -> pl.DataFrame:
    """Snapshot rows; the managing branch defaults to the loan's branch (``loan_branches``), else B1."""
    out = []
    for r in rows:
        r = SNAPSHOT_DEFAULTS | {"branch_id": (loan_branches or {}).get(r["loan_id"], "B1")} | r
        overdue = Decimal("1.00") if r["dpd"] > 0 else Decimal("0")
        r["overdue_principal"] = r["overdue_principal"] if r["overdue_principal"] is not None else overdue
        r["overdue_interest"] = r["overdue_interest"] if r["overdue_interest"] is not None else Decimal("0")
        out.append(r)
    return _frame(schema.SNAPSHOTS, out, {})


def branches(ids: tuple[str, ...] = ("B1", "B2")) -> pl.DataFrame:
    return pl.DataFrame({"branch_id": list(ids), "branch_name": [f"{i}支行" for i in ids],
                         "region": ["华东"] * len(ids)})


def write_store(root: Path, loan_rows: list[dict], snapshot_rows: list[dict],
                branch_ids: tuple[str, ...] = ("B1", "B2")) -> Path:
    store.write_table(root, "branches", branches(branch_ids))
    store.write_table(root, "loans", loans(loan_rows))
    branch_of = {r["loan_id"]: r.get("branch_id", LOAN_DEFAULTS["branch_id"]) for r in loan_rows}
    store.write_table(root, "snapshots", snapshots(snapshot_rows, branch_of))
    return root


# The portfolio used by several tests (values chosen so every ratio is easy to check by hand):
#   Sep: L1 1000 current | L2 2000 dpd 45 关注 | L3 3000 dpd 100 次级 | L4 4000 current      (B1: L1,L2; B2: L3,L4)
#   Oct: L1  900 current | L2 2000 dpd 75 关注 | L3 written off (3000) | L4 3900 dpd 95 booked 关注 (< floor 次级)
PORTFOLIO_LOANS = [
    {"loan_id": "L1", "branch_id": "B1", "product": "consumer"},
    {"loan_id": "L2", "branch_id": "B1", "product": "mortgage", "origination_date": dt.date(2025, 3, 2)},
    {"loan_id": "L3", "branch_id": "B2", "product": "consumer"},
    {"loan_id": "L4", "branch_id": "B2", "product": "consumer"},
]
D = Decimal
PORTFOLIO_SNAPSHOTS = [
    {"month": SEP, "loan_id": "L1", "outstanding_principal": D("1000")},
    {"month": SEP, "loan_id": "L2", "outstanding_principal": D("2000"), "dpd": 45, "booked_class": 2,
     "overdue_cause": "income_drop"},
    {"month": SEP, "loan_id": "L3", "outstanding_principal": D("3000"), "dpd": 100, "booked_class": 3,
     "overdue_cause": "business_difficulty"},
    {"month": SEP, "loan_id": "L4", "outstanding_principal": D("4000")},
    {"month": OCT, "loan_id": "L1", "outstanding_principal": D("900")},
    {"month": OCT, "loan_id": "L2", "outstanding_principal": D("2000"), "dpd": 75, "booked_class": 2,
     "overdue_cause": "income_drop"},
    {"month": OCT, "loan_id": "L3", "outstanding_principal": D("0"), "dpd": 130, "booked_class": 3,
     "status": "written_off", "disposed_principal": D("3000"), "overdue_cause": "business_difficulty"},
    {"month": OCT, "loan_id": "L4", "outstanding_principal": D("3900"), "dpd": 95, "booked_class": 2,
     "overdue_cause": "over_indebted"},
]


def portfolio_store(root: Path) -> Path:
    return write_store(root, PORTFOLIO_LOANS, PORTFOLIO_SNAPSHOTS)
