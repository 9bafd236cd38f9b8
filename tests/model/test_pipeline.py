"""The two pipelines: monotonic constraints, tree binning, scorecard points."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from analytics.model import pipeline


def _table(n: int = 3_000, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    dpd = rng.choice([0.0, 0.0, 0.0, 15.0, 45.0, 75.0], size=n)
    ltv = rng.uniform(0.2, 1.2, size=n)
    kind = rng.choice(["a", "b"], size=n)
    logit = -3 + dpd / 25 + 1.5 * ltv + (kind == "b") * 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"dpd": dpd, "ltv": ltv, "kind": kind}), y


def test_main_model_is_monotonic_in_dpd_and_ltv():
    x, y = _table()
    model = pipeline.build_model(("dpd", "ltv"), ("kind",), ("dpd", "ltv"), max_iter=30).fit(x, y)
    grid = pl.DataFrame({"dpd": np.repeat(np.linspace(0, 90, 19), 2), "ltv": [0.5, 1.0] * 19, "kind": ["a"] * 38})
    p = pipeline.predict_pd(model, grid).reshape(19, 2)
    assert (np.diff(p, axis=0) >= -1e-12).all() and (p[:, 1] >= p[:, 0] - 1e-12).all()


def test_tree_binner_bins_and_labels():
    x = pl.DataFrame({"v": [0.0, 0.0, 1.0, 1.0, 5.0, 5.0, None, 5.0]})
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    binner = pipeline.TreeBinner(n_bins=2, min_share=0.1).fit(x, y)
    assert binner.edges_[0].tolist() == [3.0]  # one cut between 1 and 5
    assert binner.get_feature_names_out().tolist() == ["v|<= 3", "v|> 3", "v|missing"]
    assert binner.transform(x).tolist()[4:7] == [[0, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_scorecard_points_add_up_to_the_log_odds():
    x, y = _table()
    card = pipeline.build_scorecard(("dpd", "ltv"), ("kind",)).fit(x, y)
    base, points = pipeline.scorecard_points(card)
    assert set(points["feature"].unique().to_list()) == {"dpd", "ltv", "kind"}
    # score = base + points of the loan's bins = offset - factor * logit(PD)
    factor = pipeline.PDO / math.log(2)
    offset = pipeline.BASE_SCORE - factor * math.log(pipeline.BASE_ODDS)
    row = x[:1]
    onehot = card.named_steps["prep"].transform(row)[0]
    score = base + float(np.dot(onehot, points["points"].to_numpy()))
    p = pipeline.predict_pd(card, row)[0]
    assert score == pytest.approx(offset - factor * math.log(p / (1 - p)))
