"""Fit, calibrate and validate both models on one frame of observations, split out of time.

The observation times are cut into three consecutive windows: the oldest for fitting, the next for
calibration, the latest for the out-of-time test (``split_times``). Every metric of the report is computed on
the test window, which neither the trees, the calibration nor the scorecard have seen.

``train_store`` builds the observations from the store (``features.labelled_features``);
``train_table`` takes any table with one row per observation (``fit-table``).
"""

from __future__ import annotations

import datetime as dt
import math
import platform
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl
import sklearn

from analytics.core import months as mo
from analytics.core import store
from analytics.core.slice import list_param
from analytics.model import features as feat
from analytics.model import pipeline, validation

TEST_SHARE = 0.2
CALIBRATION_SHARE = 0.2
MAX_TRAIN_ROWS = 600_000
"""Observations kept for fitting and validation; above it loans are sampled by a stable hash of their id."""
MAX_MONITOR_ROWS = 300_000
"""Rows read per PSI/CSI run over all months (sampled the same way)."""

LIMITS = (
    ("演示数据为模拟账簿：指标衡量的是模型对模拟规则的还原程度，不代表真实银行的表现。",
     "The demo book is simulated: the metrics measure how well the model recovers the simulator's rules, not "
     "how it would do on a real bank's book."),
    ("训练、校准与测试窗口的表现期相互重叠（按观察月份划分的样本外验证）；宏观冲击只在部分窗口出现。",
     "The performance windows of the train, calibration and test observations overlap (out of time by "
     "observation month); a macro shock falls in some windows only."),
    ("违约定义只看逾期天数与处置（核销、转让、以物抵债），不含其他“不太可能偿还”迹象。",
     "The default flag sees DPD and disposals (write-off, transfer, foreclosure) only, no other "
     "unlikely-to-pay signs."),
    ("PD 为未来 H 个月违约概率（不是边际 PD 或整个存续期 PD），不能直接代入多期 ECL。",
     "The PD is the probability of default within H months (not a marginal or lifetime PD); it does not go "
     "straight into a multi-period ECL."),
)


