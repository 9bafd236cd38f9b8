"""Roll-rate projection (Markov): bucket balances 1–4 quarters ahead, with levers, and its backtest.

口径 [CONV] (DOMAIN.md §2.5):
- Transition matrix P = the balance shares of ``metrics.rollrate.roll_matrix`` pooled over the ``window`` months
  ending at the start month (rows M0 … M7+ at t−1; columns M0 … M7+ and the exits paid off, written off,
  transferred, foreclosed; each row sums to 1). A row with no balance in the window keeps its balance (stay = 1).
- One month: b_{t+1}[j] = Σ_k b_t[k] × P[k, j] for the buckets j, plus new lending into M0; exits leave the book.
  Balances are moved with the shares of the t−1 balance, so scheduled amortisation of loans that stay is not
  modelled (the projection reads flows of balance, not repayments within a bucket).
- Levers: cure +x pp = P[k, M0] + x for every overdue row, taken proportionally from the row's same-or-worse
  buckets (never more than they hold); current → M1 −y% = P[M0, M1] × (1 − y), the rest stays current;
  write-off policy = P[M7+, written off] set to w, the rest of the row rescaled; new lending = balance added to M0
  every month.
- Ratios: overdue ratio = Σ M1+ ÷ Σ buckets; 90+ = Σ M4+; NPL balance = the start NPL + (projected 90+ − start 90+)
  (loans crossing 90 DPD become NPL, those leaving 90+ leave it); NPL ratio = NPL ÷ Σ buckets.
- Backtest: from each past start month t0 with t0 + h months in the store, project h months with the matrix of the
  window ending at t0 (no levers) and compare with the booked bucket balances at t0 + h: the error of the overdue
  ratio and of the NPL ratio (projected − actual, in ratio points) and the mean absolute error of the bucket
  balances relative to the total.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl

from analytics import derived
from analytics.core.months import add_months, quarter_start
from analytics.core.rules import M_BUCKET_LABELS
from analytics.core.slice import SLICE_SQL, slice_params
from analytics.core.store import months as store_months
from analytics.core.store import query
from analytics.metrics import portfolio, rollrate
from analytics.scenario.compare import side_by_side

N_B = len(M_BUCKET_LABELS)
STATES = rollrate.STATES
WRITTEN_OFF = STATES.index("written_off")
DPD90_FROM = 4  # M4 = DPD 91-120


def matrix_array(matrix: pl.DataFrame) -> np.ndarray:
    """``roll_matrix`` output as an (8 × 12) array of balance shares; an empty row stays where it is."""
    p = np.zeros((N_B, len(STATES)))
    for k, j, share in zip(matrix["from_bucket"].to_list(), matrix["to_state"].to_list(),
                           matrix["share_balance"].to_list(), strict=True):
        p[int(k), STATES.index(j)] = share or 0.0
    for k in range(N_B):
        if p[k].sum() <= 0:
            p[k, k] = 1.0
    return p


def apply_levers(p: np.ndarray, *, cure_pp: float = 0.0, current_m1_cut: float = 0.0,
                 writeoff_rate: float | None = None, writeoff_col: int = WRITTEN_OFF) -> np.ndarray:
    """The matrix (rows = buckets, columns = buckets then exits) with the levers applied (see the module 口径);
    rows still sum to 1."""
    q = p.copy()
    n = q.shape[0]
    if cure_pp:
        for k in range(1, n):
            pool = q[k, k:n].sum()
            add = min(cure_pp, pool)
            if pool > 0:
                q[k, k:n] *= 1 - add / pool
                q[k, 0] += add
    if current_m1_cut:
        moved = q[0, 1] * current_m1_cut
        q[0, 1] -= moved
        q[0, 0] += moved
    if writeoff_rate is not None:
        rest = 1.0 - q[n - 1, writeoff_col]
        scale = (1.0 - writeoff_rate) / rest if rest > 0 else 0.0
        q[n - 1] *= scale
        q[n - 1, writeoff_col] = writeoff_rate
        if rest <= 0 and writeoff_rate < 1:
            q[n - 1, n - 1] = 1.0 - writeoff_rate
    return q


def project(start: np.ndarray, p: np.ndarray, *, steps: int, new_lending: float = 0.0) -> np.ndarray:
    """Bucket balances after 1 … ``steps`` months: an array (steps × buckets)."""
    n = p.shape[0]
    out = np.zeros((steps, n))
    b = np.asarray(start, dtype=float)
    for h in range(steps):
        b = (b @ p)[:n]
        b[0] += new_lending
        out[h] = b
    return out


def ratios(buckets: np.ndarray, *, npl0: float, dpd90_0: float) -> dict[str, np.ndarray]:
    """Total, overdue, 90+ and NPL balances and ratios of projected bucket balances (rows = months)."""
    total = buckets.sum(axis=1)
    overdue = buckets[:, 1:].sum(axis=1)
    dpd90 = buckets[:, DPD90_FROM:].sum(axis=1)
    npl = np.maximum(npl0 + dpd90 - dpd90_0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"total_balance": total, "overdue_balance": overdue, "dpd90_balance": dpd90, "npl_balance": npl,
                "overdue_ratio_balance": np.where(total > 0, overdue / total, np.nan),
                "npl_ratio_balance": np.where(total > 0, npl / total, np.nan)}


BUCKETS_SQL = """
SELECT month, m_bucket, sum(total_balance)::DOUBLE AS balance
FROM {cube} l WHERE month BETWEEN $month_from AND $month_to AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL"""


def bucket_balances(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                    branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """Booked balance per month x M-bucket (the aging cube the aging page reads)."""
    cube, params = derived.source(con, "aging_cube")
    sql = BUCKETS_SQL.replace("{cube}", cube)
    return query(con, sql, params | slice_params(branches, products) | {"month_from": month_from,
                                                                         "month_to": month_to},
                 {"month": pl.Date, "m_bucket": pl.Int8, "balance": pl.Float64})


def _vector(balances: pl.DataFrame, month: dt.date) -> np.ndarray:
    v = np.zeros(N_B)
    for k, bal in balances.filter(pl.col("month") == month).select("m_bucket", "balance").iter_rows():
        v[int(k)] += bal
    return v


def _frame(month: dt.date, steps: int, values: dict[str, np.ndarray]) -> pl.DataFrame:
    ms = [add_months(month, h + 1) for h in range(steps)]
    return pl.DataFrame({"month": ms, **{k: [None if np.isnan(x) else float(x) for x in v] for k, v in values.items()}},
                        schema={"month": pl.Date} | {k: pl.Float64 for k in values})


VALUES = ("total_balance", "overdue_balance", "dpd90_balance", "npl_balance", "overdue_ratio_balance",
          "npl_ratio_balance")


def compare(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
            products: tuple[str, ...] = (), window: int = 3, quarters: int = 4, cure_pp: float = 0.0,
            current_m1_cut: float = 0.0, writeoff_rate: float | None = None,
            new_lending: float = 0.0) -> dict[str, pl.DataFrame]:
    """``projection``: month by month, baseline (observed matrix, no new lending) | scenario (levers) |
    difference; ``buckets``: the scenario's bucket balances; ``targets``: quarter ends against the branch targets;
    ``start``: the booked balances at ``month``."""
    steps = 3 * quarters
    p = matrix_array(rollrate.roll_matrix(con, month=month, branches=branches, products=products, window=window))
    start = _vector(bucket_balances(con, month_from=month, month_to=month, branches=branches, products=products),
                    month)
    q = portfolio.quality_by(con, branches=branches, products=products, month_from=month, month_to=month)
    npl0 = float(q["npl_balance"][0]) if q.height else 0.0
    d90 = float(q["dpd90_balance"][0]) if q.height else 0.0
    base_b = project(start, p, steps=steps)
    scen_b = project(start, apply_levers(p, cure_pp=cure_pp, current_m1_cut=current_m1_cut,
                                         writeoff_rate=writeoff_rate), steps=steps, new_lending=new_lending)
    base = _frame(month, steps, ratios(base_b, npl0=npl0, dpd90_0=d90))
    scen = _frame(month, steps, ratios(scen_b, npl0=npl0, dpd90_0=d90))
    table = side_by_side(base, scen, on=["month"], values=list(VALUES))
    buckets = _frame(month, steps, {lab: scen_b[:, k] for k, lab in enumerate(M_BUCKET_LABELS)})
    return {"projection": table, "buckets": buckets,
            "targets": against_targets(con, scen, branches=branches),
            "start": pl.DataFrame({"m_bucket": list(M_BUCKET_LABELS), "balance": start.tolist()})}


TARGETS_SQL = """
SELECT quarter, sum(overdue_balance_target)::DOUBLE AS overdue_balance_target,
       sum(npl_balance_target)::DOUBLE AS npl_balance_target, count(*)::BIGINT AS branches_with_target
