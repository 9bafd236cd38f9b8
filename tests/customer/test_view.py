"""The customer view's queries on a hand-built store: one customer, loans at two branches, the branch scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.core import schema, store
from analytics.customer import view as cv
from tests import tiny

SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


@pytest.fixture()
def con(tmp_path):
    # customer K: L1 at B1 (overdue), L2 originated at B1 but managed by B2 since October; L3 another customer
    loans = [{"loan_id": "L1", "customer_id": "K", "branch_id": "B1"},
             {"loan_id": "L2", "customer_id": "K", "branch_id": "B1", "product": "mortgage"},
             {"loan_id": "L3", "customer_id": "Z", "branch_id": "B2"}]
    snaps = [{"month": SEP, "loan_id": "L1", "outstanding_principal": D("1000"), "dpd": 20,
              "overdue_principal": D("100"), "overdue_interest": D("10")},
             {"month": OCT, "loan_id": "L1", "outstanding_principal": D("1000"), "dpd": 50,
              "overdue_principal": D("200"), "overdue_interest": D("20")},
             {"month": SEP, "loan_id": "L2", "outstanding_principal": D("5000"), "branch_id": "B1"},
             {"month": OCT, "loan_id": "L2", "outstanding_principal": D("4900"), "branch_id": "B2"},
             {"month": OCT, "loan_id": "L3", "outstanding_principal": D("700")}]
    tiny.write_store(tmp_path, loans, snaps)
    actions = pl.DataFrame([{"month": OCT, "action_id": "A1", "loan_id": "L1", "collector_id": "K01",
                             "action_date": dt.date(2026, 10, 5), "channel": "phone", "outcome": "ptp",
                             "promised_amount": D("220"), "promised_date": dt.date(2026, 10, 20),
                             "amount_collected": D("0"), "cost": D("2")}], schema=schema.COLLECTION_ACTIONS.polars_schema)
    store.write_table(tmp_path, "collection_actions", actions)
    c = store.connect(tmp_path)
    yield c
    c.close()


def test_all_loans_of_one_customer_and_the_summary(con):
    loans = cv.customer_loans(con, customer_id="K", month=OCT)
    assert loans.select("loan_id", "branch_id", "dpd").rows() == [("L1", "B1", 50), ("L2", "B2", 0)]
    s = cv.summary(loans)
    # exposure 1,000 + 4,900; overdue 200 + 20; two branches (managing), two products
    assert (s["loans_count"], s["branches_count"], s["products_count"], s["exposure"], s["overdue_amount"],
            s["worst_dpd"]) == (2, 2, 2, 5900.0, 220.0, 50)
    assert cv.customer_actions(con, customer_id="K", month=OCT)["outcome"].to_list() == ["ptp"]


def test_find_by_customer_or_loan_id(con):
    assert cv.find_customers(con, text="L2", month=OCT)["customer_id"].to_list() == ["K"]
    found = cv.find_customers(con, text="", month=OCT)
    assert found.select("customer_id", "loans_count", "branches").rows() == [("K", 2, "B1,B2"), ("Z", 1, "B2")]


def test_a_branch_user_sees_only_its_branchs_loans(con):
    assert cv.customer_loans(con, customer_id="K", month=OCT, branches=("B2",))["loan_id"].to_list() == ["L2"]
    assert cv.customer_actions(con, customer_id="K", month=OCT, branches=("B2",)).is_empty()  # L1's action is B1's
    assert cv.find_customers(con, text="Z", month=OCT, branches=("B1",)).is_empty()  # L3 is managed by B2
    # in September L2 was still managed by B1: the month decides
    assert cv.customer_loans(con, customer_id="K", month=SEP, branches=("B2",)).is_empty()
