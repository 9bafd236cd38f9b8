"""The collector scorecard on hand-built per-collector figures, and the versioned scheme config.

Scheme used (numbers chosen to be checked by hand): result = recovery attainment (target 1.0), process = RPC
rate (target 0.5), quality = compliance (target 1.0); group weights 50 / 30 / 20; cap 120%; coefficients
M1 1.0, M2 1.5, M7+ 1.4; recovery targets M1 50%, M2 20%, M7+ 5%; at most 8 actions per case a month.

  C1: two M1 cases of 100, recovered 80 of a target 100 -> 80; RPC 0.6 -> 1.2 -> 120; compliant -> 100:
      total 0.5*80 + 0.3*120 + 0.2*100 = 96
  C2: M1 100 + M2 100 (difficulty 1.25), recovered 70 of a target 50 + 20 = 70 -> 1.0*1.25 capped 1.2 -> 120;
      RPC 0.4 -> 80; one of two cases had 9 actions -> compliance 0.5 -> 50: total 60 + 24 + 10 = 94
  C3: one M1 case of 100, nothing recovered -> 0; no attempts (process null); compliant: total 20, but on the
      veto list -> 0
  C4: one M7+ case of 100 (difficulty 1.4), recovered 10 of a target 5 -> 2.8 capped -> 120; RPC 0.5 -> 100;
      compliant -> 100: total 110, alone in the late peer group
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import schema
from analytics.metrics import collection_scorecard as sc

SEP = dt.date(2026, 9, 1)
SCHEME = sc.Scheme(
    kpis=(sc.Kpi("recovery_attainment", "result", 1.0, 1.0), sc.Kpi("rpc_rate", "process", 1.0, .5),
          sc.Kpi("compliance", "quality", 1.0, 1.0)),
    bucket_coefficients=(1.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.4), recovery_targets=(.5, .2, .1, .1, .1, .1, .05),
    cap=1.2, max_actions_per_case=8, veto_violations=3, veto_collectors=("C3",),
)
KPIS = pl.DataFrame({
    "collector_id": ["C1", "C2", "C3", "C4"], "recovered_balance": [80.0, 70.0, 0.0, 10.0],
    "rpc_rate": [.6, .4, None, .5], "rpc": [6, 4, 0, 5], "attempts": [10, 10, 0, 10],
    "working_days": [22, 22, 22, 22], "cash": [100.0, 100.0, 0.0, 10.0], "cases_assigned": [2, 2, 1, 1],
})
CASES = pl.DataFrame({
    "collector_id": ["C1", "C1", "C2", "C2", "C3", "C4"], "entry_bucket": [1, 1, 1, 2, 1, 7],
    "entry_balance": [D("100")] * 6,
}, schema_overrides={"entry_bucket": pl.Int8, "entry_balance": schema.MONEY})
ACTIONS = pl.DataFrame({
    "collector_id": ["C1"] * 2 + ["C2"] * 10 + ["C3", "C4"],
    "month": [SEP] * 14,
    "loan_id": ["a", "b"] + ["c"] * 9 + ["d"] + ["e", "f"],
})


def _card(scheme=SCHEME):
    return sc.score_collectors(KPIS, CASES, ACTIONS, scheme=scheme)


def test_weights_caps_coefficients_and_veto():
    card = _card()
    got = card.select("collector_id", "peer_group", "difficulty", "recovery_attainment_score", "rpc_rate_score",
                      "compliance_score", "total", "veto", "rank", "peer_n", "tier").sort("collector_id")
    want = pl.DataFrame({
        "collector_id": ["C1", "C2", "C3", "C4"], "peer_group": ["early", "early", "early", "late"],
        "difficulty": [1.0, 1.25, 1.0, 1.4], "recovery_attainment_score": [80.0, 120.0, 0.0, 120.0],
        "rpc_rate_score": [120.0, 80.0, None, 100.0], "compliance_score": [100.0, 50.0, 100.0, 100.0],
        "total": [96.0, 94.0, 0.0, 110.0], "veto": [False, False, True, False], "rank": [1, 2, 3, 1],
        "peer_n": [3, 3, 3, 1], "tier": ["reward", "pass", "penalty", "reward"],
    })
    assert_frame_equal(got, want, check_dtypes=False)
    assert card.filter(pl.col("collector_id") == "C3")["veto_reason"].to_list() == ["listed"]


def test_veto_on_contact_frequency():
    card = _card(sc.Scheme(**{**SCHEME.__dict__, "veto_violations": 1, "veto_collectors": ()})).sort("collector_id")
    assert card["veto"].to_list() == [False, True, False, False]
    assert card["veto_reason"].to_list() == [None, "contact_frequency", None, None]
    assert card["total"].to_list() == pytest.approx([96.0, 0.0, 20.0, 110.0])
    assert card["rank"].to_list() == [1, 3, 2, 1] and card["tier"].to_list() == ["reward", "penalty", "penalty",
                                                                                "reward"]  # C3 below 60


def test_components_add_up_to_the_total():
    card = _card()
    parts = sc.score_components(card, scheme=SCHEME)
    c1 = parts.filter(pl.col("collector_id") == "C1").sort("group")
    assert c1["kpi"].to_list() == ["rpc_rate", "compliance", "recovery_attainment"]
    assert c1["points"].to_list() == pytest.approx([36.0, 20.0, 40.0])
    totals = parts.group_by("collector_id").agg(pl.col("points").sum()).sort("collector_id")
    assert totals["points"].to_list() == pytest.approx([96.0, 94.0, 0.0, 110.0])


def test_team_scores_are_case_weighted():
    card = _card().sort("collector_id").with_columns(team=pl.Series(["T1", "T1", "T2", "T2"]))  # C1 C2 | C3 C4
    teams = sc.team_scores(card)
    assert teams["team"].to_list() == ["T1", "T2"]
    assert teams["score"].to_list() == pytest.approx([(96 * 2 + 94 * 2) / 4, (0 * 1 + 110 * 1) / 2])


def test_group_weights_are_normalised():
    doubled = sc.Scheme(**{**SCHEME.__dict__, "group_weights": (1.0, .6, .4)})
    assert _card(doubled).sort("collector_id")["total"].to_list() == pytest.approx([96.0, 94.0, 0.0, 110.0])


# --- config ----------------------------------------------------------------------------------------------------------


def test_default_when_nothing_is_saved(tmp_path):
    assert sc.load_scheme(root=tmp_path) == sc.DEFAULT_SCHEME
    assert sc.scheme_versions(root=tmp_path) == []


def test_save_load_and_versions(tmp_path):
    now = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    first = sc.save_scheme(SCHEME, root=tmp_path, now=now)
    second = sc.save_scheme(sc.Scheme(**{**SCHEME.__dict__, "cap": 1.3}), root=tmp_path, now=now)
    assert (first.version, second.version) == (1, 2) and first.saved_at == "2026-12-02T09:00:00+00:00"
    assert sc.scheme_versions(root=tmp_path) == [1, 2]
    assert sc.load_scheme(root=tmp_path) == second and sc.load_scheme(root=tmp_path).cap == 1.3
    assert sc.load_scheme(root=tmp_path, version=1) == first
    folder = tmp_path / "_meta" / "config"
    assert sorted(p.name for p in folder.iterdir()) == [
        "collection_scheme.json", "collection_scheme.v0001.json", "collection_scheme.v0002.json"]  # no temp files
    saved = json.loads((folder / "collection_scheme.v0001.json").read_text(encoding="utf-8"))
    assert saved["version"] == 1 and saved["kpis"][0]["code"] == "recovery_attainment"
    with pytest.raises(FileNotFoundError):
        sc.load_scheme(root=tmp_path, version=7)


def test_invalid_schemes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown KPI"):
        sc.save_scheme(sc.Scheme(kpis=(sc.Kpi("charm", "result", 1, 1),)), root=tmp_path)
    with pytest.raises(ValueError, match="group weights"):
        sc.validate(sc.Scheme(group_weights=(0, 0, 0)))
    with pytest.raises(ValueError, match="M1 .. M7"):
        sc.validate(sc.Scheme(bucket_coefficients=(1.0,)))
    assert sc.scheme_versions(root=tmp_path) == []


def test_target_attainment_per_week_and_day(tmp_path):
    from analytics.core import store
    from tests import tiny
    from tests.metrics.test_collections import ACTIONS as ROWS
    from tests.metrics.test_collections import COLLECTORS, LOANS, SNAPSHOTS

    root = tiny.write_store(tmp_path / "s", LOANS, SNAPSHOTS)
    store.write_table(root, "collectors", pl.DataFrame(COLLECTORS, schema=schema.COLLECTORS.polars_schema))
    store.write_table(root, "collection_actions",
                      pl.DataFrame(ROWS, schema=schema.COLLECTION_ACTIONS.polars_schema, strict=False))
    con = store.connect(root)
    scheme = sc.Scheme(daily_contacts=(2.0, 2.0, 1.0), weekly_amount=(500.0, 500.0, 1000.0))
    weeks = sc.target_attainment(con, month_from=SEP, month_to=SEP, freq="week", scheme=scheme)
    k1 = weeks.filter(pl.col("collector_id") == "K1")
    # K1 (peer early), week of Mon Sep 7: only A3, the Sep 11 payment of 220 (one RPC)
    wk = k1.filter(pl.col("period") == dt.date(2026, 9, 7)).row(0, named=True)
    assert (wk["working_days"], wk["contacts"], wk["contacts_target"]) == (5, 1, 10.0)
    assert wk["cash"] == D("220.00") and wk["amount_attainment"] == pytest.approx(220 / 500)
    first = k1.filter(pl.col("period") == dt.date(2026, 8, 31)).row(0, named=True)
    assert first["working_days"] == 4  # Tue 1 .. Fri 4 September inside the period
    assert first["contacts"] == 2 and first["contacts_attainment"] == pytest.approx(2 / 8)  # A2, A5 (A4 lost contact)
    days = sc.target_attainment(con, month_from=SEP, month_to=SEP, freq="day", scheme=scheme)
    assert days.filter(pl.col("collector_id") == "K1").height == 30
    sat = days.filter((pl.col("collector_id") == "K1") & (pl.col("period") == dt.date(2026, 9, 5))).row(0, named=True)
    assert sat["working_days"] == 0 and sat["contacts"] == 1 and sat["contacts_attainment"] is None
    con.close()