FROM targets WHERE quarter BETWEEN $q_from AND $q_to AND (len($branches) = 0 OR list_contains($branches, branch_id))
GROUP BY ALL ORDER BY ALL"""


def against_targets(con: duckdb.DuckDBPyConnection, projected: pl.DataFrame, *,
                    branches: tuple[str, ...] = ()) -> pl.DataFrame:
    """Projected overdue and NPL balances at each quarter end against Σ branch targets of that quarter."""
    ends = projected.filter(pl.col("month").dt.month() % 3 == 0)
    if ends.is_empty():
        return pl.DataFrame()
    first, last = quarter_start(ends["month"][0]), quarter_start(ends["month"][-1])
    t = query(con, TARGETS_SQL, {"q_from": first, "q_to": last, "branches": slice_params(branches)["branches"]},
              {"quarter": pl.Date, "overdue_balance_target": pl.Float64, "npl_balance_target": pl.Float64,
               "branches_with_target": pl.Int64})
    return (ends.select("month", "overdue_balance", "npl_balance", "npl_ratio_balance")
            .with_columns(pl.col("month").dt.truncate("1q").alias("quarter"))
            .join(t, on="quarter", how="left")
            .with_columns((pl.col("overdue_balance") - pl.col("overdue_balance_target")).alias("overdue_gap"),
                          (pl.col("npl_balance") - pl.col("npl_balance_target")).alias("npl_gap")))


def backtest(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
             window: int = 3, horizon: int = 3, origins: int = 6) -> pl.DataFrame:
    """The projection run from each of the last ``origins`` start months whose outcome is known, against the
    booked figures ``horizon`` months later: projected and actual overdue and NPL ratios, their errors, and the
    mean absolute bucket error relative to the actual total."""
    ms = store_months(con)
    starts = [m for m in ms if add_months(m, horizon) in set(ms) and m >= add_months(ms[0], window)][-origins:]
    if not starts:
        return pl.DataFrame()
    balances = bucket_balances(con, month_from=starts[0], month_to=add_months(starts[-1], horizon),
                               branches=branches, products=products)
    q = portfolio.quality_by(con, branches=branches, products=products, month_from=starts[0],
                             month_to=add_months(starts[-1], horizon))
    at = {r["month"]: r for r in q.iter_rows(named=True)}
    rows = []
    for t0 in starts:
        p = matrix_array(rollrate.roll_matrix(con, month=t0, branches=branches, products=products, window=window))
        proj = project(_vector(balances, t0), p, steps=horizon)[-1:]
        r = ratios(proj, npl0=float(at[t0]["npl_balance"]), dpd90_0=float(at[t0]["dpd90_balance"]))
        t1 = add_months(t0, horizon)
        actual = _vector(balances, t1)
        total = actual.sum()
        rows.append({"start_month": t0, "month": t1,
                     "overdue_ratio_projected": float(r["overdue_ratio_balance"][0]),
                     "overdue_ratio_actual": at[t1]["overdue_ratio_balance"],
                     "npl_ratio_projected": float(r["npl_ratio_balance"][0]),
                     "npl_ratio_actual": at[t1]["npl_ratio_balance"],
                     "bucket_error": float(np.abs(proj[0] - actual).sum() / total) if total > 0 else None})
    out = pl.DataFrame(rows, schema={"start_month": pl.Date, "month": pl.Date, "overdue_ratio_projected": pl.Float64,
                                     "overdue_ratio_actual": pl.Float64, "npl_ratio_projected": pl.Float64,
                                     "npl_ratio_actual": pl.Float64, "bucket_error": pl.Float64})
    return out.with_columns(
        (pl.col("overdue_ratio_projected") - pl.col("overdue_ratio_actual")).alias("overdue_ratio_error"),
        (pl.col("npl_ratio_projected") - pl.col("npl_ratio_actual")).alias("npl_ratio_error"))


def mean_abs_errors(back: pl.DataFrame) -> dict[str, float | None]:
    """Mean absolute error of the backtest's overdue ratio, NPL ratio and bucket error over the start months."""
    cols = ("overdue_ratio_error", "npl_ratio_error", "bucket_error")
    row = back.select(pl.col(c).abs().mean() for c in cols).row(0, named=True) if back.height else {}
    return {c: row.get(c) for c in cols}


