"""Scores for the loans on the book at a month: PD, scorecard points, top reasons; expected defaults by branch.

- ``pd`` = calibrated probability that the loan reaches DPD > 90 or is written off / transferred / foreclosed
  within the model's horizon H (12 months by default), for loans active and not in default at the month.
  Loans already in default (DPD > 90) get no PD: they are counted apart (``in_default_*``).
- Reasons: for each feature, the main model's log-odds with that feature set to a neutral value (the training
  median, or the commonest category) instead of the loan's own; the features whose own value raises the
  log-odds most are the loan's top reasons (a what-if attribution, not SHAP). On a whole book they are
  worked out for loans with PD >= ``reason_min_pd`` only (they cost one prediction per feature).
- Expected default share of a branch = Σ PD ÷ loans (count) and Σ PD × balance ÷ balance (balance).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from analytics.core import store
from analytics.core.expr import safe_div
from analytics.core.slice import SLICE_SQL, slice_params
from analytics.model import artifact as art
from analytics.model import features as feat
from analytics.model import pipeline
from analytics.model.validation import SUMMARY_SCHEMA as _SUMMARY
from analytics.model.validation import model_card as model_card_of

TOP_REASONS = 3
REASON_MIN_PD = 0.20
"""[ILLUS] On a whole book, reasons are worked out for loans at or above this PD (a lookup always gets them)."""
PD_BANDS = (0.01, 0.02, 0.05, 0.10, 0.20)
"""Upper edges of the PD bands of ``pd_bands_by_branch`` (the last band is open)."""

SCORE_SCHEMA = {
    "loan_id": pl.String, "month": pl.Date, "branch_id": pl.String, "product": pl.String, "balance": pl.Float64,
    "dpd": pl.Float64, "pd": pl.Float64, "scorecard_pd": pl.Float64, "score": pl.Float64,
    **{f"reason_{i}": pl.String for i in range(1, TOP_REASONS + 1)},
}
BRANCH_SCHEMA = {
    "branch_id": pl.String, "loans": pl.Int64, "balance": pl.Float64, "expected_defaults_count": pl.Float64,
    "expected_defaults_balance": pl.Float64, "expected_default_share_count": pl.Float64,
    "expected_default_share_balance": pl.Float64, "in_default_count": pl.Int64, "in_default_balance": pl.Float64,
}


def _model(model: art.Artifact | None) -> art.Artifact:
    return model if model is not None else art.load_latest()


def points(p: np.ndarray) -> np.ndarray:
    """Scorecard points of a PD: offset − factor · logit(PD) (600 at odds 50:1, 20 points to double)."""
    factor = pipeline.PDO / math.log(2)
    offset = pipeline.BASE_SCORE - factor * math.log(pipeline.BASE_ODDS)
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return offset - factor * np.log(q / (1 - q))


def reasons(model: art.Artifact, x: pl.DataFrame, top: int = TOP_REASONS) -> pl.DataFrame:
    """The ``top`` features whose own value raises the main model's log-odds most over the neutral value
    (null where fewer features raise it). Only rows whose value differs from the neutral one are re-predicted."""
    neutral = model.report["neutral"]
    names = [c for c in x.columns if neutral.get(c) is not None]
    empty = {f"reason_{i}": pl.String for i in range(1, top + 1)}
    if x.is_empty() or not names:
        return pl.DataFrame({k: [None] * x.height for k in empty}, schema=empty)
    base = model.model.decision_function(x)
    raise_ = np.zeros((len(names), x.height))  # > 0: the loan's own value raises the risk
    parts, where = [], []
    for j, n in enumerate(names):
        rows = np.flatnonzero((x[n] != neutral[n]).fill_null(True).to_numpy())
        if rows.size:
            parts.append(x[rows].with_columns(pl.lit(neutral[n]).cast(x.schema[n]).alias(n)))
            where.append((j, rows))
    if parts:
        what_if = model.model.decision_function(pl.concat(parts))
        start = 0
        for j, rows in where:
            raise_[j, rows] = base[rows] - what_if[start:start + rows.size]
            start += rows.size
    order = np.argsort(-raise_, axis=0, kind="stable")[:top]
    out = {}
    for i in range(top):
        if i >= len(names):
            out[f"reason_{i + 1}"] = [None] * x.height
            continue
        idx = order[i]
        own = raise_[idx, np.arange(x.height)] > 1e-9
        out[f"reason_{i + 1}"] = [names[j] if keep else None for j, keep in zip(idx, own, strict=True)]
    return pl.DataFrame(out, schema=empty)


def score_frame(model: art.Artifact, frame: pl.DataFrame, *, reason_min_pd: float = 0.0) -> pl.DataFrame:
    """``frame`` (``features.features`` output) scored: PD, scorecard PD and points, reasons."""
    if frame.is_empty():
        return pl.DataFrame(schema=SCORE_SCHEMA)
    x = frame.select(feat.FEATURES)
    p = pipeline.predict_pd(model.calibrated, x)
    sc = pipeline.predict_pd(model.scorecard, x)
    scored = frame.select("loan_id", "month", "branch_id", "product", "balance", "dpd").with_columns(
        pl.Series("pd", p), pl.Series("scorecard_pd", sc), pl.Series("score", points(sc)))
    wanted = np.flatnonzero(p >= reason_min_pd)
    why = reasons(model, x[wanted])
    full = pl.DataFrame({c: [None] * frame.height for c in why.columns}, schema=why.schema)
    if wanted.size:
        full = full.with_row_index("_i").update(why.with_columns(pl.Series("_i", wanted, dtype=pl.UInt32)),
                                                 on="_i").drop("_i")
    return pl.concat([scored, full], how="horizontal").select(list(SCORE_SCHEMA))


def score_month(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                products: tuple[str, ...] = (), reason_min_pd: float = REASON_MIN_PD,
                model: art.Artifact | None = None) -> pl.DataFrame:
    """Every loan active and not in default at ``month``, scored (reasons from ``reason_min_pd`` up)."""
    frame = feat.features(con, months=(month,), branches=branches, products=products)
    return score_frame(_model(model), frame, reason_min_pd=reason_min_pd)


BOOK_SCHEMA = {"loan_id": pl.String, "branch_id": pl.String, "product": pl.String, "balance": pl.Float64,
               "dpd": pl.Float64, "pd": pl.Float64}
"""A month's whole book as scored (``book_scores``): what expected defaults, PD bands and ECL read."""
SCORES_DIR = "scores"
KEEP_VERSIONS = 2
"""Score files are kept for this many data versions per model (the newest ones); older ones are removed."""


