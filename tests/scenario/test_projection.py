"""Markov roll-rate projection: a hand-computed 3-bucket example, the levers, and baselines equal to the pages."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analytics.core import store
from analytics.metrics import portfolio
from analytics.scenario import projection as pj

# 3 buckets (M0, M1, M2) and one exit column (paid off): rows sum to 1.
P = np.array([[0.9, 0.05, 0.0, 0.05],
              [0.3, 0.4, 0.3, 0.0],
              [0.1, 0.0, 0.8, 0.1]])
START = np.array([1000.0, 100.0, 50.0])


def test_two_months_by_hand():
    out = pj.project(START, P, steps=2)
    # month 1: M0 = 1000×.9 + 100×.3 + 50×.1 = 935; M1 = 1000×.05 + 100×.4 = 90; M2 = 100×.3 + 50×.8 = 70
    # month 2: M0 = 935×.9 + 90×.3 + 70×.1 = 875.5; M1 = 935×.05 + 90×.4 = 82.75; M2 = 90×.3 + 70×.8 = 83
    np.testing.assert_allclose(out, [[935, 90, 70], [875.5, 82.75, 83]])


def test_new_lending_enters_current():
    out = pj.project(START, P, steps=2, new_lending=10)
    # month 1: M0 = 935 + 10 = 945; month 2: M0 = 945×.9 + 27 + 7 + 10 = 894.5, M1 = 945×.05 + 36 = 83.25
    np.testing.assert_allclose(out, [[945, 90, 70], [894.5, 83.25, 83]])


def test_cure_lever_takes_from_same_and_worse_buckets():
    q = pj.apply_levers(P, cure_pp=0.1, writeoff_col=3)
    # M1 row: same-or-worse = .4 + .3 = .7, scaled by 1 − .1/.7 = 6/7 → .342857, .257143; cure .3 + .1 = .4
    # M2 row: same-or-worse = .8 → × (1 − .1/.8) = .7; cure .1 + .1 = .2
    np.testing.assert_allclose(q[1], [0.4, 0.4 * 6 / 7, 0.3 * 6 / 7, 0.0])
    np.testing.assert_allclose(q[2], [0.2, 0.0, 0.7, 0.1])
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    np.testing.assert_allclose(q[0], P[0])


def test_current_to_m1_cut_and_writeoff_policy():
    q = pj.apply_levers(P, current_m1_cut=0.2, writeoff_rate=0.5, writeoff_col=3)
    # M0 → M1: .05 × (1 − .2) = .04, the .01 stays current (.91)
    np.testing.assert_allclose(q[0], [0.91, 0.04, 0.0, 0.05])
    # last row: write-off set to .5, the rest (.9) scaled by .5/.9: .1 → .055556, .8 → .444444
    np.testing.assert_allclose(q[2], [0.1 * 0.5 / 0.9, 0.0, 0.8 * 0.5 / 0.9, 0.5])
    np.testing.assert_allclose(q.sum(axis=1), 1.0)


def test_cure_never_takes_more_than_the_row_holds():
    q = pj.apply_levers(P, cure_pp=0.95, writeoff_col=3)
    np.testing.assert_allclose(q[1], [1.0, 0.0, 0.0, 0.0])  # .3 + all of .7


def test_ratios_of_projected_buckets():
    b = np.array([[100.0, 10, 5, 5, 4, 3, 2, 1]])
    r = pj.ratios(b, npl0=12.0, dpd90_0=8.0)
    # total 130, overdue = 30, 90+ = M4+ = 10, NPL = 12 + (10 − 8) = 14
    assert r["total_balance"][0] == 130 and r["overdue_balance"][0] == 30 and r["dpd90_balance"][0] == 10
    assert r["npl_balance"][0] == 14
    assert r["overdue_ratio_balance"][0] == pytest.approx(30 / 130)
    assert r["npl_ratio_balance"][0] == pytest.approx(14 / 130)


def test_empty_matrix_row_keeps_its_balance():
    frame = pl.DataFrame({"from_bucket": [0, 0], "to_state": ["M0", "paid_off"], "share_balance": [0.8, 0.2]})
    p = pj.matrix_array(frame)
    assert p.shape == (8, 12)
    assert p[0, 0] == 0.8 and p[0, pj.STATES.index("paid_off")] == 0.2
    assert all(p[k, k] == 1.0 for k in range(1, 8))


def test_baseline_starts_from_the_pages_numbers(demo_con):
    month = store.months(demo_con)[-1]
    out = pj.compare(demo_con, month=month, quarters=1)
    q = portfolio.quality_by(demo_con, month_from=month, month_to=month).row(0, named=True)
    start = out["start"]
    assert start["balance"].sum() == pytest.approx(float(q["total_balance"]), abs=0.01)
    assert start["balance"][1:].sum() == pytest.approx(float(q["overdue_balance"]), abs=0.01)
    assert out["projection"].height == 3
    # no levers: the scenario is the baseline
    same = out["projection"]
    assert same["overdue_ratio_balance_diff"].abs().max() == pytest.approx(0.0)


def test_backtest_compares_with_the_booked_ratios(demo_con):
    back = pj.backtest(demo_con, horizon=3, origins=4)
    assert back.height == 4
    q = portfolio.quality_by(demo_con)
    actual = dict(zip(q["month"], q["overdue_ratio_balance"], strict=True))
    for row in back.iter_rows(named=True):
        assert row["overdue_ratio_actual"] == pytest.approx(actual[row["month"]])
        assert row["overdue_ratio_error"] == pytest.approx(row["overdue_ratio_projected"] - row["overdue_ratio_actual"])
    errs = pj.mean_abs_errors(back)
    assert errs["overdue_ratio_error"] == pytest.approx(back["overdue_ratio_error"].abs().mean())


def test_by_branch_is_each_branchs_own_projection(demo_con):
    month = store.months(demo_con)[-1]
    b = store.query(demo_con, "SELECT min(branch_id) AS b FROM branches")["b"][0]
    per = pj.by_branch(demo_con, month=month, branches=(b,), quarters=2, cure_pp=0.05)
    own = pj.compare(demo_con, month=month, branches=(b,), quarters=2, cure_pp=0.05)["projection"]
    ends = own.filter(pl.col("month").dt.month() % 3 == 0)
    assert per["month"].to_list() == ends["month"].to_list()
    assert per["npl_balance"].to_list() == pytest.approx(ends["npl_balance_scenario"].to_list())
    has_target = per.filter(pl.col("npl_ratio_ceiling").is_not_null())
    assert has_target.height > 0  # the demo sets targets for the quarter after its last month
    gap = has_target["npl_ratio_gap"] - (has_target["npl_ratio_balance"] - has_target["npl_ratio_ceiling"])
    assert gap.abs().max() == pytest.approx(0.0, abs=1e-12)