BRANCH_TARGETS_SQL = """
SELECT branch_id, quarter, overdue_balance_target::DOUBLE AS overdue_balance_target,
       npl_balance_target::DOUBLE AS npl_balance_target, npl_ratio_ceiling
FROM targets WHERE quarter BETWEEN $q_from AND $q_to AND (len($branches) = 0 OR list_contains($branches, branch_id))"""


def by_branch(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
              products: tuple[str, ...] = (), window: int = 3, quarters: int = 4, cure_pp: float = 0.0,
              current_m1_cut: float = 0.0, writeoff_rate: float | None = None,
              new_lending: float = 0.0) -> pl.DataFrame:
    """The scenario projected branch by branch (each branch with its own matrix; new lending split by the branches'
    share of the slice's loans), at each quarter end against that branch's targets: projected overdue and NPL
    balances and NPL ratio, the targets, and the gaps (projected − target; > 0 = above the ceiling)."""
    from analytics.core.slice import list_param

    ids = branches or tuple(query(con, "SELECT branch_id FROM branches ORDER BY branch_id")["branch_id"].to_list())
    q = portfolio.quality_by(con, by=("branch_id",), branches=ids, products=products, month_from=month,
                             month_to=month)
    share = {r["branch_id"]: float(r["total_balance"]) for r in q.iter_rows(named=True)}
    total = sum(share.values()) or 1.0
    levers = {"window": window, "quarters": quarters, "cure_pp": cure_pp, "current_m1_cut": current_m1_cut,
              "writeoff_rate": writeoff_rate}
    parts = []
    for b in sorted(share):
        out = compare(con, month=month, branches=(b,), products=products, new_lending=new_lending * share[b] / total,
                      **levers)["projection"]
        parts.append(out.filter(pl.col("month").dt.month() % 3 == 0).select(
            pl.lit(b).alias("branch_id"), "month",
            *(pl.col(f"{v}_scenario").alias(v) for v in ("overdue_balance", "npl_balance", "npl_ratio_balance"))))
    if not parts:
        return pl.DataFrame()
    proj = pl.concat(parts).with_columns(pl.col("month").dt.truncate("1q").alias("quarter"))
    t = query(con, BRANCH_TARGETS_SQL, {"q_from": proj["quarter"].min(), "q_to": proj["quarter"].max(),
                                        "branches": list_param(ids)},
              {"branch_id": pl.String, "quarter": pl.Date, "overdue_balance_target": pl.Float64,
               "npl_balance_target": pl.Float64, "npl_ratio_ceiling": pl.Float64})
    return (proj.join(t, on=["branch_id", "quarter"], how="left")
            .with_columns((pl.col("overdue_balance") - pl.col("overdue_balance_target")).alias("overdue_gap"),
                          (pl.col("npl_balance") - pl.col("npl_balance_target")).alias("npl_gap"),
                          (pl.col("npl_ratio_balance") - pl.col("npl_ratio_ceiling")).alias("npl_ratio_gap"))
            .sort("branch_id", "month"))
