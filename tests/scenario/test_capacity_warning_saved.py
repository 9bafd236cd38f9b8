"""Collection capacity (hand-computed), the warning threshold scenario, and saved named scenarios."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics.core import config, store
from analytics.core.months import add_months
from analytics.metrics import collections
from analytics.scenario import capacity as cap
from analytics.scenario import saved
from analytics.scenario import warning as sw
from analytics.warning import backtest as bt
from analytics.warning import rules as R

# One month, entry bucket M1: two worked cases (collectors A and B), two not worked.
CASES = pl.DataFrame({
    "month": [dt.date(2026, 10, 1)] * 4, "loan_id": ["c1", "c2", "c3", "c4"], "collector_id": ["A", "B", "A", "A"],
    "entry_bucket": [1, 1, 1, 1], "entry_balance": [1000.0, 3000.0, 2000.0, 2000.0],
    "worked": [True, True, False, False], "status": ["active"] * 4, "close_bucket": [0, 1, 0, 2],
    "amount_paid": [100.0, 0.0, 50.0, 0.0]}, schema_overrides={"entry_bucket": pl.Int8, "close_bucket": pl.Int8})


def test_observed_relation_by_hand():
    obs = cap.observed(CASES, months=1).row(0, named=True)
    # 4 cases, 2 worked by 2 collectors → 1 worked case per collector; mean entry balance 8000 / 4 = 2000
    assert (obs["bucket"], obs["cases"], obs["worked"], obs["collectors"]) == ("M1", 4, 2, 2)
    assert obs["per_collector"] == 1 and obs["mean_balance"] == 2000
    # cure: worked 1000 / 4000 = .25, unworked 2000 / 4000 = .5; recovery: 100 / 4000, 50 / 4000
    assert (obs["cure_worked"], obs["cure_unworked"]) == (0.25, 0.5)
    assert (obs["recovery_worked"], obs["recovery_unworked"]) == (0.025, 0.0125)


def test_plan_with_more_collectors():
    obs = cap.observed(CASES, months=1)
    base = cap.plan(obs, {}).row(0, named=True)
    # observed collectors: worked = min(4, 2 × 1) = 2; cured = 2000 × (2 × .25 + 2 × .5) = 3000 (the observed 1000 +
    # 2000); recovered = 2000 × (2 × .025 + 2 × .0125) = 150 (the observed 100 + 50)
    assert base["worked"] == 2 and base["cured_balance"] == pytest.approx(3000)
    assert base["recovered_balance"] == pytest.approx(150)
    more = cap.plan(obs, {1: 4.0}).row(0, named=True)
    # 4 collectors: all 4 worked: cured = 2000 × 4 × .25 = 2000, recovered = 2000 × 4 × .025 = 200
    assert more["worked"] == 4 and more["cured_balance"] == pytest.approx(2000)
    assert more["recovered_balance"] == pytest.approx(200)
    capped = cap.plan(obs, {1: 10.0}).row(0, named=True)
    assert capped["worked"] == 4  # never more than the cases


def test_capacity_baseline_equals_the_collection_records(demo_con):
    month = store.months(demo_con)[-1]
    out = cap.compare(demo_con, month=month, months=3)
    cases = collections.cases(demo_con, month_from=add_months(month, -2), month_to=month)
    total = out["plan"].filter(bucket="total").row(0, named=True)
    assert total["worked_baseline"] == pytest.approx(cases["worked"].sum() / 3)  # the observed worked cases
    assert total["collectors_diff"] == 0 and total["cured_balance_diff"] == pytest.approx(0)


def test_warning_combine_workload():
    curve = pl.DataFrame({"level": ["red", "orange"], "level_rank": [1, 2], "flagged": [43.5, 87.0],
                          "precision": [0.5, 0.4], "recall": [0.2, 0.6], "lead_median_months": [1.0, 2.0]},
                         schema_overrides={"level_rank": pl.Int8})
    out = sw.combine(curve, curve.with_columns(pl.col("flagged") * 2), level="orange", team_size=2)
    s = {r["metric"]: r for r in out["summary"].iter_rows(named=True)}
    # workload = 87 flagged per month / 2 collectors / 21.75 days = 2 cases per collector per day
    assert s["workload"]["baseline"] == pytest.approx(2.0) and s["workload"]["scenario"] == pytest.approx(4.0)
    assert s["flagged"]["diff"] == 87 and s["precision"]["diff"] == 0
    with pytest.raises(ValueError):
        sw.combine(curve, curve, level="purple")


def test_warning_baseline_equals_the_backtest(demo_con):
    curve = sw.trade_off(demo_con, months=3)
    direct = bt.backtest(demo_con, months=3)
    assert curve["recall"].to_list() == direct["recall"]["recall"].to_list()
    # cumulative precision at the least severe level = all hits ÷ all warned
    tot = direct["precision_total"]
    assert curve["precision"][-1] == pytest.approx(tot["hits"].sum() / tot["warned"].sum())
    assert curve["flagged"][-1] == pytest.approx(tot["warned"].sum() / 3)
    stricter = R.default_rules()
    stricter["signals"]["cross_91"]["enabled"] = False
    assert sw.trade_off(demo_con, rules=R.dumps(stricter), months=3)["flagged"][1] <= curve["flagged"][1]


def test_saved_scenarios(tmp_path):
    assert saved.saved(tmp_path, kind="projection") == {}
    assert saved.save(tmp_path, kind="projection", name="cure +5", params={"cure_pp": 5}) == 1
    assert saved.save(tmp_path, kind="projection", name="slow", params={"cure_pp": 0}) == 2
    assert saved.save(tmp_path, kind="projection", name="cure +5", params={"cure_pp": 6}) == 3
    listing = saved.saved(tmp_path, kind="projection")
    assert listing == {"cure +5": {"version": 3, "params": {"cure_pp": 6}},
                       "slow": {"version": 2, "params": {"cure_pp": 0}}}
    assert saved.load(tmp_path, kind="projection", name="slow") == {"cure_pp": 0}
    assert saved.load(tmp_path, kind="projection", name="nope") is None
    assert config.load(tmp_path, "scenario_projection", {}, version=1)[1]["params"] == {"cure_pp": 5}  # kept
    with pytest.raises(ValueError):
        saved.save(tmp_path, kind="nope", name="x", params={})
    with pytest.raises(ValueError):
        saved.save(tmp_path, kind="projection", name="  ", params={})
