"""The quarterly balance bridge: a hand-computed fixture and the whole demo book reconcile to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.core import store
from analytics.metrics import bridge, portfolio
from tests.tiny import write_store

JUN, JUL, AUG, SEP = (dt.date(2026, m, 1) for m in (6, 7, 8, 9))


def _row(month, loan, bal, dpd=0, cls=1, status="active", disposed=0):
    return {"month": month, "loan_id": loan, "outstanding_principal": D(bal), "dpd": dpd, "booked_class": cls,
            "status": status, "disposed_principal": D(disposed)}


@pytest.fixture()
def con(tmp_path):
    # A overdue and NPL at both ends (1000 -> 900); B overdue -> cured (500 -> 450); C current -> overdue (800 -> 780);
    # D overdue + NPL, written off in August (600, 550 disposed); E overdue, paid off in July (300);
    # F originated in August, overdue at September (200).
    snaps = [
        _row(JUN, "A", 1000, 40, 3), _row(SEP, "A", 900, 100, 3),
        _row(JUN, "B", 500, 10, 2), _row(SEP, "B", 450, 0, 1),
        _row(JUN, "C", 800), _row(SEP, "C", 780, 5, 2),
        _row(JUN, "D", 600, 100, 3), _row(JUL, "D", 560, 130, 3), _row(AUG, "D", 0, 160, 4, "written_off", 550),
        _row(JUN, "E", 300, 20, 2), _row(JUL, "E", 0, 0, 1, "paid_off"),
        _row(SEP, "F", 200, 10, 2),
    ]
    loans = [{"loan_id": i, "branch_id": "B2" if i == "C" else "B1"} for i in "ABCDEF"]
    c = store.connect(write_store(tmp_path, loans, snaps))
    yield c
    c.close()


def _lines(frame: pl.DataFrame) -> dict[str, tuple[int, D]]:
    return {r["line"]: (r["loans_count"], r["amount"]) for r in frame.iter_rows(named=True) if r["loans_count"]}


def test_overdue_bridge_by_hand(con):
    b = bridge.bridge(con, measure="overdue", open_month=JUN, close_month=SEP)
    assert _lines(b) == {
        "opening": (4, D("2400.00")),  # A 1000 + B 500 + D 600 + E 300
        "new": (2, D("980.00")),  # C 780 + F 200
        "cured": (1, D("-450.00")),  # B at its closing balance
        "repaid": (1, D("-300.00")),  # E
        "cash_recovered": (2, D("-100.00")),  # B 500 - 450, D 600 - 550
        "written_off": (1, D("-550.00")),  # D's disposed principal
        "stayer": (1, D("-100.00")),  # A 900 - 1000
        "closing": (3, D("1880.00")),  # A 900 + C 780 + F 200
    }
    assert bridge.reconciliation_gap(b)["gap"].to_list() == [D("0.00")]


def test_npl_bridge_and_branches(con):
    b = bridge.bridge(con, measure="npl", open_month=JUN, close_month=SEP)
    assert _lines(b) == {"opening": (2, D("1600.00")), "cash_recovered": (1, D("-50.00")),
                         "written_off": (1, D("-550.00")), "stayer": (1, D("-100.00")), "closing": (1, D("900.00"))}
    by_branch = bridge.bridge(con, measure="overdue", open_month=JUN, close_month=SEP, by_branch=True)
    assert set(bridge.reconciliation_gap(by_branch)["gap"].to_list()) == {D("0.00")}
    b2 = bridge.bridge(con, measure="overdue", open_month=JUN, close_month=SEP, branches=("B2",))
    assert _lines(b2) == {"new": (1, D("780.00")), "closing": (1, D("780.00"))}


def test_every_loan_in_exactly_one_movement(con):
    lines = bridge.bridge_loans(con, measure="overdue", open_month=JUN, close_month=SEP)
    movements = lines.filter(~pl.col("line").is_in(["cash_recovered", "transfer_in", "transfer_out"]))
    assert sorted(movements["loan_id"].to_list()) == list("ABCDEF")
    assert bridge.loans_of_line(lines, "written_off")["amount"].sum() == D("-550.00")


def test_unknown_measure_is_refused(con):
    with pytest.raises(ValueError, match="measure"):
        bridge.bridge(con, measure="dpd90", open_month=JUN, close_month=SEP)


def test_whole_demo_book_reconciles_for_every_branch_and_quarter(demo_con):
    quarters = bridge.available_quarters(demo_con)
    assert len(quarters) >= 4
    checked = 0
    for quarter in quarters:
        status = bridge.quarter_status(demo_con, quarter=quarter)
        close = status["close_month"] if status["complete"] else status["last_month"]
        for measure in bridge.BRIDGE_MEASURES:
            b = bridge.bridge(demo_con, measure=measure, open_month=status["open_month"], close_month=close,
                              by_branch=True)
            gaps = bridge.reconciliation_gap(b)
            assert (gaps["gap"] == 0).all(), (quarter, measure, gaps.filter(pl.col("gap") != 0))
            checked += gaps.height
            # the opening and closing balances equal the portfolio numbers of those months, branch by branch
            for line, month in (("opening", status["open_month"]), ("closing", close)):
                q = portfolio.quality_by(demo_con, by=("branch_id",), month_from=month, month_to=month)
                expected = dict(zip(q["branch_id"], q[f"{measure}_balance"], strict=True))
                got = b.filter(pl.col("line") == line)
                assert dict(zip(got["branch_id"], got["amount"], strict=True)) == {
                    k: v for k, v in expected.items() if k in set(got["branch_id"])}, (quarter, measure, line)
    assert checked >= 4 * 2 * 10


def test_writeoff_recoveries_are_off_balance(tmp_path):
    snaps = [_row(JUN, "A", 600, 200, 5), _row(JUL, "A", 0, 230, 5, "written_off", 600)]
    root = write_store(tmp_path, [{"loan_id": "A"}], snaps)
    actions = pl.DataFrame({
        "month": [JUL, AUG, SEP], "action_id": ["a1", "a2", "a3"], "loan_id": ["A"] * 3, "collector_id": ["K"] * 3,
        "action_date": [dt.date(2026, 7, 20), dt.date(2026, 8, 10), dt.date(2026, 9, 5)],
        "channel": ["phone"] * 3, "outcome": ["partial_payment"] * 3, "promised_amount": [None] * 3,
        "promised_date": [None] * 3, "amount_collected": [D(10), D(20), D(30)], "cost": [D(1)] * 3},
        schema=store.TABLES["collection_actions"].polars_schema)
    store.write_table(root, "collection_actions", actions)
    con = store.connect(root)
    rec = bridge.writeoff_recoveries(con, month_from=JUL, month_to=SEP)
    assert rec["amount"].to_list() == [D("50.00")]  # July is the write-off month itself: not after it


def test_bank_total_of_the_branch_bridges_is_the_bank_bridge(demo_con):
    quarter = bridge.available_quarters(demo_con)[1]
    open_month, close_month = bridge.period_months(quarter)
    for measure in bridge.BRIDGE_MEASURES:
        kw = {"measure": measure, "open_month": open_month, "close_month": close_month}
        by_branch = bridge.bridge(demo_con, by_branch=True, **kw)
        assert bridge.bank_total(by_branch).equals(bridge.bridge(demo_con, **kw))


def test_a_loan_moving_branch_is_a_transfer_never_a_gap(tmp_path):
    # G: NPL at B1 at the opening (400), managed by the special-assets branch B9 at the closing (380).
    # H: NPL at B1 at the opening (700), moved to B9 in July and written off there in August (650 disposed).
    snaps = [
        {**_row(JUN, "G", 400, 120, 3), "branch_id": "B1"}, {**_row(SEP, "G", 380, 210, 3), "branch_id": "B9"},
        {**_row(JUN, "H", 700, 100, 3), "branch_id": "B1"}, {**_row(JUL, "H", 690, 130, 3), "branch_id": "B9"},
        {**_row(AUG, "H", 0, 160, 4, "written_off", 650), "branch_id": "B9"},
    ]
    con = store.connect(write_store(tmp_path, [{"loan_id": "G"}, {"loan_id": "H"}], snaps, ("B1", "B9")))
    b = bridge.bridge(con, measure="npl", open_month=JUN, close_month=SEP, by_branch=True)
    b1 = _lines(b.filter(pl.col("branch_id") == "B1"))
    b9 = _lines(b.filter(pl.col("branch_id") == "B9"))
    assert b1 == {"opening": (2, D("1100.00")), "transfer_out": (2, D("-1100.00"))}
    assert b9 == {"transfer_in": (2, D("1100.00")), "written_off": (1, D("-650.00")), "cash_recovered": (1, D("-50.00")),
                  "stayer": (1, D("-20.00")), "closing": (1, D("380.00"))}
    assert set(bridge.reconciliation_gap(b)["gap"].to_list()) == {D("0.00")}
    bank = bridge.bank_total(b)
    assert _lines(bank).get("transfer_in", (0, 0))[1] + _lines(bank).get("transfer_out", (0, 0))[1] == 0
