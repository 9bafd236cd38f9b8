"""Validation metrics on tiny hand-computed cases; PSI/CSI on known shifts."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.model import validation as v

Y = [0, 0, 1, 1]
P = [0.1, 0.4, 0.35, 0.8]


def test_auc_gini_ks_brier_by_hand():
    # Pairs (bad, good): 0.35 > 0.1, 0.35 < 0.4, 0.8 > 0.1, 0.8 > 0.4 -> AUC 3/4.
    assert v.auc(Y, P) == pytest.approx(0.75)
    assert v.gini(Y, P) == pytest.approx(0.5)
    # Cut at 0.8: TPR 1/2, FPR 0; at 0.4: 1/2, 1/2; at 0.35: 1, 1/2 -> KS = 1/2.
    assert v.ks(Y, P) == pytest.approx(0.5)
    assert v.brier(Y, P) == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)


def test_one_class_has_no_auc():
    s = v.summary([0, 0], [0.1, 0.2])
    assert s["auc"] is None and s["ks"] is None and s["gini"] is None and s["bads"] == 0


def test_calibration_by_bin_by_hand():
    got = v.calibration_table([0, 0, 1, 0], [0.1, 0.2, 0.3, 0.4], n_bins=2)
    expected = pl.DataFrame({"bin": [1, 2], "n": [2, 2], "mean_pd": [0.15, 0.35], "observed_rate": [0.0, 0.5]})
    assert_frame_equal(got, expected)


def test_lift_and_capture_by_hand():
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]  # 3 bads of 10: overall rate 0.3
    got = v.lift_table(y, p, n_bins=5)
    assert got["bads"].to_list() == [2, 1, 0, 0, 0]
    assert got["bad_rate"].to_list() == [1.0, 0.5, 0.0, 0.0, 0.0]
    assert got["lift"].to_list() == pytest.approx([1 / 0.3, 0.5 / 0.3, 0, 0, 0])
    assert got["capture"].to_list() == pytest.approx([2 / 3, 1, 1, 1, 1])
    assert got["cum_lift"].to_list() == pytest.approx([1 / 0.3, 0.75 / 0.3, 0.5 / 0.3, 0.375 / 0.3, 1.0])
    assert got["max_pd"].to_list() == [0.9, 0.7, 0.5, 0.3, 0.1]


def test_summary_by_group():
    frame = pl.DataFrame({"g": ["a", "a", "b", "b", "b"], "target": [0, 1, 0, 0, 1],
                          "pd": [0.2, 0.6, 0.1, 0.5, 0.4]})
    got = v.summary_by(frame, "g")
    assert got["g"].to_list() == ["a", "b"]
    assert got["auc"].to_list() == pytest.approx([1.0, 0.5])  # b: 0.4 beats 0.1, loses to 0.5
    assert got["bad_rate"].to_list() == pytest.approx([0.5, 1 / 3])


def test_numeric_bins_are_right_closed_with_a_missing_bin():
    shares = v.numeric_shares([1.0, 1.5, 2.0, 3.0, np.nan], [1.0, 2.0])
    assert shares.tolist() == pytest.approx([0.2, 0.4, 0.2, 0.2])


def test_psi_of_a_known_shift():
    ref = np.arange(100, dtype=float)  # uniform: quartile edges 24.75, 49.5, 74.25
    edges = v.quantile_edges(ref, n_bins=4)
    assert edges == pytest.approx([24.75, 49.5, 74.25])
    assert v.numeric_shares(ref, edges).tolist() == pytest.approx([0.25, 0.25, 0.25, 0.25, 0])
    # 10 / 20 / 30 / 40 values in the four bins
    actual = np.concatenate([np.full(10, 10.0), np.full(20, 30.0), np.full(30, 60.0), np.full(40, 90.0)])
    got = v.psi(v.numeric_shares(ref, edges), v.numeric_shares(actual, edges))
    expected = ((0.1 - 0.25) * math.log(0.1 / 0.25) + (0.2 - 0.25) * math.log(0.2 / 0.25)
                + (0.3 - 0.25) * math.log(0.3 / 0.25) + (0.4 - 0.25) * math.log(0.4 / 0.25))
    assert got == pytest.approx(expected) and got == pytest.approx(0.228218, abs=1e-6)
    assert v.psi_level(got) == "moderate"


def test_psi_replaces_a_zero_share_by_epsilon():
    got = v.psi([0.5, 0.5], [1.0, 0.0])
    expected = 0.5 * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert got == pytest.approx(expected) and got == pytest.approx(4.604319, abs=1e-6)
    assert v.psi_level(got) == "major" and v.psi_level(0.05) == "stable" and v.psi([0.3, 0.7], [0.3, 0.7]) == 0


def test_csi_of_a_category_shift():
    ref = v.reference_bins(pl.DataFrame({"c": ["a", "a", "b", "b"]}), (), ("c",))["c"]
    assert ref["categories"] == ["a", "b"] and ref["shares"] == [0.5, 0.5, 0.0]
    actual = v.shares_for(pl.Series(["a", "a", "a", "new"]), ref)  # an unseen category goes to the other bin
    assert actual.tolist() == [0.75, 0.0, 0.25]
    eps = 1e-4
    expected = (0.25 * math.log(0.75 / 0.5) + (eps - 0.5) * math.log(eps / 0.5) + (0.25 - eps) * math.log(0.25 / eps))
    assert v.psi(ref["shares"], actual) == pytest.approx(expected)


def test_stability_by_month_against_the_reference_month():
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    frame = pl.DataFrame({"month": [jan] * 4 + [feb] * 4, "x": [1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 4.0, 4.0],
                          "c": ["a", "b", "a", "b", "a", "a", "a", "a"]})
    ref = v.reference_bins(frame.filter(pl.col("month") == jan), ("x",), ("c",), n_bins=2)
    got = v.stability_by_month(frame, ref)
    assert got.filter(pl.col("month") == jan)["psi"].to_list() == [0.0, 0.0]
    feb_x = got.filter((pl.col("month") == feb) & (pl.col("variable") == "x"))["psi"][0]
    eps = 1e-4  # Jan bins (-inf, 2.5], (2.5, inf): 1/2, 1/2; Feb all in the second
    assert feb_x == pytest.approx((eps - 0.5) * math.log(eps / 0.5) + 0.5 * math.log(1 / 0.5))


def test_permutation_importance_finds_the_only_signal():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pl.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    y = (x["signal"].to_numpy() + 0.3 * rng.normal(size=400) > 0).astype(int)
    model = LogisticRegression().fit(x.to_numpy(), y)

    class Named:  # the pipelines take frames; a bare estimator takes arrays
        def predict_proba(self, frame):
            return model.predict_proba(frame.to_numpy())

    got = v.importance(Named(), x, y, n_repeats=2)
    assert got["feature"].to_list() == ["signal", "noise"]
    assert got["importance"][0] > 0.2 and abs(got["importance"][1]) < 0.02
