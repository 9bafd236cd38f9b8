"""Customer grading: the default rule table on hand-built feature rows, a custom table, the summary, the store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.core import store
from analytics.customer import grading as gr
from tests import tiny

BASE = {"customer_id": "", "branch_id": "B1", "collector_id": None, "loans_count": 1, "balance": 100.0,
        "overdue_amount": 0.0, "dpd": 0, "worst_dpd": 30, "overdue_months": 1, "pay_ratio": 0.95, "cause": None,
        "contacts": 0, "reached": 0, "ptp": 0, "payments": 0, "refused": 0, "lost_contact": 0}
CASES = {  # customer -> (changes, expected grade)
    "c1": ({"cause": "fraud"}, "D"),
    "c2": ({"lost_contact": 2}, "D"),
    "c3": ({"cause": "willingness"}, "C"),
    "c4": ({"refused": 2}, "C"),
    "c5": ({"worst_dpd": 120, "pay_ratio": 0.05}, "C"),       # 90+ and paying under 10%
    "c6": ({"cause": "illness", "pay_ratio": 0.9}, "B"),       # temporary hardship
    "c7": ({"pay_ratio": 0.5}, "B"),                           # paying half
    "c8": ({}, "A"),                                           # late, but pays 95%
    "c9": ({"worst_dpd": 0}, "current"),                       # never overdue in the lookback
    "c10": ({"pay_ratio": None, "worst_dpd": 10}, "A"),        # nothing due: no pay-ratio rule fires
    "c11": ({"worst_dpd": 120, "pay_ratio": 0.5}, "B"),        # 90+ but paying half: not C
}


def _features():
    return pl.DataFrame([BASE | {"customer_id": c} | ch for c, (ch, _) in CASES.items()],
                        schema=gr.FEATURES_SCHEMA)


def test_default_rules_grade_by_ability_and_willingness():
    out = gr.apply(_features(), gr.default_rules())
    assert dict(zip(out["customer_id"], out["grade"], strict=True)) == {c: g for c, (_, g) in CASES.items()}
    actions = dict(zip(out["customer_id"], out["action"], strict=True))
    assert (actions["c1"], actions["c3"], actions["c6"], actions["c8"], actions["c9"]) == (
        "legal", "escalate", "negotiate", "remind", "none")


def test_a_custom_rule_table():
    rules = gr.validate({"rules": [{"grade": "D", "all": [{"field": "dpd", "op": ">=", "value": 60}]},
                                   {"grade": "A", "all": []}], "actions": {"D": "escalate"}})
    f = _features().with_columns(pl.Series("dpd", [70] + [0] * (len(CASES) - 1), dtype=pl.Int32))
    out = gr.apply(f, rules)
    assert out["grade"].to_list()[:2] == ["D", "A"] and out["action"][0] == "escalate"


@pytest.mark.parametrize("bad, word", [
    ({"rules": [{"grade": "E"}]}, "rule 1"),
    ({"rules": [{"grade": "A", "all": [{"field": "nope", "op": ">", "value": 1}]}]}, "unknown field"),
    ({"rules": [{"grade": "A", "all": [{"field": "cause", "op": "in", "value": ["bogus"]}]}]}, "unknown cause"),
    ({"rules": [{"grade": "A", "any": [{"field": "dpd", "op": "~", "value": 1}]}]}, "op"),
    ({"lookback_months": 0}, "lookback_months"),
    ({"actions": {"A": "shout"}}, "actions"),
])
def test_bad_rule_tables_are_refused(bad, word):
    with pytest.raises(gr.GradingError, match=word):
        gr.validate(bad)


def test_summary_counts_and_balance_per_grade_and_branch():
    f = _features().with_columns(pl.Series("balance", [float(i) for i in range(1, len(CASES) + 1)]),
                                 pl.Series("branch_id", ["B1"] * 6 + ["B2"] * 5))
    s = gr.summary(gr.apply(f, gr.default_rules()))
    # D: c1 (1) + c2 (2) = 3 | C: c3 3 + c4 4 + c5 5 = 12 | B: c6 6 + c7 7 + c11 11 = 24 | A: c8 8 + c10 10 = 18
    assert s.select("grade", "customers_count", "balance").rows() == [
        ("A", 2, 18.0), ("B", 3, 24.0), ("C", 3, 12.0), ("D", 2, 3.0), ("current", 1, 9.0)]
    assert s["share_balance"].sum() == pytest.approx(1.0)
    by = gr.summary(gr.apply(f, gr.default_rules()), "branch_id")
    b2 = by.filter(pl.col("branch_id") == "B2")  # c7 B, c8 A, c9 current, c10 A, c11 B
    assert b2.select("grade", "customers_count").rows() == [("A", 2), ("B", 2), ("C", 0), ("D", 0), ("current", 1)]


SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


def test_features_from_the_store_one_customer_many_loans(tmp_path):
    # customer K holds L1 (B1) and L2 (B2); L3 is a loan without a customer id (its own customer)
    loans = [{"loan_id": "L1", "customer_id": "K", "branch_id": "B1"},
             {"loan_id": "L2", "customer_id": "K", "branch_id": "B2", "product": "mortgage"},
             {"loan_id": "L3", "customer_id": None}]
    snaps = [
        {"month": SEP, "loan_id": "L1", "outstanding_principal": D("1000"), "dpd": 40, "amount_due": D("100"),
         "amount_paid": D("20"), "overdue_cause": "income_drop"},
        {"month": OCT, "loan_id": "L1", "outstanding_principal": D("1000"), "dpd": 70, "amount_due": D("100"),
         "amount_paid": D("0")},
        {"month": OCT, "loan_id": "L2", "outstanding_principal": D("5000"), "amount_due": D("300"),
         "amount_paid": D("300")},
        {"month": OCT, "loan_id": "L3", "outstanding_principal": D("700")},
    ]
    tiny.write_store(tmp_path, loans, snaps)
    con = store.connect(tmp_path)
    f = gr.features(con, month=OCT)
    k = f.filter(pl.col("customer_id") == "K").row(0, named=True)
    # pay ratio (20 + 0 + 300) / (100 + 100 + 300) = 0.64; branch of the largest loan (L2, B2)
    assert (k["loans_count"], k["balance"], k["dpd"], k["worst_dpd"], k["overdue_months"], k["branch_id"],
            k["cause"]) == (2, 6000.0, 70, 70, 2, "B2", "income_drop")
    assert k["pay_ratio"] == pytest.approx(0.64)
    assert f.filter(pl.col("customer_id") == "L3").height == 1  # no customer id: the loan is the customer
    g = gr.grades(con, month=OCT)
    assert dict(zip(g["customer_id"], g["grade"], strict=True)) == {"K": "B", "L3": "current"}
    # a user of B1 only sees the B1 loan of K: its features from L1 alone (pay ratio 20 / 200 = 0.1)
    b1 = gr.features(con, month=OCT, branches=("B2",)).vstack(gr.features(con, month=OCT, branches=("B1",)))
    assert b1["customer_id"].to_list() == ["K", "K", "L3"] and b1["balance"].to_list() == [5000.0, 1000.0, 700.0]
    b1 = b1[1:]
    assert b1["pay_ratio"][0] == pytest.approx(0.1)
    con.close()
