"""A loan moved to another branch counts in its managing branch from that month on (snapshots.branch_id);
vintage keeps it in its origination branch (loans.branch_id); the drill-down list of a branch is its number.

Book (yuan; origination branch in brackets):
  L1 [B1] Sep: B1 dpd 100 次级 5000 | Oct: moved to B2, dpd 130 次级 5000 (cause business_difficulty)
  L2 [B1] Sep: B1 current 1000      | Oct: B1 current 1000
  L3 [B2] Sep: B2 current 2000      | Oct: B2 current 2000
  L4 [B1] Sep: B1 current 400       | Oct: moved to B2, dpd 10 关注 400 (new overdue in B2)
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from analytics import derived
from analytics.core import store
from analytics.derived import builder
from analytics.metrics import causes, classification, drilldown, portfolio, rollrate, trends, vintage
from tests.tiny import OCT, SEP, write_store

D = Decimal
LOANS = [{"loan_id": "L1", "branch_id": "B1"}, {"loan_id": "L2", "branch_id": "B1"},
         {"loan_id": "L3", "branch_id": "B2"}, {"loan_id": "L4", "branch_id": "B1"}]
SNAPS = [
    {"month": SEP, "loan_id": "L1", "outstanding_principal": D(5000), "dpd": 100, "booked_class": 3,
     "overdue_cause": "business_difficulty"},
    {"month": SEP, "loan_id": "L2", "outstanding_principal": D(1000)},
    {"month": SEP, "loan_id": "L3", "outstanding_principal": D(2000)},
    {"month": SEP, "loan_id": "L4", "outstanding_principal": D(400)},
    {"month": OCT, "loan_id": "L1", "branch_id": "B2", "outstanding_principal": D(5000), "dpd": 130,
     "booked_class": 3, "overdue_cause": "business_difficulty"},
    {"month": OCT, "loan_id": "L2", "outstanding_principal": D(1000)},
    {"month": OCT, "loan_id": "L3", "outstanding_principal": D(2000)},
    {"month": OCT, "loan_id": "L4", "branch_id": "B2", "outstanding_principal": D(400), "dpd": 10,
     "booked_class": 2, "overdue_cause": "income_drop"},
]


@pytest.fixture(params=["derived", "inline"])
def con(request, tmp_path):
    root = write_store(tmp_path / "data", LOANS, SNAPS)
    if request.param == "derived":
        derived.build(root)
    c = store.connect(root)
    yield c
    c.close()


def _by_branch(con, month) -> dict[str, tuple]:
    df = portfolio.quality_by(con, by=("month", "branch_id")).filter(pl.col("month") == month)
    return {r["branch_id"]: (r["total_balance"], r["npl_balance"], r["overdue_balance"], r["total_count"])
            for r in df.iter_rows(named=True)}


def test_moved_loan_counts_in_its_new_branch_from_that_month(con):
    assert _by_branch(con, SEP) == {"B1": (D(6400), D(5000), D(5000), 3), "B2": (D(2000), D(0), D(0), 1)}
    assert _by_branch(con, OCT) == {"B1": (D(1000), D(0), D(0), 1), "B2": (D(7400), D(5000), D(5400), 3)}
    b2 = portfolio.quality_by(con, by=("month",), branches=("B2",))
    assert b2["npl_balance"].to_list() == [D(0), D(5000)]


def test_vintage_keeps_the_origination_branch(con):
    facts = builder.compute(con, "loan_facts")
    assert facts.filter(pl.col("loan_id") == "L1")["branch_id"].item() == "B1"
    b1 = vintage.vintage_curves(con, measure="ever", threshold=90, branches=("B1",), include_left_censored=True)
    assert b1["cohort_count"].max() == 3  # L1, L2, L4 (all originated 2025-01 in B1)
    b2 = vintage.vintage_curves(con, measure="pit", threshold=90, branches=("B2",), include_left_censored=True)
    assert b2["num_count"].sum() == 0  # L1 is 90+ in B2's book, but its vintage is B1's
    b1_pit = vintage.vintage_curves(con, measure="pit", threshold=90, branches=("B1",), include_left_censored=True)
    assert b1_pit["num_count"].sum() == 2  # L1 at Sep and Oct


def test_every_breakdown_uses_the_managing_branch(con):
    floor = classification.below_floor_by_branch(con, month=OCT)
    assert dict(zip(floor["branch_id"], floor["total_count"], strict=True)) == {"B1": 1, "B2": 3}
    cross = causes.cross_table(con, month=OCT, dimension="branch", basis="balance")
    assert cross.filter(pl.col("branch_id") == "B2")["total"].item() == D(5400)
    assert cross.filter(pl.col("branch_id") == "B1").is_empty()
    new = trends.new_overdue_base(con, month_from=OCT, month_to=OCT)
    assert new.select("branch_id", "new_overdue_count").rows() == [("B2", 1)]
    new5 = trends.new_overdue_base(con, month_from=OCT, month_to=OCT, dpd_min=5)
    assert new5.select("branch_id", "new_overdue_count").rows() == [("B2", 1)]
    flows = rollrate.transition_flows(con, branches=("B2",), month_from=OCT, month_to=OCT)
    assert flows["total_count"].sum() == 3  # L1, L3, L4 at their Oct branch
    migration = classification.transition_base(con, start_month=SEP, end_month=OCT, branches=("B1",))
    assert migration["total_count"].sum() == 3  # on book in B1 at the start: L1, L2, L4


def test_drilldown_list_of_a_branch_equals_its_number(con):
    spec = drilldown.DrillSpec(month=OCT, branches=("B2",), classes=(3, 4, 5))
    listed = drilldown.loans_behind(con, spec)
    assert listed.select("loan_id", "branch_id", "outstanding_principal").rows() == [("L1", "B2", D(5000))]
    number = _by_branch(con, OCT)["B2"]
    assert listed["outstanding_principal"].sum() == number[1]
    everything = drilldown.loans_behind(con, drilldown.DrillSpec(month=OCT, branches=("B2",)))
    assert everything.height == number[3] and everything["outstanding_principal"].sum() == number[0]
    assert drilldown.loans_behind(con, drilldown.DrillSpec(month=OCT, branches=("B1",)))["loan_id"].to_list() == ["L2"]
    origination = drilldown.loans_behind(con, drilldown.DrillSpec(month=OCT, branches=("B1",),
                                                                 branch_basis="origination"))
    assert sorted(origination["loan_id"]) == ["L1", "L2", "L4"]
    history = drilldown.loan_history(con, loan_id="L1")
    assert history["branch_id"].to_list() == ["B1", "B2"]


def test_migration_drill_lists_the_loans_of_the_start_branch(con):
    """The supervisory migration counts a loan in its branch at the period start; its drill does the same."""
    base = classification.transition_base(con, start_month=SEP, end_month=OCT, branches=("B1",))
    cell = base.filter((pl.col("start_class") == 3) & (pl.col("end_state") == "3"))
    assert cell["total_count"].item() == 1
    spec = drilldown.DrillSpec(month=OCT, prev_month=SEP, prev_classes=(3,), classes=(3,), branches=("B1",),
                               branch_basis="previous")
    listed = drilldown.loans_behind(con, spec)
    assert listed.select("loan_id", "branch_id").rows() == [("L1", "B1")]
    assert listed["outstanding_principal"].sum() == cell["end_balance"].item()
    with pytest.raises(ValueError, match="prev_month"):
        drilldown.DrillSpec(month=OCT, branches=("B1",), branch_basis="previous")
