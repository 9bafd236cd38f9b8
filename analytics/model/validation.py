"""Validation (DOMAIN.md §8.2): discrimination, calibration, lift, stability and importance.

All functions take plain arrays / Polars frames of outcomes ``y`` (0/1) and predicted PDs ``p``.

- AUC = P(score of a random bad > score of a random good); Gini = 2·AUC − 1.
- KS = max over cut-offs of |F_bad(s) − F_good(s)| = max(TPR − FPR) on the ROC curve.
- Brier = mean (p − y)².
- Calibration by decile: rows sorted by PD cut into 10 equal-count bins; mean PD vs observed rate per bin.
- Lift / capture: rows sorted by PD, riskiest first, cut into 10 equal-count bins; lift = bin bad rate ÷
  overall bad rate; capture = share of all bads in the bins so far.
- PSI = Σ_i (A_i − E_i)·ln(A_i ÷ E_i) over bins fixed on the reference (training) window: the reference's
  deciles for a number (right-closed, as ``np.quantile`` cuts), one bin per category for a category, and one
  bin for missing values; a zero share is replaced by ε = 1e-4 before the log. CSI is the same on one feature.
  Thresholds [CONV]: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

EPS = 1e-4
PSI_STABLE = 0.1
PSI_MAJOR = 0.25
N_BINS = 10

SUMMARY_SCHEMA = {"n": pl.Int64, "bads": pl.Int64, "bad_rate": pl.Float64, "mean_pd": pl.Float64,
                  "auc": pl.Float64, "gini": pl.Float64, "ks": pl.Float64, "brier": pl.Float64}


def _two_classes(y: np.ndarray) -> bool:
    return y.size > 0 and 0 < y.sum() < y.size


def auc(y, p) -> float | None:
    y, p = np.asarray(y), np.asarray(p)
    return float(roc_auc_score(y, p)) if _two_classes(y) else None


def gini(y, p) -> float | None:
    a = auc(y, p)
    return None if a is None else 2 * a - 1


def ks(y, p) -> float | None:
    y, p = np.asarray(y), np.asarray(p)
    if not _two_classes(y):
        return None
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def brier(y, p) -> float | None:
    y, p = np.asarray(y), np.asarray(p)
    return float(brier_score_loss(y, p)) if y.size else None


def summary(y, p) -> dict[str, float | int | None]:
    """n, bads, bad rate, mean PD, AUC, Gini, KS, Brier of one sample."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    return {"n": int(y.size), "bads": int(y.sum()), "bad_rate": float(y.mean()) if y.size else None,
            "mean_pd": float(p.mean()) if y.size else None, "auc": auc(y, p), "gini": gini(y, p), "ks": ks(y, p),
            "brier": brier(y, p)}


def summary_by(frame: pl.DataFrame, group: str, *, y: str = "target", p: str = "pd") -> pl.DataFrame:
    """``summary`` per value of ``group`` (sorted)."""
    rows = [{group: key, **summary(part[y].to_numpy(), part[p].to_numpy())}
            for (key,), part in frame.partition_by(group, as_dict=True).items()]
    return pl.DataFrame(rows, schema={group: frame.schema[group], **SUMMARY_SCHEMA}).sort(group)


def _equal_count_bins(p: np.ndarray, n_bins: int, *, descending: bool) -> np.ndarray:
    """Bin 1..n_bins of each row by rank of ``p`` (stable on ties), equal counts up to one row."""
    order = np.argsort(-p if descending else p, kind="stable")
    ranks = np.empty(p.size, dtype=np.int64)
    ranks[order] = np.arange(p.size)
    return ranks * n_bins // max(p.size, 1) + 1


def calibration_table(y, p, n_bins: int = N_BINS) -> pl.DataFrame:
    """Per PD decile (1 = lowest PD): rows, mean predicted PD, observed default rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    frame = pl.DataFrame({"bin": _equal_count_bins(p, n_bins, descending=False), "y": y, "p": p})
    return (frame.group_by("bin").agg(pl.len().cast(pl.Int64).alias("n"), pl.col("p").mean().alias("mean_pd"),
                                      pl.col("y").mean().alias("observed_rate"))
            .sort("bin").with_columns(pl.col("bin").cast(pl.Int64)))


def lift_table(y, p, n_bins: int = N_BINS) -> pl.DataFrame:
    """Per decile, riskiest first: rows, bads, bad rate, lift, cumulative bads, capture rate, cumulative lift,
    PD range."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    total_bads = y.sum()
    overall = total_bads / y.size if y.size else None
    frame = pl.DataFrame({"bin": _equal_count_bins(p, n_bins, descending=True), "y": y, "p": p})
    table = (frame.group_by("bin")
             .agg(pl.len().cast(pl.Int64).alias("n"), pl.col("y").sum().cast(pl.Int64).alias("bads"),
                  pl.col("p").min().alias("min_pd"), pl.col("p").max().alias("max_pd"))
             .sort("bin").with_columns(pl.col("bin").cast(pl.Int64)))
    cum_n = pl.col("n").cum_sum()
    cum_bads = pl.col("bads").cum_sum()
    return table.with_columns(
        (pl.col("bads") / pl.col("n")).alias("bad_rate"),
        (pl.col("bads") / pl.col("n") / overall if overall else pl.lit(None, pl.Float64)).alias("lift"),
        cum_bads.alias("cum_bads"),
        (cum_bads / total_bads if total_bads else pl.lit(None, pl.Float64)).alias("capture"),
        (cum_bads / cum_n / overall if overall else pl.lit(None, pl.Float64)).alias("cum_lift"),
    ).select("bin", "n", "bads", "bad_rate", "lift", "cum_bads", "capture", "cum_lift", "min_pd", "max_pd")