def book_scores(con: duckdb.DuckDBPyConnection, *, month: dt.date, model: art.Artifact | None = None
                ) -> pl.DataFrame:
    """Every loan scorable at ``month`` (active, not in default), all branches and products, PD only (no
    reasons): scored once per month, model and data version, then cut to any slice by ``in_slice``."""
    scored = score_month(con, month=month, reason_min_pd=2.0, model=model)
    return scored.select(list(BOOK_SCHEMA)).cast(BOOK_SCHEMA)


def in_slice(book: pl.DataFrame, branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The rows of ``book`` in the slice: the same loans ``score_month`` scores for it (the loan's branch and
    product, ``features.SLICE_SQL``)."""
    if branches:
        book = book.filter(pl.col("branch_id").is_in(list(branches)))
    if products:
        book = book.filter(pl.col("product").is_in(list(products)))
    return book


def scores_file(model: art.Artifact, data_version: str, month: dt.date) -> Path:
    """Where the book scores of ``month`` under ``data_version`` are kept: next to the model that made them."""
    return Path(model.path) / SCORES_DIR / data_version / f"{month:%Y-%m}.parquet"


def cached_book_scores(con: duckdb.DuckDBPyConnection, *, month: dt.date, model: art.Artifact,
                       data_version: str) -> pl.DataFrame:
    """``book_scores`` read from its file when an earlier run wrote it (same model, same data version: the
    same numbers), else computed and written (a new file appears whole: written aside, then renamed).

    ``data_version`` must be the version ``con`` reads (``store.pinned``), so a file never holds the scores of
    another version. An unreadable file is scored again and replaced. Files of older data versions are
    removed, the newest ``KEEP_VERSIONS`` kept."""
    path = scores_file(model, data_version, month)
    if path.is_file():
        try:
            return pl.read_parquet(path).select(list(BOOK_SCHEMA)).cast(BOOK_SCHEMA)
        except (OSError, pl.exceptions.PolarsError):
            pass  # damaged or from an older layout: score again below
    book = book_scores(con, month=month, model=model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        book.write_parquet(tmp)
        os.replace(tmp, path)
        _prune(path.parent.parent, keep=data_version)
    except OSError:
        pass  # a read-only model folder: the scores are still returned, only not kept
    return book


def warm_latest(root: str | os.PathLike | None, model: art.Artifact) -> dt.date | None:
    """Score the newest month's book into its file (``cached_book_scores``) over the version published now:
    what training does last, so the first page that shows PDs reads them instead of scoring."""
    from analytics.core import engine

    root = store.data_root(root)
    data_version, manifest = store.pinned(root)
    con = engine.open_engine(root, manifest)
    try:
        months = store.months(con)
        if not months:
            return None
        cached_book_scores(con, month=months[-1], model=model, data_version=data_version)
        return months[-1]
    finally:
        con.close()


def _prune(scores_dir: Path, *, keep: str) -> None:
    versions = sorted((p for p in scores_dir.iterdir() if p.is_dir() and p.name != keep),
                      key=lambda p: p.stat().st_mtime_ns)
    for old in versions[:max(0, len(versions) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def pd_for_loans(con: duckdb.DuckDBPyConnection, *, month: dt.date, loan_ids: tuple[str, ...],
                 reason_min_pd: float = 0.0, model: art.Artifact | None = None) -> pl.DataFrame:
    """PD, points and top reasons (from ``reason_min_pd`` up) of the given loans at ``month``. Loans not
    scorable there are absent: not on the book, or already in default."""
    if not loan_ids:
        return pl.DataFrame(schema=SCORE_SCHEMA)
    frame = feat.features(con, months=(month,), loan_ids=tuple(loan_ids))
    return score_frame(_model(model), frame, reason_min_pd=reason_min_pd)


def pd_history(con: duckdb.DuckDBPyConnection, *, loan_id: str, model: art.Artifact | None = None) -> pl.DataFrame:
    """One loan's PD and reasons at every month it was scorable (active, not in default), oldest first."""
    frame = feat.features(con, months=tuple(store.months(con)), loan_ids=(loan_id,))
    return score_frame(_model(model), frame)


IN_DEFAULT_SQL = """
SELECT l.branch_id, count(*)::BIGINT AS in_default_count, sum(s.outstanding_principal)::DOUBLE AS in_default_balance
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month = $month AND s.status = 'active' AND s.dpd > $default_dpd AND """ + SLICE_SQL + """
GROUP BY l.branch_id"""


def expected_defaults_by_branch(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                                products: tuple[str, ...] = (), model: art.Artifact | None = None) -> pl.DataFrame:
    """Per branch: loans scored, balance, expected defaults within H months (Σ PD, Σ PD × balance), their
    shares, and the loans already in default (not scored)."""
    scored = score_month(con, month=month, branches=branches, products=products, reason_min_pd=2.0, model=model)
    return expected_defaults(con, scored, month=month, branches=branches, products=products)


def expected_defaults(con: duckdb.DuckDBPyConnection, scored: pl.DataFrame, *, month: dt.date,
                      branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """``expected_defaults_by_branch`` from an already scored book (``score_month`` output)."""
    expected = scored.group_by("branch_id").agg(
        pl.len().cast(pl.Int64).alias("loans"), pl.col("balance").sum(),
        pl.col("pd").sum().alias("expected_defaults_count"),
        (pl.col("pd") * pl.col("balance")).sum().alias("expected_defaults_balance"))
    in_default = store.query(con, IN_DEFAULT_SQL, {"month": month, "default_dpd": feat.DEFAULT_DPD,
                                                   **slice_params(branches, products)},
                             {"branch_id": pl.String, "in_default_count": pl.Int64, "in_default_balance": pl.Float64})
    out = expected.join(in_default, on="branch_id", how="full", coalesce=True).with_columns(
        pl.col("loans", "in_default_count").fill_null(0),
        pl.col("balance", "expected_defaults_count", "expected_defaults_balance", "in_default_balance").fill_null(0.0))
    return out.with_columns(
        safe_div(pl.col("expected_defaults_count"), pl.col("loans")).alias("expected_default_share_count"),
        safe_div(pl.col("expected_defaults_balance"), pl.col("balance")).alias("expected_default_share_balance"),
    ).select(list(BRANCH_SCHEMA)).cast(BRANCH_SCHEMA).sort("branch_id")


def band_labels() -> list[str]:
    edges = [f"{e:.0%}" for e in PD_BANDS]
    return [f"<{edges[0]}", *[f"{a}-{b}" for a, b in zip(edges[:-1], edges[1:], strict=True)], f">={edges[-1]}"]


def pd_bands_by_branch(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                       products: tuple[str, ...] = (), model: art.Artifact | None = None) -> pl.DataFrame:
    """Loans and balance per branch and PD band (bands of ``PD_BANDS``; ``band`` 0 = lowest)."""
    return pd_bands(score_month(con, month=month, branches=branches, products=products, reason_min_pd=2.0,
                                model=model))


def pd_bands(scored: pl.DataFrame) -> pl.DataFrame:
    """``pd_bands_by_branch`` from an already scored book."""
    labels = band_labels()
    band = pl.Series("band", np.searchsorted(np.asarray(PD_BANDS), scored["pd"].to_numpy(), side="right"),
                     dtype=pl.Int64)
    return (scored.with_columns(band).group_by("branch_id", "band")
            .agg(pl.len().cast(pl.Int64).alias("loans"), pl.col("balance").sum())
            .with_columns(pl.col("band").replace_strict(dict(enumerate(labels)), return_dtype=pl.String)
                          .alias("band_label"))
            .sort("branch_id", "band"))


def book_by_branch(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                   products: tuple[str, ...] = (), model: art.Artifact | None = None
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``expected_defaults_by_branch``, ``pd_bands_by_branch``) from one scoring of the book."""
    scored = score_month(con, month=month, branches=branches, products=products, reason_min_pd=2.0, model=model)
    return book_frames(con, scored, month=month, branches=branches, products=products)


def book_frames(con: duckdb.DuckDBPyConnection, scored: pl.DataFrame, *, month: dt.date,
                branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``book_by_branch`` from an already scored slice (``in_slice`` of ``book_scores``)."""
    return expected_defaults(con, scored, month=month, branches=branches, products=products), pd_bands(scored)


def report_frame(model: art.Artifact, *path: str) -> pl.DataFrame:
    """A table of the stored validation report as a frame (e.g. ``"lift", "model"``)."""
    node = model.report
    for key in path:
        node = node[key]
    return pl.DataFrame(node) if node else pl.DataFrame()


def model_card(model: art.Artifact) -> dict:
    """The model card of a loaded artifact (``validation.model_card``)."""
    return model_card_of(model.meta, version=model.version)


def metrics_table(model: art.Artifact) -> pl.DataFrame:
    """The out-of-time metrics of the stored report, one row per model."""
    rows = [{"model": name, **m} for name, m in model.report["metrics"].items()]
    return pl.DataFrame(rows, schema={"model": pl.String, **_SUMMARY})


def stability_table(model: art.Artifact) -> pl.DataFrame:
    """PSI (variable ``pd``) and CSI of each feature by month: from the newest evaluation when there is one
    (it covers the months added since training), else as computed at training."""
    evaluation = model.latest_evaluation()
    rows = (evaluation or {}).get("stability") or model.report.get("stability") or []
    schema = {"month": pl.String, "variable": pl.String, "n": pl.Int64, "psi": pl.Float64, "level": pl.String}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return frame.with_columns(pl.col("month").str.to_date())


def stability_wide(model: art.Artifact, variables: tuple[str, ...]) -> pl.DataFrame:
    """CSI by month (rows) and variable (columns) for a heatmap."""
    long = stability_table(model).filter(pl.col("variable").is_in(list(variables)))
    if long.is_empty():
        return pl.DataFrame({"month": []}, schema={"month": pl.Date})
    return long.pivot(on="variable", index="month", values="psi").sort("month").select("month", *[
        v for v in variables if v in long["variable"].unique().to_list()])


def group_table(model: art.Artifact, *, which: str, group: str) -> pl.DataFrame:
    """The stored metrics of one model (``model`` | ``scorecard``) by ``branch_id`` or ``product``."""
    rows = model.report["by_group"][which].get(group) or []
    return pl.DataFrame(rows, schema={group: pl.String, **_SUMMARY}) if rows else pl.DataFrame(
        schema={group: pl.String, **_SUMMARY})


def attach(frame: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (any table with ``loan_id``) with the PD, points and reasons of ``scores`` joined on the loan
    (null where the loan was not scored: not on the book at the month, or already in default)."""
    columns = ["loan_id", "pd", "score", *[f"reason_{i}" for i in range(1, TOP_REASONS + 1)]]
    return frame.join(scores.select(columns), on="loan_id", how="left", maintain_order="left")
