"""The 24-month repayment status string against hand-worked histories, and the monthly reportable events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl

from analytics.core import store
from analytics.customer import credit_report as cr
from tests import tiny

M = [dt.date(2026, m, 1) for m in range(1, 7)]


def _rows(loan, dpds, statuses=None, dues=None, start=0):
    n = len(dpds)
    return [{"loan_id": loan, "customer_id": "C" + loan, "branch_id": "B1", "product": "consumer",
             "month": M[start + i], "dpd": dpds[i], "status": (statuses or ["active"] * n)[i],
             "amount_due": (dues or [100.0] * n)[i]} for i in range(n)]


def test_status_strings_of_hand_built_histories():
    rows = (_rows("A", [0, 15, 45, 0, 0, 0])                                    # N 1 2 N N N
            + _rows("B", [0, 0, 200, 0], ["active", "active", "active", "paid_off"],
                    [100.0, 0.0, 100.0, 0.0], start=2)                          # / / N * 7 C
            + _rows("C", [95, 125, 0], ["active", "active", "written_off"])      # 4 5 G / / /
            + _rows("D", [30, 31, 180, 181, 0, 0], dues=[100.0] * 5 + [0.0]))     # 1 2 6 7 N *
    df = cr.histories_from_rows(pl.DataFrame(rows), month=M[-1], months=6)
    got = dict(zip(df["loan_id"], df["history"], strict=True))
    assert got == {"A": "N12NNN", "B": "//N*7C", "C": "45G///", "D": "1267N*"}
    assert dict(zip(df["loan_id"], df["worst"], strict=True)) == {"A": "2", "B": "7", "C": "5", "D": "7"}
    assert dict(zip(df["loan_id"], df["overdue_months"], strict=True)) == {"A": 2, "B": 1, "C": 2, "D": 4}
    assert dict(zip(df["loan_id"], df["latest"], strict=True)) == {"A": "N", "B": "C", "C": "/", "D": "*"}


def test_24_months_newest_on_the_right():
    # overdue only in the last month (DPD 61 -> 3): 23 characters before it, the first 18 before the loan existed
    rows = [{"loan_id": "E", "customer_id": "CE", "branch_id": "B1", "product": "consumer",
             "month": dt.date(2026, m, 1), "dpd": 61 if m == 6 else 0, "status": "active", "amount_due": 50.0}
            for m in range(1, 7)]
    h = cr.histories_from_rows(pl.DataFrame(rows), month=M[-1])["history"][0]
    assert h == "/" * 18 + "NNNNN3" and len(h) == 24


def test_reportable_events(tmp_path):
    sep, oct_ = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    loans = [{"loan_id": f"L{i}"} for i in range(1, 6)]
    snaps = [
        {"month": sep, "loan_id": "L1", "outstanding_principal": D("1000")},
        {"month": oct_, "loan_id": "L1", "outstanding_principal": D("1000"), "dpd": 12,
         "overdue_principal": D("100"), "overdue_interest": D("5")},                      # overdue_new
        {"month": sep, "loan_id": "L2", "outstanding_principal": D("1000"), "dpd": 20},
        {"month": oct_, "loan_id": "L2", "outstanding_principal": D("1000"), "dpd": 50},   # continuing
        {"month": sep, "loan_id": "L3", "outstanding_principal": D("1000"), "dpd": 20},
        {"month": oct_, "loan_id": "L3", "outstanding_principal": D("990")},               # cured
        {"month": sep, "loan_id": "L4", "outstanding_principal": D("1000"), "dpd": 20},
        {"month": oct_, "loan_id": "L4", "status": "paid_off"},                             # closed
        {"month": sep, "loan_id": "L5", "outstanding_principal": D("1000")},
        {"month": oct_, "loan_id": "L5", "outstanding_principal": D("900")},               # not reportable
    ]
    tiny.write_store(tmp_path, loans, snaps)
    con = store.connect(tmp_path)
    df = cr.reportable_events(con, month=oct_)
    got = {r["loan_id"]: (r["report_event"], r["status_code"], r["overdue_periods"], r["first_overdue_date"],
                          r["overdue_amount"]) for r in df.iter_rows(named=True)}
    assert got == {"L1": ("overdue_new", "1", 1, dt.date(2026, 10, 19), 105.0),   # Oct 31 - 12 days
                   "L2": ("overdue_continuing", "2", 2, dt.date(2026, 9, 11), 1.0),
                   "L3": ("cured", "*", 0, None, 0.0),
                   "L4": ("closed", "C", 0, None, 0.0)}
    hist = cr.histories(con, month=oct_, months=2)
    assert dict(zip(hist["loan_id"], hist["history"], strict=True)) == {
        "L1": "*1", "L2": "12", "L3": "1*", "L4": "1C", "L5": "**"}
    con.close()
