"""A tiny hand-built loan book shared by the derive, vintage and roll-rate tests.

Months 2024-01 … 2024-04 (the store window). Balances in yuan; DPD per month-end; "-" = no row.

| loan | branch/product | orig       | principal | Jan      | Feb      | Mar          | Apr                 |
|------|----------------|------------|-----------|----------|----------|--------------|---------------------|
| L1   | B1 consumer    | 2024-01-15 | 1000      | 0 / 1000 | 15 / 950 | 45 / 950     | 75 / 950            |
| L2   | B1 consumer    | 2024-01-10 | 2000      | 0 / 2000 | 0 / 1900 | paid off     | -                   |
| L3   | B2 mortgage    | 2024-01-20 | 3000      | 0 / 3000 | 40 / 3000| 70 / 3000    | written off (3000)  |
| L4   | B1 consumer    | 2024-02-05 | 500       | -        | 0 / 500  | 20 / 480     | 0 / 460             |
| L5   | B1 consumer    | 2023-12-10 | 800       | 10 / 780 | 0 / 760  | 0 / 740      | 0 / 720             |
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from analytics.core import schema, store

JAN, FEB, MAR, APR = (dt.date(2024, m, 1) for m in (1, 2, 3, 4))
DEC23 = dt.date(2023, 12, 1)

LOANS = [  # loan_id, branch, product, origination, principal
    ("L1", "B1", "consumer", dt.date(2024, 1, 15), 1000),
    ("L2", "B1", "consumer", dt.date(2024, 1, 10), 2000),
    ("L3", "B2", "mortgage", dt.date(2024, 1, 20), 3000),
    ("L4", "B1", "consumer", dt.date(2024, 2, 5), 500),
    ("L5", "B1", "consumer", dt.date(2023, 12, 10), 800),
]
SNAPSHOTS = [  # month, loan_id, dpd, outstanding, status, disposed
    (JAN, "L1", 0, 1000, "active", 0), (FEB, "L1", 15, 950, "active", 0),
    (MAR, "L1", 45, 950, "active", 0), (APR, "L1", 75, 950, "active", 0),
    (JAN, "L2", 0, 2000, "active", 0), (FEB, "L2", 0, 1900, "active", 0), (MAR, "L2", 0, 0, "paid_off", 0),
    (JAN, "L3", 0, 3000, "active", 0), (FEB, "L3", 40, 3000, "active", 0),
    (MAR, "L3", 70, 3000, "active", 0), (APR, "L3", 0, 0, "written_off", 3000),
    (FEB, "L4", 0, 500, "active", 0), (MAR, "L4", 20, 480, "active", 0), (APR, "L4", 0, 460, "active", 0),
    (JAN, "L5", 10, 780, "active", 0), (FEB, "L5", 0, 760, "active", 0),
    (MAR, "L5", 0, 740, "active", 0), (APR, "L5", 0, 720, "active", 0),
]


def D(x: float | int) -> Decimal:
    return Decimal(x).quantize(Decimal("0.01"))


def tables() -> dict[str, pl.DataFrame]:
    branches = pl.DataFrame({"branch_id": ["B1", "B2"], "branch_name": ["一支行", "二支行"], "region": ["R", "R"]})
    loans = pl.DataFrame({
        "loan_id": [r[0] for r in LOANS], "customer_id": [f"C{r[0]}" for r in LOANS],
        "branch_id": [r[1] for r in LOANS], "product": [r[2] for r in LOANS],
        "origination_date": [r[3] for r in LOANS], "maturity_date": [dt.date(2030, 1, 1)] * len(LOANS),
        "principal": [D(r[4]) for r in LOANS], "annual_rate": [0.05] * len(LOANS),
        "term_months": [72] * len(LOANS), "repayment_method": ["annuity"] * len(LOANS),
        "guarantee_type": ["credit"] * len(LOANS), "collateral_value": [None] * len(LOANS),
        "borrower_age": [40] * len(LOANS), "annual_income": [None] * len(LOANS),
        "industry": [None] * len(LOANS), "internal_rating": ["A"] * len(LOANS),
    })
    n = len(SNAPSHOTS)
    branch_of = {r[0]: r[1] for r in LOANS}
    snaps = pl.DataFrame({
        "month": [r[0] for r in SNAPSHOTS], "loan_id": [r[1] for r in SNAPSHOTS],
        "branch_id": [branch_of[r[1]] for r in SNAPSHOTS],
        "outstanding_principal": [D(r[3]) for r in SNAPSHOTS], "overdue_principal": [D(0)] * n,
        "overdue_interest": [D(0)] * n, "dpd": [r[2] for r in SNAPSHOTS],
        "booked_class": [1] * n, "status": [r[4] for r in SNAPSHOTS], "tech_overdue": [False] * n,
        "overdue_cause": [None] * n, "collector_id": [None] * n, "restructured": [False] * n,
        "collateral_value": [None] * n, "amount_due": [D(0)] * n, "amount_paid": [D(0)] * n,
        "disposed_principal": [D(r[5]) for r in SNAPSHOTS],
    })
    return {
        "branches": schema.conform(branches, schema.BRANCHES),
        "loans": schema.conform(loans, schema.LOANS),
        "snapshots": schema.conform(snaps, schema.SNAPSHOTS).sort("month", "loan_id"),
    }


def write(root: Path) -> Path:
    """The tiny book as a store under ``root`` (no derived tables)."""
    for name, df in tables().items():
        store.write_table(root, name, df)
    return root
