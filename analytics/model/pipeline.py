"""The two models, each one sklearn Pipeline, and the calibration step.

- Main model: ``ColumnTransformer`` (numbers pass through, categories ordinal-encoded) →
  ``HistGradientBoostingClassifier`` with monotonic constraints where business sense requires them
  (more past delinquency, higher LTV → never lower risk), then calibrated on a recent out-of-time window
  with ``CalibratedClassifierCV(FrozenEstimator(model), method="isotonic")`` (the fitted trees are kept
  as they are; only the mapping score → PD is learned on the later window).
- Baseline: a scorecard, i.e. a logistic regression on binned features (numbers cut where a shallow tree on the
  target cuts them in the training window, missing values their own bin; categories one-hot), read as points per bin.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier

# Scorecard scaling [CONV]: 600 points at good:bad odds of 50:1, 20 points to double the odds.
BASE_SCORE = 600.0
BASE_ODDS = 50.0
PDO = 20.0


def build_model(numeric: tuple[str, ...], categorical: tuple[str, ...], increasing: tuple[str, ...] = (), *,
                max_iter: int = 300, learning_rate: float = 0.08, random_state: int = 0) -> Pipeline:
    """The main model, unfitted: categories ordinal-encoded (unknown and missing → NaN) into the boosted trees."""
    prep = ColumnTransformer(
        [("num", "passthrough", list(numeric)),
         ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                encoded_missing_value=np.nan), list(categorical))],
        verbose_feature_names_out=False,
    ).set_output(transform="polars")
    hgb = HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=31, min_samples_leaf=100,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.1, n_iter_no_change=20,
        categorical_features=list(categorical) or None,
        monotonic_cst={name: 1 for name in increasing} or None, random_state=random_state,
    )
    return Pipeline([("prep", prep), ("hgb", hgb)])


def calibrate(model: Pipeline, x_cal: pl.DataFrame, y_cal: np.ndarray) -> CalibratedClassifierCV:
    """Isotonic calibration of the frozen, already fitted ``model`` on the calibration window."""
    return CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(x_cal, y_cal)


class TreeBinner(TransformerMixin, BaseEstimator):
    """Numbers → one-hot bins; each feature is cut where a shallow decision tree on the target cuts it (at most
    ``n_bins`` leaves, each holding at least ``min_share`` of the rows), the usual supervised binning of a
    scorecard. A missing value is its own bin."""

    def __init__(self, n_bins: int = 6, min_share: float = 0.03):
        self.n_bins = n_bins
        self.min_share = min_share

    def fit(self, X, y):
        x = _as_float(X)
        y = np.asarray(y)
        self.feature_names_in_ = np.asarray(_names(X, x.shape[1]), dtype=object)
        self.n_features_in_ = x.shape[1]
        self.edges_ = [self._cuts(x[:, j], y) for j in range(x.shape[1])]
        return self

    def _cuts(self, col: np.ndarray, y: np.ndarray) -> np.ndarray:
        seen = ~np.isnan(col)
        if seen.sum() < 2 or np.unique(col[seen]).size < 2:
            return np.array([])
        tree = DecisionTreeClassifier(max_leaf_nodes=self.n_bins, min_samples_leaf=self.min_share, random_state=0)
        tree.fit(col[seen].reshape(-1, 1), y[seen])
        inner = tree.tree_.feature >= 0
        return np.unique(tree.tree_.threshold[inner])

    def transform(self, X):
        x = _as_float(X)
        blocks = []
        for j, edges in enumerate(self.edges_):
            k = len(edges) + 2  # bins 0..len(edges) plus the missing bin
            # a tree sends x <= threshold left: bin i holds edges[i-1] < x <= edges[i]
            idx = np.where(np.isnan(x[:, j]), k - 1, np.searchsorted(edges, np.nan_to_num(x[:, j]), side="left"))
            blocks.append(np.eye(k)[idx])
        return np.hstack(blocks) if blocks else np.empty((x.shape[0], 0))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"{name}|{label}" for name, edges in zip(self.feature_names_in_, self.edges_, strict=True)
                           for label in bin_labels(edges)], dtype=object)


def bin_labels(edges: np.ndarray) -> list[str]:
    """Readable labels of the bins cut at ``edges`` (right-closed, as a tree cuts), then the missing bin."""
    cuts = [f"{e:.4g}" for e in edges]
    if not cuts:
        return ["all", "missing"]
    return [f"<= {cuts[0]}", *[f"({a}, {b}]" for a, b in zip(cuts[:-1], cuts[1:], strict=True)],
            f"> {cuts[-1]}", "missing"]


def _as_float(X) -> np.ndarray:
    if isinstance(X, pl.DataFrame):
        return X.cast(pl.Float64).to_numpy()
    return np.asarray(X, dtype=float)


def _names(X, n: int) -> list[str]:
    return list(X.columns) if isinstance(X, pl.DataFrame) else [f"x{j}" for j in range(n)]


def build_scorecard(numeric: tuple[str, ...], categorical: tuple[str, ...], *, n_bins: int = 6,
                    C: float = 0.1) -> Pipeline:
    """The baseline scorecard, unfitted: binned numbers and one-hot categories into a logistic regression."""
    prep = ColumnTransformer(
        [("num", TreeBinner(n_bins), list(numeric)),
         ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(categorical))],
        verbose_feature_names_out=False,
    )
    return Pipeline([("prep", prep), ("lr", LogisticRegression(C=C, max_iter=2000))])


def scorecard_points(scorecard: Pipeline, *, base_score: float = BASE_SCORE, base_odds: float = BASE_ODDS,
                     pdo: float = PDO) -> tuple[float, pl.DataFrame]:
    """(base points, points per feature bin) of a fitted scorecard.

    score = offset − factor · logit(PD) with factor = PDO / ln 2 and offset = base_score − factor · ln(base_odds);
    logit(PD) = b0 + Σ b_j x_j, so base points = offset − factor · b0 and a bin scores −factor · b_j.
    A higher score means a lower risk.
    """
    factor = pdo / math.log(2)
    offset = base_score - factor * math.log(base_odds)
    lr = scorecard.named_steps["lr"]
    names = scorecard.named_steps["prep"].get_feature_names_out()
    rows = []
    for name, coef in zip(names, lr.coef_[0], strict=True):
        feature, _, bin_ = str(name).partition("|") if "|" in str(name) else _split_onehot(str(name), scorecard)
        rows.append((feature, bin_, -factor * float(coef)))
    table = pl.DataFrame(rows, schema={"feature": pl.String, "bin": pl.String, "points": pl.Float64}, orient="row")
    return offset - factor * float(lr.intercept_[0]), table


def _split_onehot(name: str, scorecard: Pipeline) -> tuple[str, str, str]:
    for feature in scorecard.named_steps["prep"].transformers_[1][2]:
        if name.startswith(f"{feature}_"):
            return feature, "_", name[len(feature) + 1:]
    return name, "_", ""


def predict_pd(model, x: pl.DataFrame) -> np.ndarray:
    """P(target = 1) for each row."""
    return model.predict_proba(x)[:, 1]
