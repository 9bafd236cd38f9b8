"""The PD cut-off backtest: the curve on a hand-built fixture, and out of time on a trained demo model."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from analytics.core import store
from analytics.model import artifact, cli
from analytics.scenario import warning as sw


def _fixture():
    live = pl.DataFrame({"loan_id": ["L1", "L2", "L3", "L1"], "t": [1, 1, 1, 2], "pd": [0.5, 0.2, 0.05, 0.6],
                         "hit": [True, False, True, True]})
    # events: L1 at u=3 (scored at t=1 and 2 before it), L3 at u=2 (t=1), and one event with no scored month
    pairs = pl.DataFrame({"loan_id": ["L1", "L1", "L3"], "u": [3, 3, 2], "t": [1, 2, 1], "pd": [0.5, 0.6, 0.05]})
    return live, pairs


def test_pd_curve_by_hand():
    live, pairs = _fixture()
    curve = sw.pd_curve(live, pairs, n_events=3, n_months=2, grid=(0.01, 0.1, 0.55, 0.9))
    rows = {r["cutoff"]: r for r in curve.iter_rows(named=True)}
    # 1%: all 4 loan-months flagged, 3 hit; L1 caught first at t=1 (lead 2), L3 at t=1 (lead 1)
    assert (rows[0.01]["warned"], rows[0.01]["hits"], rows[0.01]["flagged"]) == (4, 3, 2.0)
    assert rows[0.01]["precision"] == pytest.approx(3 / 4)
    assert (rows[0.01]["caught"], rows[0.01]["recall"], rows[0.01]["lead_median_months"]) == (2, pytest.approx(2 / 3), 1.5)
    # 10%: L1 t1, L2 t1, L1 t2 flagged (2 hits); only L1 caught, lead 2
    assert (rows[0.1]["warned"], rows[0.1]["hits"], rows[0.1]["flagged"]) == (3, 2, 1.5)
    assert rows[0.1]["precision"] == pytest.approx(2 / 3)
    assert (rows[0.1]["caught"], rows[0.1]["lead_median_months"]) == (1, 2.0)
    # 55%: only L1 at t=2: caught one month before its event
    assert (rows[0.55]["warned"], rows[0.55]["hits"], rows[0.55]["precision"]) == (1, 1, 1.0)
    assert (rows[0.55]["recall"], rows[0.55]["lead_median_months"]) == (pytest.approx(1 / 3), 1.0)
    # 90%: nothing flagged: no precision, no lead time, recall 0
    assert rows[0.9]["warned"] == 0 and rows[0.9]["precision"] is None and rows[0.9]["lead_median_months"] is None
    assert rows[0.9]["recall"] == 0.0


def test_pd_combine_takes_the_nearest_grid_point_and_the_workload():
    live, pairs = _fixture()
    curve = sw.pd_curve(live, pairs, n_events=3, n_months=2, grid=(0.01, 0.1, 0.55, 0.9))
    out = {r["metric"]: r for r in sw.pd_combine(curve, baseline=0.11, scenario=0.5, team_size=2).iter_rows(named=True)}
    assert out["flagged"]["baseline"] == 1.5 and out["flagged"]["scenario"] == 0.5
    assert out["precision"]["diff"] == pytest.approx(1.0 - 2 / 3)
    assert out["workload"]["baseline"] == pytest.approx(1.5 / 2 / sw.WORKING_DAYS)
    with pytest.raises(ValueError):
        sw.pd_combine(curve, baseline=0.1, scenario=0.2, team_size=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_root):
    root = tmp_path_factory.mktemp("pd_cutoff_model") / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns(artifact.MODELS))
    assert cli.main(["train", "--data", str(root), "--horizon", "3", "--history", "3", "--max-iter", "40"]) == 0
    return root


def test_pd_backtest_is_out_of_time_and_counts_add_up(trained):
    con = store.connect(trained)
    model = artifact.load_latest(trained)
    out = sw.pd_backtest(con, model=model, horizon=3, months=6)
    con.close()
    cal_end = model.report["card"]["windows"]["calibration"][1]
    assert not out["in_sample"] and out["months"] and all(str(m) > cal_end[:10] for m in out["months"])
    curve = out["curve"]
    assert curve.height == len(sw.PD_GRID) and out["scored"] > 0
    first = curve.row(0, named=True)  # 1%: nearly everything flagged
    assert first["warned"] <= out["scored"] and first["events"] == out["events"]
    # a higher cut-off flags no more loans and catches no more events
    assert curve["warned"].is_sorted(descending=True) and curve["caught"].is_sorted(descending=True)
    # precision is hits over flagged, recall caught over events (sums, not averages)
    r = curve.filter(pl.col("warned") > 0).row(-1, named=True)
    assert r["precision"] == pytest.approx(r["hits"] / r["warned"])
    assert out["events"] > 0 and r["recall"] == pytest.approx(r["caught"] / r["events"])


def test_page_pd_cutoff(app_test, trained, monkeypatch):
    monkeypatch.setenv(store.DATA_ENV, str(trained))
    at = app_test("pages/scenarios.py")
    assert not at.exception, at.exception
    assert not any("回测 PD 截止值" in i.value for i in at.info)  # a model is there

    def pd_table():
        tables = [d.value for d in at.dataframe if "指标" in d.value.columns
                  and any("人均日案件" in str(v) for v in d.value["指标"])]
        assert len(tables) == 2  # the rule-table scenario, then the PD cut-off
        return tables[-1]

    before = pd_table()
    assert before.shape[0] == len(sw.PD_METRICS)
    assert any("样本外月份" in c.value and "违约事件 n =" in c.value for c in at.caption)
    at.select_slider(key="sc_warning_pd_cutoff").set_value(0.05).run()
    assert not at.exception, at.exception
    after = pd_table()
    assert list(after.iloc[:, 1].fillna(-1)) == list(before.iloc[:, 1].fillna(-1))  # the baseline (the saved pd_high) stays
    assert list(after.iloc[:, 2].fillna(-1)) != list(before.iloc[:, 2].fillna(-1))  # the scenario follows the cut-off (20% -> 5%)