# --- stability -------------------------------------------------------------------------------------------


def quantile_edges(values, n_bins: int = N_BINS) -> list[float]:
    """Interior bin edges at the reference's quantiles (ties merged); missing values ignored."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if not x.size:
        return []
    return [float(e) for e in np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1]))]


def numeric_shares(values, edges: list[float]) -> np.ndarray:
    """Shares of the bins (-inf, e1], (e1, e2], ..., (ek, inf), missing."""
    x = np.asarray(values, dtype=float)
    idx = np.where(np.isnan(x), len(edges) + 1, np.searchsorted(np.asarray(edges), np.nan_to_num(x), side="left"))
    counts = np.bincount(idx, minlength=len(edges) + 2)
    return counts / max(x.size, 1)


def category_shares(values, categories: list[str]) -> np.ndarray:
    """Shares of each reference category, then one bin for any other value or a missing one."""
    s = pl.Series(values, dtype=pl.String)
    counts = [int((s == c).sum()) for c in categories]
    counts.append(s.len() - sum(counts))
    return np.asarray(counts) / max(s.len(), 1)


def psi(expected, actual, eps: float = EPS) -> float:
    """Σ (A − E)·ln(A ÷ E) with zero shares replaced by ``eps``."""
    e = np.where(np.asarray(expected, dtype=float) == 0, eps, expected)
    a = np.where(np.asarray(actual, dtype=float) == 0, eps, actual)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_level(value: float | None) -> str | None:
    """``stable`` (< 0.1), ``moderate`` (0.1–0.25), ``major`` (> 0.25)."""
    if value is None:
        return None
    return "stable" if value < PSI_STABLE else "moderate" if value <= PSI_MAJOR else "major"


def reference_bins(frame: pl.DataFrame, numeric: tuple[str, ...], categorical: tuple[str, ...],
                   n_bins: int = N_BINS) -> dict[str, dict]:
    """The bins and shares of the reference window for each column (stored with the model)."""
    ref: dict[str, dict] = {}
    for name in numeric:
        edges = quantile_edges(frame[name].to_numpy(), n_bins)
        ref[name] = {"kind": "numeric", "edges": edges,
                     "shares": numeric_shares(frame[name].to_numpy(), edges).tolist()}
    for name in categorical:
        categories = sorted(str(v) for v in frame[name].drop_nulls().unique().to_list())
        ref[name] = {"kind": "categorical", "categories": categories,
                     "shares": category_shares(frame[name], categories).tolist()}
    return ref


def shares_for(values, bins: dict) -> np.ndarray:
    if bins["kind"] == "numeric":
        return numeric_shares(values, bins["edges"])
    return category_shares(values, bins["categories"])


def stability_by_month(frame: pl.DataFrame, reference: dict[str, dict], *, month: str = "month") -> pl.DataFrame:
    """PSI (the score) / CSI (each feature) of each month of ``frame`` against the reference bins."""
    rows = []
    for (m,), part in sorted(frame.partition_by(month, as_dict=True).items()):
        for name, bins in reference.items():
            if name in part.columns:
                value = psi(bins["shares"], shares_for(part[name].to_numpy() if bins["kind"] == "numeric"
                                                       else part[name], bins))
                rows.append({"month": m, "variable": name, "n": part.height, "psi": value, "level": psi_level(value)})
    schema = {"month": frame.schema[month] if month in frame.columns else pl.Date, "variable": pl.String,
              "n": pl.Int64, "psi": pl.Float64, "level": pl.String}
    return pl.DataFrame(rows, schema=schema)


# --- importance ------------------------------------------------------------------------------------------


def importance(model, x: pl.DataFrame, y: np.ndarray, *, n_repeats: int = 3, max_rows: int = 10_000,
               random_state: int = 0) -> pl.DataFrame:
    """Permutation importance: the drop in AUC when one feature's values are shuffled (on at most
    ``max_rows`` rows of the test window), mean and standard deviation over ``n_repeats`` shuffles.
    (Written out because ``sklearn.inspection.permutation_importance`` turns a Polars frame into an array,
    which a ColumnTransformer selecting columns by name rejects.)"""
    rng = np.random.default_rng(random_state)
    y = np.asarray(y)
    if x.height > max_rows:
        idx = np.sort(rng.choice(x.height, max_rows, replace=False))
        x, y = x[idx], y[idx]
    if not _two_classes(y):
        return pl.DataFrame(schema={"feature": pl.String, "importance": pl.Float64, "std": pl.Float64})
    base = roc_auc_score(y, model.predict_proba(x)[:, 1])
    rows = []
    for name in x.columns:
        drops = [base - roc_auc_score(y, model.predict_proba(
            x.with_columns(x[name].gather(rng.permutation(x.height))))[:, 1]) for _ in range(n_repeats)]
        rows.append({"feature": name, "importance": float(np.mean(drops)), "std": float(np.std(drops))})
    return pl.DataFrame(rows).sort("importance", descending=True)
