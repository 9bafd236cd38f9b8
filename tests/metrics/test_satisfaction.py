"""Return visits and satisfaction by branch and quarter, on a hand-built store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.core import schema, store
from analytics.metrics import programme
from analytics.metrics import satisfaction as sat
from tests import tiny

JUL, AUG, SEP, OCT = (dt.date(2026, m, 1) for m in (7, 8, 9, 10))
Q3 = JUL


def _visit(i, customer, branch, month, outcome="reached", score=None, complaint=None, loan=None):
    return {"month": month, "visit_id": f"V{i}", "customer_id": customer, "loan_id": loan, "branch_id": branch,
            "visit_date": month + dt.timedelta(days=4), "visit_channel": "phone", "visit_outcome": outcome,
            "satisfaction_score": score, "complaint": complaint}


@pytest.fixture()
def con(tmp_path):
    # Q3: B1 has 3 overdue customers (CL1, CL2, CL3), B2 one (CL4)
    loans = [{"loan_id": f"L{i}", "branch_id": "B1" if i < 4 else "B2"} for i in range(1, 5)]
    snaps = [{"month": JUL, "loan_id": "L1", "outstanding_principal": D("100"), "dpd": 10},
             {"month": AUG, "loan_id": "L2", "outstanding_principal": D("100"), "dpd": 40},
             {"month": SEP, "loan_id": "L3", "outstanding_principal": D("100"), "dpd": 5},
             {"month": SEP, "loan_id": "L4", "outstanding_principal": D("100"), "dpd": 5},
             {"month": OCT, "loan_id": "L4", "outstanding_principal": D("100"), "dpd": 0}]
    tiny.write_store(tmp_path, loans, snaps)
    visits = [
        _visit(1, "CL1", "B1", JUL, score=5), _visit(2, "CL1", "B1", AUG, score=4),   # CL1 twice
        _visit(3, "CL2", "B1", AUG, score=2, complaint=True),
        _visit(4, "CL9", "B1", SEP, score=5),                 # a post-loan visit to a customer not overdue
        _visit(5, "CL3", "B1", SEP, outcome="no_answer"),
        _visit(6, "CL4", "B2", SEP, score=3),
        _visit(7, "CL4", "B2", OCT, score=5),                 # Q4
    ]
    store.write_table(tmp_path, "return_visits", pl.DataFrame(visits, schema=schema.RETURN_VISITS.polars_schema))
    c = store.connect(tmp_path)
    yield c
    c.close()


def test_rates_by_branch_and_quarter(con):
    df = sat.by_branch_quarter(con, quarter_from=Q3, quarter_to=OCT)
    rows = {(r["branch_id"], r["quarter"]): r for r in df.iter_rows(named=True)}
    b1 = rows[("B1", Q3)]
    # overdue customers 3; visited among them CL1, CL2, CL3 = 3 -> revisit 100%
    # visits 5, reached 4 (V1-V4), surveyed 4, satisfied (>= 4) V1, V2, V4 = 3 -> 75%; complaints 1 of 4 = 25%
    assert (b1["overdue_customers_count"], b1["visited_customers_count"], b1["visits_count"], b1["reached_count"],
            b1["surveyed_count"], b1["satisfied_count"], b1["complaints_count"]) == (3, 3, 5, 4, 4, 3, 1)
    assert (b1["revisit_rate"], b1["satisfaction_rate"], b1["complaint_rate"]) == (1.0, 0.75, 0.25)
    assert b1["satisfaction_status"] == "missed"
    b2 = rows[("B2", Q3)]  # 1 overdue, visited; 1 survey scored 3 -> 0%
    assert (b2["revisit_rate"], b2["satisfaction_rate"], b2["complaint_rate"]) == (1.0, 0.0, 0.0)
    q4 = rows[("B2", OCT)]  # no overdue customer in Q4: no revisit rate; 1 of 1 satisfied
    assert q4["revisit_rate"] is None and q4["satisfaction_rate"] == 1.0 and q4["satisfaction_status"] == "met"
    tot = sat.totals(df)
    q3 = tot.filter(pl.col("quarter") == Q3).row(0, named=True)
    # summed before dividing: satisfied 3 + 0 = 3 of 5 surveys = 60%; revisit 4 / 4
    assert (q3["satisfaction_rate"], q3["revisit_rate"], q3["complaint_rate"]) == (0.6, 1.0, 0.2)
    assert sat.by_branch_quarter(con, quarter_from=Q3, quarter_to=Q3, branches=("B2",))["branch_id"].to_list() == ["B2"]


def test_satisfaction_feeds_the_programme_evaluation(con):
    # Jul-Oct: 6 surveys, satisfied V1, V2, V4, V7 = 4 -> 66.67% against 85%
    assert sat.period_rate(con, month_from=JUL, month_to=OCT) == (pytest.approx(4 / 6), 6)
    df = programme.programme_status(con, as_of=OCT, start_month=JUL)
    row = df.filter(pl.col("target") == "satisfaction").row(0, named=True)
    assert row["value"] == pytest.approx(4 / 6) and row["goal"] == 0.85 and row["status"] == "missed"
    assert row["loans_count"] == 6
