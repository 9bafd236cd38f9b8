"""Backtest of the rules on a tiny history (expected values by hand)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import store
from analytics.warning import backtest as bt
from tests import tiny

M = [dt.date(2026, m, 1) for m in range(1, 7)]  # Jan..Jun
# P: 0, 10, 40, 70, 100, 130 -> Feb yellow (C->M1), Mar orange (M1->M2), Apr orange (91 within 21 days), May 90+
# Q: 55, 85, 0, 0, 0, 0     -> Feb red (91 within 6 days), cured
# R: 0, 0, 0, 0, 95, 125    -> enters 90+ in May without a warning before
# S: restructured, current   -> yellow every month, never defaults
DPD = {"P": (0, 10, 40, 70, 100, 130), "Q": (55, 85, 0, 0, 0, 0), "R": (0, 0, 0, 0, 95, 125), "S": (0,) * 6}
COLLECTOR = {"P": "K1", "Q": "K2", "R": None, "S": "K1"}


@pytest.fixture()
def con(tmp_path):
    loans = [{"loan_id": k} for k in DPD]
    snaps = [{"month": m, "loan_id": k, "outstanding_principal": D("100"), "dpd": d, "restructured": k == "S",
              "collector_id": COLLECTOR[k]} for k, ds in DPD.items() for m, d in zip(M, ds, strict=True)]
    c = store.connect(tiny.write_store(tmp_path / "data", loans, snaps))
    yield c
    c.close()


def test_backtest_by_hand(con):
    res = bt.backtest(con, horizon=2, months=12)
    assert res["months"] == M[:4]  # Jan..Apr have a complete 2-month outcome window (last month Jun)
    # precision: red Feb Q (no); orange Mar P (May: yes), Apr P (May: yes); yellow Jan S, Feb P+S, Mar S, Apr S: none
    assert_frame_equal(res["precision_total"], pl.DataFrame(
        {"level": ["red", "orange", "yellow", "blue"], "level_rank": [1, 2, 3, 4], "warned": [1, 2, 5, 0],
         "hits": [0, 2, 0, 0], "precision": [0.0, 1.0, 0.0, None]},
        schema_overrides={"level_rank": pl.Int8}))
    feb = res["precision"].filter(pl.col("month") == M[1]).select("level", "warned", "hits")
    assert feb.rows() == [("red", 1, 0), ("orange", 0, 0), ("yellow", 2, 0), ("blue", 0, 0)]
    # recall: events P (May, prev 70) and R (May, prev 0); window Mar-Apr: P warned orange in Mar and Apr
    assert_frame_equal(res["recall"], pl.DataFrame(
        {"level": ["red", "orange", "yellow", "blue"], "level_rank": [1, 2, 3, 4], "events": [2, 2, 2, 2],
         "caught": [0, 1, 1, 1], "recall": [0.0, 0.5, 0.5, 0.5], "lead_median_months": [None, 2.0, 2.0, 2.0]},
        schema_overrides={"level_rank": pl.Int8}))
    # workload: Jan S (K1); Feb P, Q, S (K1, K2); Mar P, S; Apr P, S
    assert_frame_equal(res["workload"], pl.DataFrame(
        {"month": M[:4], "warnings": [1, 3, 2, 2], "collectors": [1, 2, 1, 1], "unassigned": [0, 0, 0, 0],
         "per_collector": [1.0, 1.5, 2.0, 2.0]}))


def test_other_thresholds(con):
    # the scenario analyses call it with their own rule table: restructured off -> yellow only P in Feb
    rules = {"signals": {"restructured": {"enabled": False}}}
    res = bt.backtest(con, horizon=2, rules=rules)
    assert res["precision_total"].filter(pl.col("level") == "yellow")["warned"][0] == 1
    # a longer window: P's Feb yellow now sees May (Feb + 3)
    res3 = bt.backtest(con, horizon=3, rules=rules)
    assert res3["months"] == M[:3]
    assert res3["precision_total"].filter(pl.col("level") == "yellow").select("warned", "hits").row(0) == (1, 1)


def test_given_warnings(con):
    w = pl.DataFrame({"month": [M[2]], "loan_id": ["R"], "collector_id": [None], "dpd": [0], "level_rank": [4]},
                     schema={"month": pl.Date, "loan_id": pl.String, "collector_id": pl.String, "dpd": pl.Int32,
                             "level_rank": pl.Int8})
    res = bt.backtest(con, horizon=2, warnings=w)
    assert res["recall"].filter(pl.col("level") == "blue").select("caught", "lead_median_months").row(0) == (1, 2.0)
    assert res["workload"].filter(pl.col("month") == M[2]).select("unassigned", "per_collector").row(0) == (1, None)


def test_too_short(tmp_path):
    c = store.connect(tiny.write_store(tmp_path / "d", [{"loan_id": "A"}],
                                       [{"month": M[0], "loan_id": "A", "outstanding_principal": D("1")}]))
    assert bt.backtest(c, horizon=2)["months"] == []
    c.close()
