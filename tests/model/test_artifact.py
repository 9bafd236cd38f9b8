"""Artifacts: round trip through skops, refusal of another scikit-learn version, contract or an unknown type."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_series_equal

from analytics.model import artifact, pipeline, training


def _fitted() -> training.Fitted:
    rng = np.random.default_rng(1)
    n = 1_200
    df = pl.DataFrame({"t": rng.integers(1, 6, n), "x": rng.normal(size=n), "c": rng.choice(["u", "v"], n)})
    df = df.with_columns(target=(rng.random(n) < 1 / (1 + np.exp(2 - df["x"].to_numpy()))).astype(int))
    spec = training.table_spec(df, target="target", time="t", max_iter=20)
    return training.train_table(df, spec), df


def test_round_trip_and_refusals(tmp_path, monkeypatch):
    fitted, df = _fitted()
    path = artifact.save(fitted, tmp_path, contract=artifact.table_contract(fitted), version="v1")
    loaded = artifact.load(path, contract=artifact.table_contract(fitted))
    x = training.prepare_table(df, training.table_spec(df, target="target", time="t")).select("x", "c")
    assert_series_equal(pl.Series(pipeline.predict_pd(loaded.calibrated, x)),
                        pl.Series(pipeline.predict_pd(fitted.calibrated, x)))
    assert loaded.meta["versions"]["scikit-learn"] and loaded.report["card"]["target"] == "target"
    assert artifact.latest(tmp_path) == path

    with pytest.raises(artifact.ArtifactError, match="data contract") as err:
        artifact.load(path, contract="store-000000000000")
    assert err.value.reason == "contract"

    monkeypatch.setattr(artifact, "TRUSTED", [t for t in artifact.TRUSTED if "TreeBinner" not in t])
    with pytest.raises(artifact.ArtifactError, match="TreeBinner") as err:
        artifact.load(path)
    assert err.value.reason == "untrusted"
    monkeypatch.undo()

    meta = json.loads((path / artifact.META_FILE).read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (path / artifact.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(artifact.ArtifactError, match="scikit-learn 0.24.2") as err:
        artifact.load(path)
    assert err.value.reason == "sklearn_version"


def test_missing_artifact(tmp_path):
    with pytest.raises(artifact.ArtifactError) as err:
        artifact.load_latest(tmp_path)
    assert err.value.reason == "missing"
