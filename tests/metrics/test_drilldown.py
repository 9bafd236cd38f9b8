import datetime as dt

import pytest
from polars.testing import assert_frame_equal

from analytics.core import store
from analytics.core.months import add_months
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


# --- row modes ------------------------------------------------------------------------------------------


def test_rows_at_month_is_the_default(con):
    assert DrillSpec(month=OCT).rows == "at_month"
    rows = drilldown.loans_behind(con, DrillSpec(month=OCT, statuses=(), rows="at_month"))
    assert rows["loan_id"].to_list() == ["L4", "L2", "L1", "L3"]  # 3900, 2000, 900, 0 (written off)
    assert rows["status"].to_list() == ["active", "active", "active", "written_off"]


def test_rows_first_exit(con):
    rows = drilldown.loans_behind(con, DrillSpec(month=OCT, prev_month=SEP, statuses=(), rows="first_exit"))
    assert rows["loan_id"].to_list() == ["L3"]
    row = rows.row(0, named=True)
    assert row["status"] == "written_off" and str(row["disposed_principal"]) == "3000.00"
    assert str(row["prev_outstanding"]) == "3000.00" and row["prev_dpd"] == 100
    # nothing left the book up to September
    assert ids(con, month=SEP, prev_month=dt.date(2026, 8, 1), statuses=(), rows="first_exit") == []


@pytest.fixture()
def book(tmp_path):
    from tests.derived_book import write

    c = store.connect(write(tmp_path / "book"))
    yield c
    c.close()


def test_rows_latest(book):
    from tests.derived_book import APR, JAN, MAR

    # The January cohort at April: L1 on book (950), L2 at its paid-off row (March), L3 at its write-off row.
    rows = drilldown.loans_behind(book, DrillSpec(month=APR, statuses=(), rows="latest",
                                                  cohort_start=JAN, cohort_end=JAN))
    assert rows["loan_id"].to_list() == ["L1", "L2", "L3"]
    assert rows["status"].to_list() == ["active", "paid_off", "written_off"]
    assert [str(v) for v in rows["outstanding_principal"]] == ["950.00", "0.00", "0.00"]
    # latest row at or before March: every loan once, L3 still on book with 3000
    march = drilldown.loans_behind(book, DrillSpec(month=MAR, statuses=(), rows="latest"))
    assert march["loan_id"].to_list() == ["L3", "L1", "L5", "L4", "L2"]


def test_rows_first_hit(book):
    from tests.derived_book import APR

    # First row with DPD >= 30 up to April: L3 in February (40 days, 3000), L1 in March (45 days, 950).
    rows = drilldown.loans_behind(book, DrillSpec(month=APR, statuses=(), ever_dpd_min=30, rows="first_hit"))
    assert rows["loan_id"].to_list() == ["L3", "L1"]
    assert rows["dpd"].to_list() == [40, 45]
    assert [str(v) for v in rows["outstanding_principal"]] == ["3000.00", "950.00"]
    # the same loans at their April rows (L3 written off there)
    at_month = drilldown.loans_behind(book, DrillSpec(month=APR, statuses=(), ever_dpd_min=30))
    assert at_month["loan_id"].to_list() == ["L1", "L3"] and at_month["dpd"].to_list() == [75, 0]


def test_each_row_mode_reads_only_its_candidate_rows():
    sqls = {mode: drilldown.loans_sql(DrillSpec(month=OCT, prev_month=SEP, statuses=(), ever_dpd_min=1, rows=mode))
            for mode in drilldown.ROW_MODES}
    assert "s.month = $month" in sqls["at_month"][0] and "QUALIFY" not in sqls["at_month"][0]
    assert "s.month > $prev_month AND s.month <= $month" in sqls["first_exit"][0]
    assert "ORDER BY s.month DESC" in sqls["latest"][0]
    assert "s.dpd >= $ever_dpd_min" in sqls["first_hit"][0]
    for sql, params in sqls.values():
        assert "2026" not in sql and params["month"] == OCT  # values are bound, never text


# --- validation and description -------------------------------------------------------------------------


@pytest.mark.parametrize(("kw", "message"), [
    ({"rows": "exits"}, "rows must be one of"),
    ({"rows": "first_exit", "statuses": ()}, "give prev_month"),
    ({"rows": "first_exit", "prev_month": SEP}, "never 'active'"),
    ({"rows": "first_hit", "statuses": ()}, "give ever_dpd_min"),
    ({"ever_mob_max": 3}, "give ever_dpd_min"),
    ({"prev_dpd_min": 1}, "give prev_month"),
    ({"prev_classes": (1,)}, "give prev_month"),
    ({"prev_month": OCT}, "must be before month"),
    ({"dpd_min": 61, "dpd_max": 30}, "dpd: the lower bound 61 is above the upper bound 30"),
])
def test_contradictory_specs_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        DrillSpec(month=OCT, **kw)


def test_new_overdue_brings_its_own_previous_month(con):
    spec = DrillSpec(month=OCT, new_overdue=True, prev_dpd_max=0)
    assert spec.previous_month == SEP
    assert drilldown.loans_behind(con, spec)["loan_id"].to_list() == ["L4"]


