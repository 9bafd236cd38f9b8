"""The branch scorecard on hand-built measures (weights, caps, quota deduction, veto, peers, tiers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.metrics import assessment


def _measures(**over) -> pl.DataFrame:
    base = {
        "branch_id": ["B1", "B2"], "branch_name": ["一", "二"], "region": ["华东", "华南"],
        "total_closing": [D(100000), D(50000)],
        "npl_closing": [D(800), D(2000)], "npl_balance_target": [D(1000), D(1000)],  # B1 beats it: 1000/800 = 125%
        "overdue_closing": [D(1500), D(1000)], "overdue_balance_target": [D(1500), D(2000)],
        "new_npl": [D(300), D(600)], "new_npl_ceiling": [D(400), D(400)],  # B2 50% over the quota
        "cash_recovered": [D(900), D(100)], "cash_recovery_target": [D(600), D(400)],
        "writeoff_used": [D(0), D(500)], "writeoff_quota": [D(100), D(500)],
        "npl_ratio_closing": [0.008, 0.04], "npl_ratio_ceiling": [0.01, 0.03],
    }
    return pl.DataFrame(base | over)


def test_component_scores_and_total_by_hand():
    s = assessment.scorecard(_measures()).sort("branch_id")
    b1, b2 = s.row(0, named=True), s.row(1, named=True)
    # B1: NPL 1000/800 = 1.25 capped 1.2 -> 120; overdue 100; new NPL within quota 100; cash 900/600 = 1.5 -> 120;
    # write-off 0 used of 100 -> 100. Total = (25*120 + 15*100 + 20*100 + 30*120 + 10*100) / 100 = 111.
    assert (b1["score_npl_balance"], b1["score_overdue_balance"], b1["score_new_npl"]) == (120.0, 100.0, 100.0)
    assert (b1["score_cash_recovery"], b1["score_writeoff"]) == (120.0, 100.0)
    assert b1["score"] == pytest.approx(111.0) and b1["tier"] == "reward" and not b1["veto"]
    # B2: NPL 1000/2000 -> 50; overdue 2000/1000 -> 120 (cap); new NPL 600 vs 400 -> 1 - 200/400 = 50;
    # cash 100/400 -> 25; write-off at the quota -> 100. Total = (1250 + 1800 + 1000 + 750 + 1000) / 100 = 58.
    assert b2["score_new_npl"] == pytest.approx(50.0) and b2["score_cash_recovery"] == pytest.approx(25.0)
    assert b2["score"] == pytest.approx(58.0)
    assert b2["veto"] and b2["tier"] == "penalty"  # 4% above the 3% ceiling
    assert (b1["rank"], b2["rank"]) == (1, 2)


def test_veto_caps_a_good_score_and_difficulty_scales():
    m = _measures(npl_ratio_closing=[0.02, 0.04])  # B1 now above its 1% ceiling
    s = assessment.scorecard(m, {"difficulty": {"B2": 1.5}, "veto_tier": "pass"}).sort("branch_id")
    assert s["tier"].to_list() == ["pass", "pass"]  # B1 would be "reward" without the veto; B2 87 is "pass" anyway
    assert s["score"][1] == pytest.approx(58.0 * 1.5)


def test_missing_targets_renormalise_weights_and_peer_groups():
    m = _measures(cash_recovery_target=[None, None]).with_columns(pl.col("cash_recovery_target").cast(pl.Decimal(18, 2)))
    s = assessment.scorecard(m, {"peer_groups": "region"}).sort("branch_id")
    assert s["score_cash_recovery"].to_list() == [None, None]
    # B1 without cash: (25*120 + 15*100 + 20*100 + 10*100) / 70
    assert s["score"][0] == pytest.approx((3000 + 1500 + 2000 + 1000) / 70)
    assert s["peer_group"].to_list() == ["华东", "华南"] and s["peer_rank"].to_list() == [1, 1]


def test_branch_measures_on_the_demo_book(demo_con):
    quarter = assessment.latest_quarter(demo_con)
    prev = dt.date(quarter.year if quarter.month > 3 else quarter.year - 1, (quarter.month - 4) % 12 + 1, 1)
    m = assessment.branch_measures(demo_con, quarter=prev)
    assert m.height >= 10
    row = m.row(0, named=True)
    assert row["npl_reduction"] == row["npl_opening"] - row["npl_closing"]
    assert row["npl_ratio_closing"] == pytest.approx(float(row["npl_closing"]) / float(row["total_closing"]))
    tiles = assessment.bank_tiles(demo_con, quarter=prev)
    npl = tiles.filter(pl.col("kpi") == "npl_balance").row(0, named=True)
    assert npl["value"] == pytest.approx(float(m["npl_closing"].cast(pl.Float64).sum()))


def test_previous_quarter_values_equal_that_quarters_own_tiles(demo_con):
    from analytics.metrics import bridge

    quarters = bridge.available_quarters(demo_con)
    now = assessment.bank_tiles(demo_con, quarter=quarters[1])
    before = assessment.bank_tiles(demo_con, quarter=quarters[2])
    for kpi in ("overdue_balance", "overdue_ratio", "npl_balance", "npl_ratio", "new_npl", "cash_recovered",
                "deviation", "coverage"):
        prev = now.filter(pl.col("kpi") == kpi)["previous"].item()
        assert prev == pytest.approx(before.filter(pl.col("kpi") == kpi)["value"].item(), rel=1e-9), kpi