@dataclass(frozen=True)
class Spec:
    """What to fit: the columns and their roles."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    increasing: tuple[str, ...] = ()
    target: str = "target"
    time: str | None = "month"
    group_columns: tuple[str, ...] = ("branch_id", "product")
    max_iter: int = 300
    random_state: int = 0

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


@dataclass
class Fitted:
    """The fitted models and the validation report (JSON-ready)."""

    model: object  # the main Pipeline, uncalibrated (reasons use its log-odds)
    calibrated: object  # CalibratedClassifierCV over the frozen main model: the PD
    scorecard: object  # the baseline Pipeline
    report: dict = field(default_factory=dict)


def split_times(times: list, *, test_share: float = TEST_SHARE,
                calibration_share: float = CALIBRATION_SHARE) -> tuple[list, list, list]:
    """(train, calibration, test) distinct times, oldest to latest; each window gets at least one time."""
    times = sorted(set(times))
    if len(times) < 3:
        raise ValueError(f"an out-of-time split needs at least 3 distinct observation times, got {len(times)}")
    n_test = max(1, round(len(times) * test_share))
    n_cal = max(1, round(len(times) * calibration_share))
    n_train = len(times) - n_test - n_cal
    if n_train < 1:
        n_train, n_cal, n_test = 1, 1, len(times) - 2
    return times[:n_train], times[n_train:n_train + n_cal], times[n_train + n_cal:]


def random_windows(n: int, random_state: int = 0) -> np.ndarray:
    """Without a time column: 0 = train (60%), 1 = calibration (20%), 2 = test (20%), at random."""
    u = np.random.default_rng(random_state).random(n)
    return np.where(u < 1 - TEST_SHARE - CALIBRATION_SHARE, 0, np.where(u < 1 - TEST_SHARE, 1, 2))


def _windows(frame: pl.DataFrame, spec: Spec) -> tuple[pl.DataFrame, dict]:
    if spec.time:
        train, cal, test = split_times(frame[spec.time].to_list())
        window = (pl.when(pl.col(spec.time).is_in(train)).then(0)
                  .when(pl.col(spec.time).is_in(cal)).then(1).otherwise(2))
        frame = frame.with_columns(window.alias("_window"))
        spans = {"train": [train[0], train[-1]], "calibration": [cal[0], cal[-1]], "test": [test[0], test[-1]]}
    else:
        frame = frame.with_columns(pl.Series("_window", random_windows(frame.height, spec.random_state)))
        spans = {"train": None, "calibration": None, "test": None, "split": "random 60/20/20"}
    return frame, spans


def fit(frame: pl.DataFrame, spec: Spec) -> Fitted:
    """Split, fit the main model and the scorecard on the train window, calibrate the main model on the
    calibration window, and validate both on the test window."""
    frame, spans = _windows(frame, spec)
    parts = {name: frame.filter(pl.col("_window") == i) for i, name in enumerate(("train", "calibration", "test"))}
    for name, part in parts.items():
        y = part[spec.target]
        if part.is_empty() or y.n_unique() < 2:
            raise ValueError(f"the {name} window needs both outcomes (0 and 1) of {spec.target!r}")
    x = {name: part.select(spec.features) for name, part in parts.items()}
    y = {name: part[spec.target].cast(pl.Int8).to_numpy() for name, part in parts.items()}
    model = pipeline.build_model(spec.numeric, spec.categorical, spec.increasing, max_iter=spec.max_iter,
                                 random_state=spec.random_state).fit(x["train"], y["train"])
    calibrated = pipeline.calibrate(model, x["calibration"], y["calibration"])
    scorecard = pipeline.build_scorecard(spec.numeric, spec.categorical).fit(x["train"], y["train"])
    fitted = Fitted(model, calibrated, scorecard)
    fitted.report = _report(fitted, parts, x, y, spec, spans)
    return fitted


def _records(df: pl.DataFrame) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()} for row in df.to_dicts()]


def _report(fitted: Fitted, parts: dict, x: dict, y: dict, spec: Spec, spans: dict) -> dict:
    test = parts["test"]
    pds = {"model": pipeline.predict_pd(fitted.calibrated, x["test"]),
           "model_uncalibrated": pipeline.predict_pd(fitted.model, x["test"]),
           "scorecard": pipeline.predict_pd(fitted.scorecard, x["test"])}
    report: dict = {"metrics": {k: validation.summary(y["test"], p) for k, p in pds.items()},
                    "calibration": {}, "lift": {}, "by_group": {}}
    for name in ("model", "scorecard"):
        report["calibration"][name] = _records(validation.calibration_table(y["test"], pds[name]))
        report["lift"][name] = _records(validation.lift_table(y["test"], pds[name]))
        scored = test.with_columns(pl.Series("pd", pds[name]))
        report["by_group"][name] = {g: _records(validation.summary_by(scored, g, y=spec.target))
                                    for g in spec.group_columns if g in test.columns}
    report["importance"] = _records(validation.importance(fitted.calibrated, x["test"], y["test"]))
    train_pd = pipeline.predict_pd(fitted.calibrated, x["train"])
    reference = validation.reference_bins(parts["train"].with_columns(pl.Series("pd", train_pd)),
                                          ("pd", *spec.numeric), spec.categorical)
    base, points = pipeline.scorecard_points(fitted.scorecard)
    report["scorecard"] = {"base_points": base, "points": _records(points)}
    report["reference"] = reference
    report["neutral"] = _neutral(parts["train"], spec)
    report["card"] = {
        "target": spec.target, "features": list(spec.features), "numeric": list(spec.numeric),
        "categorical": list(spec.categorical), "increasing": list(spec.increasing), "time": spec.time,
        "windows": {k: ([str(v) for v in span] if isinstance(span, list) else span) for k, span in spans.items()},
        "rows": {k: {"n": int(v.height), "bads": int(v[spec.target].sum())} for k, v in parts.items()},
        "trees": int(fitted.model.named_steps["hgb"].n_iter_),
        "limits": [list(pair) for pair in LIMITS],
    }
    return report


def _neutral(train: pl.DataFrame, spec: Spec) -> dict[str, object]:
    """The value a feature is set to in the what-if of the reasons: the training median or the commonest category."""
    neutral: dict[str, object] = {}
    for name in spec.numeric:
        median = train[name].cast(pl.Float64).median()
        neutral[name] = None if median is None or math.isnan(median) else float(median)
    for name in spec.categorical:
        mode = train[name].drop_nulls().mode().sort()
        neutral[name] = mode[0] if mode.len() else None
    return neutral


def versions() -> dict[str, str]:
    import duckdb as _duckdb
    import skops

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "polars": pl.__version__, "duckdb": _duckdb.__version__, "skops": skops.__version__}


# --- the store ---------------------------------------------------------------------------------------------

STORE_SPEC = Spec(numeric=feat.NUMERIC, categorical=feat.CATEGORICAL, increasing=feat.INCREASING)


def keep_per_mille(con: duckdb.DuckDBPyConnection, months: list[dt.date], max_rows: int) -> int:
    """The per-mille of loans to keep so that about ``max_rows`` snapshot rows of ``months`` are read."""
    if not months:
        return 1000
    n = store.query(con, "SELECT count(*)::BIGINT AS n FROM snapshots WHERE list_contains($m, month)",
                    {"m": list_param(months, "DATE")})["n"][0]
    return 1000 if n <= max_rows else max(1, math.floor(1000 * max_rows / n))


def store_observations(con: duckdb.DuckDBPyConnection, *, horizon: int = feat.HORIZON, history: int = feat.LOOKBACK,
                       max_rows: int = MAX_TRAIN_ROWS) -> tuple[pl.DataFrame, int]:
    months = feat.observation_months(con, horizon=horizon, history=history)
    if len(months) < 3:
        raise ValueError(f"the store needs at least {history + horizon + 2} months for {history} months of history, "
                         f"a {horizon}-month performance window and three observation months; "
                         f"it has {len(store.months(con))}")
    keep = keep_per_mille(con, months, max_rows)
    return feat.labelled_features(con, months=tuple(months), horizon=horizon, keep_per_mille=keep), keep


def train_store(con: duckdb.DuckDBPyConnection, *, horizon: int = feat.HORIZON, history: int = feat.LOOKBACK,
                max_rows: int = MAX_TRAIN_ROWS, max_iter: int = 300) -> Fitted:
    """Observations from the store, split by observation month, fitted and validated; PSI/CSI by month."""
    frame, keep = store_observations(con, horizon=horizon, history=history, max_rows=max_rows)
    spec = Spec(STORE_SPEC.numeric, STORE_SPEC.categorical, STORE_SPEC.increasing, max_iter=max_iter)
    fitted = fit(frame, spec)
    fitted.report["card"] |= {"horizon": horizon, "history": history, "default_dpd": feat.DEFAULT_DPD,
                              "sample_per_mille": keep, "feature_version": feat.FEATURE_VERSION,
                              "exclusions": EXCLUSIONS}
    fitted.report["stability"] = _records(monitor(con, fitted, history=history))
    return fitted


EXCLUSIONS = [
    ["观察月已违约（逾期 > 90 天）的贷款不进入样本：它们已无“是否违约”的问题。",
     "Loans already in default at the observation month (DPD > 90) are excluded: there is no default left "
     "to predict."],
    ["观察月已退出（结清、核销、转让、以物抵债）的贷款不进入样本。",
     "Loans that have exited by the observation month (paid off, written off, transferred, foreclosed) are "
     "excluded."],
    ["表现期（观察月后 H 个月）未完整落在数据内的观察月不用于训练与验证。",
     "Observation months whose whole performance window (H months after) is not in the store are not used "
     "for fitting or validation."],
    ["结清视为非违约（好客户）。", "Paying off counts as not defaulting (good)."],
]


def monitor(con: duckdb.DuckDBPyConnection, fitted: Fitted, *, history: int = feat.LOOKBACK,
            max_rows: int = MAX_MONITOR_ROWS) -> pl.DataFrame:
    """PSI of the PD and CSI of each numeric and categorical feature, every month with ``history`` months
    of lookback in the store (targets not needed), against the training window's bins."""
    all_months = store.months(con)
    months = [m for m in all_months if mo.months_between(all_months[0], m) >= history - 1]
    keep = keep_per_mille(con, months, max_rows)
    frame = feat.features(con, months=tuple(months), keep_per_mille=keep)
    if frame.is_empty():
        return validation.stability_by_month(frame, {})
    frame = frame.with_columns(pl.Series("pd", pipeline.predict_pd(fitted.calibrated, frame.select(feat.FEATURES))))
    return validation.stability_by_month(frame, fitted.report["reference"])


