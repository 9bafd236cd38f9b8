import datetime as dt

import pytest

from analytics.core import store
from analytics.metrics import drilldown
from analytics.metrics.drilldown import DrillSpec
from tests.tiny import OCT, SEP, portfolio_store


@pytest.fixture()
def con(tmp_path):
    c = store.connect(portfolio_store(tmp_path))
    yield c
    c.close()


def ids(con, **kw) -> list[str]:
    return drilldown.loans_behind(con, DrillSpec(**kw))["loan_id"].to_list()


def test_overdue_loans_largest_first(con):
    assert ids(con, month=OCT, dpd_min=1) == ["L4", "L2"]


def test_dpd_range_classes_and_portfolio_filters(con):
    assert ids(con, month=SEP, dpd_min=31, dpd_max=60) == ["L2"]
    assert ids(con, month=SEP, classes=(3, 4, 5)) == ["L3"]
    assert ids(con, month=SEP, branches=("B1",)) == ["L2", "L1"]
    assert ids(con, month=SEP, products=("mortgage",)) == ["L2"]
    assert ids(con, month=SEP, causes=("income_drop",)) == ["L2"]


def test_below_floor_and_exits(con):
    assert ids(con, month=OCT, below_floor=True) == ["L4"]
    rows = drilldown.loans_behind(con, DrillSpec(month=OCT, statuses=("written_off",)))
    assert rows["loan_id"].to_list() == ["L3"] and rows["floor_class"][0] == 3


def test_transitions_use_previous_state(con):
    # Overdue at both month ends: L2 only (L4 was current in September).
    assert ids(con, month=OCT, dpd_min=1, prev_month=SEP, prev_dpd_min=1) == ["L2"]
    # Newly overdue: current in September, overdue in October.
    assert ids(con, month=OCT, dpd_min=1, prev_month=SEP, prev_dpd_max=0) == ["L4"]
    rows = drilldown.loans_behind(con, DrillSpec(month=OCT, prev_month=SEP, prev_classes=(3,), statuses=()))
    assert rows["loan_id"].to_list() == ["L3"] and str(rows["prev_outstanding"][0]) == "3000.00"


def test_cohort_and_ever_reached(con):
    assert ids(con, month=SEP, cohort_start=dt.date(2025, 3, 1), cohort_end=dt.date(2025, 3, 1)) == ["L2"]
    assert ids(con, month=OCT, ever_dpd_min=91, statuses=()) == ["L4", "L3"]
    assert ids(con, month=SEP, ever_dpd_min=91) == ["L3"]


def test_loan_history_and_find(con):
    hist = drilldown.loan_history(con, loan_id="L3")
    assert hist["month"].to_list() == [SEP, OCT]
    assert hist["status"].to_list() == ["active", "written_off"]
    loans = drilldown.loans_behind(con, DrillSpec(month=SEP))
    assert drilldown.find(loans, "L3")["loan_id"].to_list() == ["L3"]
    assert drilldown.find(loans, "CL1")["loan_id"].to_list() == ["L1"]
    assert drilldown.find(loans, ".*").is_empty()  # text, not a pattern