def test_describe():
    assert drilldown.describe(DrillSpec(month=OCT, dpd_min=31, dpd_max=60)) == [
        ("rows_at_month", {"month": OCT}), ("statuses", {"statuses": ("active",)}),
        ("dpd_between", {"min": 31, "max": 60})]
    assert drilldown.describe(DrillSpec(month=OCT, branches=("B1",), classes=(3, 4, 5), statuses=())) == [
        ("rows_at_month", {"month": OCT}), ("branches", {"branches": ("B1",)}), ("classes", {"classes": (3, 4, 5)})]
    assert drilldown.describe(DrillSpec(month=OCT, prev_month=SEP, statuses=("written_off",), rows="first_exit",
                                        prev_dpd_min=181)) == [
        ("rows_first_exit", {"start": SEP, "end": OCT}), ("statuses", {"statuses": ("written_off",)}),
        ("prev_on_book", {"prev_month": SEP}), ("prev_dpd_at_least", {"min": 181, "prev_month": SEP})]
    jan = dt.date(2024, 1, 1)
    assert drilldown.describe(DrillSpec(month=OCT, statuses=(), cohort_start=jan, cohort_end=jan, ever_dpd_min=31,
                                        ever_mob_max=3, rows="first_hit")) == [
        ("rows_first_hit", {"min": 31, "month": OCT}), ("cohort_between", {"start": jan, "end": jan}),
        ("ever_dpd_by_mob", {"min": 31, "mob": 3})]
    assert drilldown.describe(DrillSpec(month=OCT, rows="latest", ever_dpd_min=91, products=("mortgage",))) == [
        ("rows_latest", {"month": OCT}), ("products", {"products": ("mortgage",)}),
        ("statuses", {"statuses": ("active",)}), ("ever_dpd", {"min": 91, "month": OCT})]
    assert drilldown.describe(DrillSpec(month=OCT, new_overdue=True, causes=("illness",), cause_not_reported=True,
                                        below_floor=True, dpd_max=0)) == [
        ("rows_at_month", {"month": OCT}), ("statuses", {"statuses": ("active",)}), ("dpd_at_most", {"max": 0}),
        ("causes", {"causes": ("illness",)}), ("cause_not_reported", {}), ("new_overdue", {"prev_month": SEP}),
        ("below_floor", {})]


def _month_specs(month: dt.date, prev: dt.date, branch: str, product: str) -> list[DrillSpec]:
    """Specs the overdue_rows table answers, each criterion at least once."""
    return [
        DrillSpec(month=month, dpd_min=1),
        DrillSpec(month=month, dpd_min=31, dpd_max=90, classes=(2, 3)),
        DrillSpec(month=month, dpd_min=1, branches=(branch,), products=(product,)),
        DrillSpec(month=month, dpd_min=1, branches=(branch,), branch_basis="origination"),
        DrillSpec(month=month, dpd_min=1, new_overdue=True),
        DrillSpec(month=month, dpd_min=1, prev_month=prev, prev_dpd_min=1, prev_classes=(1, 2)),
        DrillSpec(month=month, dpd_min=1, prev_month=prev, branches=(branch,), branch_basis="previous"),
        DrillSpec(month=month, dpd_min=1, statuses=("active",), cause_not_reported=True),
        DrillSpec(month=month, dpd_min=1, statuses=("active",), causes=("income_drop", "illness")),
        DrillSpec(month=month, dpd_min=91, below_floor=True),
        DrillSpec(month=month, dpd_min=1, cohort_start=add_months(month, -24), cohort_end=add_months(month, -6)),
        DrillSpec(month=month, dpd_min=1, ever_dpd_min=61),
        DrillSpec(month=month, dpd_min=1, ever_dpd_min=31, ever_mob_max=6),
    ]


def test_overdue_rows_table_gives_the_same_lists_as_the_snapshots(demo_root):
    """The drill-down list read from overdue_rows equals the one joined from snapshots, loans and the previous
    month, row for row and column for column, for every criterion it answers; other specs are not its."""
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    prev = add_months(month, -1)
    branch, product = "B03", "consumer"
    heights = []
    for spec in _month_specs(month, prev, branch, product) + _month_specs(add_months(month, -7), add_months(month, -8),
                                                                           branch, product):
        fast = drilldown.overdue_rows_sql(spec)
        assert fast is not None, spec
        expected = store.query(con, *drilldown.loans_sql(spec), drilldown.LOAN_LIST_SCHEMA)
        assert_frame_equal(store.query(con, *fast, drilldown.LOAN_LIST_SCHEMA), expected)
        heights.append(expected.height)
    assert sum(heights) > 500 and sum(h > 0 for h in heights) >= 22  # the specs list real rows
    for spec in (DrillSpec(month=month), DrillSpec(month=month, dpd_min=0), DrillSpec(month=month, classes=(3,)),
                 DrillSpec(month=month, dpd_min=1, prev_month=add_months(month, -3)),
                 DrillSpec(month=month, prev_month=add_months(month, -2), rows="first_exit", dpd_min=1, statuses=())):
        assert drilldown.overdue_rows_sql(spec) is None, spec


def test_loans_behind_reads_overdue_rows_when_built(tmp_path, monkeypatch):
    from analytics import derived

    root = portfolio_store(tmp_path)
    derived.build(root)
    con = store.connect(root)
    assert ids(con, month=OCT, dpd_min=1) == ["L4", "L2"]  # the hand-built answers, now from the derived table
    assert ids(con, month=OCT, dpd_min=1, prev_month=SEP, prev_dpd_min=1) == ["L2"]
    assert ids(con, month=OCT, dpd_min=1, prev_month=SEP, prev_dpd_max=0) == ["L4"]
    monkeypatch.setattr(drilldown, "loans_sql", lambda *a, **k: pytest.fail("joined the snapshots"))
    rows = drilldown.loans_behind(con, DrillSpec(month=OCT, dpd_min=1, new_overdue=True))
    assert rows["loan_id"].to_list() == ["L4"] and rows["prev_dpd"].to_list() == [0]