# --- any table ----------------------------------------------------------------------------------------------


def table_spec(df: pl.DataFrame, *, target: str, time: str | None = None, columns: tuple[str, ...] = (),
               increasing: tuple[str, ...] = (), max_iter: int = 300) -> Spec:
    """Roles of a user's table: numbers and booleans numeric, strings and categoricals categorical."""
    missing = [c for c in (target, *([time] if time else []), *columns, *increasing) if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the table: {', '.join(missing)}")
    values = set(df[target].drop_nulls().cast(pl.Int64, strict=False).unique().to_list())
    if not values <= {0, 1} or df[target].null_count():
        raise ValueError(f"the target column {target!r} must hold 0/1 values without gaps")
    chosen = columns or tuple(c for c in df.columns if c not in (target, time))
    numeric = tuple(c for c in chosen if df.schema[c].is_numeric() or df.schema[c] == pl.Boolean)
    categorical = tuple(c for c in chosen if c not in numeric
                        and (df.schema[c] in (pl.String, pl.Categorical) or isinstance(df.schema[c], pl.Enum)))
    skipped = [c for c in chosen if c not in numeric + categorical]
    if skipped:
        raise ValueError(f"columns neither numeric nor text (give --features without them): {', '.join(skipped)}")
    return Spec(numeric, categorical, tuple(increasing), target=target, time=time, group_columns=(),
                max_iter=max_iter)


def prepare_table(df: pl.DataFrame, spec: Spec) -> pl.DataFrame:
    """Numbers as Float64, categories as strings, the target as 0/1."""
    return df.with_columns(
        *[pl.col(c).cast(pl.Float64) for c in spec.numeric],
        *[pl.col(c).cast(pl.String) for c in spec.categorical],
        pl.col(spec.target).cast(pl.Int8),
    )


def train_table(df: pl.DataFrame, spec: Spec) -> Fitted:
    fitted = fit(prepare_table(df, spec), spec)
    if spec.time:
        frame = prepare_table(df, spec)
        frame = frame.with_columns(pl.Series("pd", pipeline.predict_pd(fitted.calibrated, frame.select(spec.features))))
        fitted.report["stability"] = _records(
            validation.stability_by_month(frame, fitted.report["reference"], month=spec.time)
            .rename({"month": "time"}).with_columns(pl.col("time").cast(pl.String)))
    else:
        fitted.report["stability"] = []
    return fitted


def evaluate_store(con: duckdb.DuckDBPyConnection, fitted: Fitted, *, max_rows: int = MAX_TRAIN_ROWS) -> dict:
    """Re-validate a stored model on the store as it is now: metrics of both models on every labelled
    observation month after the calibration window (the original test window plus any newer one), and PSI/CSI
    by month against the training bins."""
    card = fitted.report["card"]
    horizon, history = card["horizon"], card["history"]
    after = dt.date.fromisoformat(card["windows"]["calibration"][1])
    months = [m for m in feat.observation_months(con, horizon=horizon, history=history) if m > after]
    result: dict = {"months": [m.isoformat() for m in months], "metrics": {}, "by_month": []}
    if months:
        frame = feat.labelled_features(con, months=tuple(months), horizon=horizon,
                                       keep_per_mille=keep_per_mille(con, months, max_rows))
        x, y = frame.select(feat.FEATURES), frame["target"].to_numpy()
        for name, est in (("model", fitted.calibrated), ("scorecard", fitted.scorecard)):
            p = pipeline.predict_pd(est, x)
            result["metrics"][name] = validation.summary(y, p)
            scored = frame.with_columns(pl.Series("pd", p), pl.lit(name).alias("model"))
            result["by_month"] += _records(validation.summary_by(scored, "month").with_columns(pl.lit(name).alias("model")))
    result["stability"] = _records(monitor(con, fitted, history=history))
    return result


def markdown(report: dict) -> str:
    """A short human-readable validation report."""
    card = report["card"]
    lines = ["# Default-risk model: validation report", "",
             f"- target: `{card['target']}`" + (f", horizon {card['horizon']} months" if "horizon" in card else ""),
             f"- windows: {card['windows']}", f"- rows: {card['rows']}", f"- trees: {card['trees']}", "",
             "| model | n | bads | mean PD | bad rate | AUC | Gini | KS | Brier |", "|---|---|---|---|---|---|---|---|---|"]
    for name, m in report["metrics"].items():
        def f(v, d=4):
            return "" if v is None else f"{v:.{d}f}"
        lines.append(f"| {name} | {m['n']} | {m['bads']} | {f(m['mean_pd'])} | {f(m['bad_rate'])} | {f(m['auc'])} | "
                     f"{f(m['gini'])} | {f(m['ks'])} | {f(m['brier'])} |")
    lines += ["", "Permutation importance (drop in AUC):", ""]
    lines += [f"- {r['feature']}: {r['importance']:.4f}" for r in report["importance"][:10]]
    lines += ["", "Limits:", ""] + [f"- {en}" for _, en in card["limits"]]
    return "\n".join(lines) + "\n"
