"""``python -m analytics.model train | evaluate | score | fit-table`` end to end on small data."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import polars as pl

from analytics.core import store
from analytics.model import artifact, cli, features
from tests.conftest import ROOT


def test_train_writes_a_checked_artifact_outside_the_data_version(small_root, trained):
    meta = artifact.read_meta(trained)
    assert meta["contract"] == artifact.store_contract()
    assert meta["data_version"] == store.data_version(small_root)  # _models is bookkeeping: unchanged
    assert set(meta["report"]["metrics"]) == {"model", "model_uncalibrated", "scorecard"}
    card = meta["report"]["card"]
    assert card["horizon"] == 3 and card["windows"]["train"][1] < card["windows"]["calibration"][0]
    assert card["windows"]["calibration"][1] < card["windows"]["test"][0]
    assert meta["report"]["metrics"]["model"]["auc"] > 0.6
    assert {r["variable"] for r in meta["report"]["stability"]} >= {"pd", "dpd", "product"}
    assert (trained / "report.md").read_text().startswith("# Default-risk model")
    assert artifact.load_latest(small_root).version == trained.name


def test_evaluate_and_score(small_root, trained, tmp_path, capsys):
    assert cli.main(["evaluate", "--data", str(small_root)]) == 0
    evaluation = json.loads(sorted(trained.glob("evaluation-*.json"))[-1].read_text())
    assert evaluation["months"] and evaluation["metrics"]["model"]["n"] > 0
    out = tmp_path / "scores"
    assert cli.main(["score", "--data", str(small_root), "--out", str(out), "--reason-min-pd", "0"]) == 0
    con = store.connect(small_root)
    last = store.months(con)[-1]
    on_book = features.features(con, months=(last,)).height
    con.close()
    scores = pl.read_parquet(out / f"scores-{last:%Y-%m}.parquet")
    assert scores.height == on_book and scores["pd"].is_between(0, 1).all()
    assert scores["reason_1"].null_count() < scores.height
    printed = capsys.readouterr().out
    assert "scored" in printed and "B01" in printed


def test_refuses_a_model_of_another_sklearn_version(small_root, trained, tmp_path, capsys):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(trained, copy)
    meta = json.loads((copy / artifact.META_FILE).read_text())
    meta["versions"]["scikit-learn"] = "1.0.0"
    (copy / artifact.META_FILE).write_text(json.dumps(meta))
    assert cli.main(["score", "--data", str(small_root), "--model", str(copy)]) == 1
    assert "scikit-learn 1.0.0" in capsys.readouterr().err


def _user_table(n: int = 2_000) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    income = rng.lognormal(11, 0.5, n)
    late = rng.poisson(0.5, n)
    region = rng.choice(["north", "south", "west"], n)
    logit = -2.5 + 0.9 * late - 0.4 * (np.log(income) - 11) + (region == "west") * 0.6
    return pl.DataFrame({
        "obs_month": [f"2025-{m:02d}-01" for m in rng.integers(1, 11, n)], "income": income, "late_payments": late,
        "region": region, "customer": [f"K{i}" for i in range(n)],
        "bad": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)})


def test_fit_table_out_of_time(tmp_path, capsys):
    path = tmp_path / "history.csv"
    _user_table().write_csv(path)
    out = tmp_path / "mine"
    code = cli.main(["fit-table", str(path), "--target", "bad", "--time", "obs_month",
                     "--features", "income,late_payments,region", "--increasing", "late_payments",
                     "--max-iter", "30", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    loaded = artifact.load(artifact.latest(out))
    card = loaded.report["card"]
    assert card["numeric"] == ["income", "late_payments"] and card["categorical"] == ["region"]
    assert card["windows"]["test"] == ["2025-09-01", "2025-10-01"]  # the latest 20% of the 10 months
    assert loaded.report["metrics"]["model"]["auc"] > 0.6
    assert {r["variable"] for r in loaded.report["stability"]} == {"pd", "income", "late_payments", "region"}
    assert "out of time on obs_month" in capsys.readouterr().out


def test_fit_table_parquet_without_time_and_bad_input(tmp_path, capsys):
    path = tmp_path / "history.parquet"
    _user_table().drop("obs_month", "customer").write_parquet(path)
    assert cli.main(["fit-table", str(path), "--target", "bad", "--max-iter", "20"]) == 0
    assert artifact.latest(tmp_path / "history_model") is not None
    assert cli.main(["fit-table", str(path), "--target", "nope"]) == 1
    assert "nope" in capsys.readouterr().err


def test_module_entry_point():
    done = subprocess.run([sys.executable, "-m", "analytics.model", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert "fit-table" in done.stdout


def test_training_is_reproducible(small_root, trained):
    from analytics.model import training

    con = store.connect(small_root)
    again = training.train_store(con, horizon=3, history=3, max_iter=40).report  # the arguments of TRAIN_ARGS
    con.close()
    stored = artifact.read_meta(trained)["report"]
    assert again["metrics"] == stored["metrics"] and again["reference"] == stored["reference"]
