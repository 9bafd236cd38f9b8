"""Roll rates and cures (滚动率 / 迁徙率, collections view): month-over-month M-bucket transitions.

口径 [CONV] (DOMAIN.md §2.5); a loan's state at month t is its M-bucket (``rules.M_BUCKET_SQL``:
M0 = current, M1 = DPD 1-30, …, M7+ = DPD > 180) when on book, or its exit status when it left the
book in month t (paid off, written off, transferred, foreclosed). Only loans on book at t-1 are
tracked (loans new at t have no from-bucket; loans missing from the snapshot at t are not counted).

- Transition matrix at t: rows = M-bucket at t-1, columns = state at t (buckets and exits). Shares per
  row: count = # loans ÷ # loans in the row; balance = balance at t-1 ÷ the row's balance at t-1,
  so each row sums to 100%.
- Forward roll M_k→worse at t (kind ``roll``, to-state shown "M_k+1+"): loans that moved to ANY worse bucket
  (a loan can skip one: DPD 90 at the end of a 30-day month is 121 at the end of a 31-day one, M3 → M5).
  Balance = Σ bal_t of the loans that rolled ÷ Σ bal_{t-1} of all loans in M_k at t-1; count = # rolled ÷
  # in M_k. The next-bucket rate M_k→M_k+1 alone is kept as the detail kind ``roll_next``.
- Cure M_k→M0 at t: balance = Σ bal_{t-1} of the loans that cured ÷ Σ bal_{t-1} of M_k at t-1.
- Write-off step M7+→written off: Σ written-off principal ÷ Σ bal_{t-1} of M7+ at t-1.
- Flow-through at t: the product of the chain of forward rolls M0→M1+ × M1→M2+ × … × M6→M7+ (to M7+)
  and, times the write-off step, to write-off. Products of monthly rates of the same month (a steady-state reading).
- Balance = outstanding principal; on a disposal row, the principal disposed of.
- Pooled matrix over a window of ``window`` months ending at t: the flows of those months added up
  (numerators and denominators summed), then the row shares.
- Small samples: ``low_n`` flags a rate whose denominator has fewer than ``min_n`` loans (default
  ``MIN_N`` = 30) [CONV]; the page greys or hides it and always shows n.
These are not the supervisory five-tier migration rates (五级分类迁徙率, DOMAIN.md §1.7).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core.expr import safe_div
from analytics.core.months import EARLIEST, LATEST, add_months
from analytics.core.rules import M_BUCKET_EDGES, M_BUCKET_LABELS, bucket_bounds
from analytics.core.schema import EXIT_STATUSES, MONEY
from analytics.core.slice import SLICE_SQL, slice_params
from analytics.core.store import months, query
from analytics.metrics.drilldown import DrillSpec

STATES = M_BUCKET_LABELS + EXIT_STATUSES
MIN_N = 30  # [CONV] fewest loans in a denominator for a rate to be read


def _flows_sql(trans: str) -> str:
    return """
SELECT month, from_bucket, to_bucket, status, sum(total_count)::BIGINT AS total_count,
       sum(prev_balance) AS prev_balance, sum(balance) AS balance
FROM """ + trans + """ l
WHERE month BETWEEN $month_from AND $month_to AND from_bucket IS NOT NULL AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments and a view name or derive's constant subquery)


FLOWS_SCHEMA = {"month": pl.Date, "from_bucket": pl.Int8, "to_bucket": pl.Int8, "status": pl.String,
                "total_count": pl.Int64, "prev_balance": MONEY, "balance": MONEY}


def _state(bucket: str) -> pl.Expr:
    return pl.col(bucket).replace_strict(dict(enumerate(M_BUCKET_LABELS)), default=None, return_dtype=pl.String)


def transition_flows(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                     month_from: dt.date = EARLIEST, month_to: dt.date = LATEST) -> pl.DataFrame:
    """Loans and balances per month x from-bucket (t-1) x to-state (t): total_count, prev_balance (t-1),
    balance (t)."""
    store_months = [m for m in months(con) if month_from <= m <= month_to]
    if not store_months:
        return pl.DataFrame(schema=FLOWS_SCHEMA | {"from_state": pl.String, "to_state": pl.String})
    trans, trans_params = derived.source(con, "transition_cube", month_from=store_months[0],
                                         month_to=store_months[-1])
    params = slice_params(branches, products) | trans_params | {"month_from": month_from, "month_to": month_to}
    flows = query(con, _flows_sql(trans), params, FLOWS_SCHEMA)
    return flows.with_columns(
        _state("from_bucket").alias("from_state"),
        pl.coalesce(_state("to_bucket"), pl.col("status")).alias("to_state"),
    )


MATRIX_SCHEMA = {"from_bucket": pl.Int8, "from_state": pl.String, "to_state": pl.String, "total_count": pl.Int64,
                 "prev_balance": MONEY, "balance": MONEY, "row_count": pl.Int64, "row_prev_balance": MONEY,
                 "share_count": pl.Float64, "share_balance": pl.Float64}
VALUES = ("total_count", "prev_balance", "balance")


def roll_matrix(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                products: tuple[str, ...] = (), window: int = 1, min_n: int = MIN_N) -> pl.DataFrame:
    """The full M-bucket (t-1) x state (t) grid at ``month`` with counts, balances and row shares; with
    ``window`` > 1 the flows of the ``window`` months ending at ``month`` pooled (summed) first. ``low_n``:
    the row has fewer than ``min_n`` loans."""
    if window < 1:
        raise ValueError("window must be at least 1 month")
    flows = transition_flows(con, branches=branches, products=products, month_from=add_months(month, 1 - window),
                             month_to=month)
    if flows.is_empty():
        return pl.DataFrame(schema=MATRIX_SCHEMA | {"low_n": pl.Boolean})
    cells = flows.group_by("from_bucket", "to_state").agg(pl.col(VALUES).sum())
    grid = pl.DataFrame({"from_bucket": list(range(len(M_BUCKET_LABELS)))}, schema={"from_bucket": pl.Int8}).join(
        pl.DataFrame({"to_state": list(STATES)}), how="cross")
    return (
        grid.join(cells, on=["from_bucket", "to_state"], how="left")
        .with_columns(pl.col("total_count").fill_null(0), pl.col("prev_balance", "balance").fill_null(0).cast(MONEY),
                      _state("from_bucket").alias("from_state"))
        .with_columns(pl.col("total_count").sum().over("from_bucket").alias("row_count"),
                      pl.col("prev_balance").sum().over("from_bucket").cast(MONEY).alias("row_prev_balance"))
        .with_columns(safe_div("total_count", "row_count").alias("share_count"),
                      safe_div("prev_balance", "row_prev_balance").alias("share_balance"))
        .with_columns(pl.col("to_state").replace_strict({s: i for i, s in enumerate(STATES)}).alias("_order"))
        .sort("from_bucket", "_order")
        .select(*MATRIX_SCHEMA, (pl.col("row_count") < min_n).alias("low_n"))
    )


def matrix_wide(matrix: pl.DataFrame, value: str = "share_balance") -> pl.DataFrame:
    """The matrix as rows = from-state, one column per to-state (in ``STATES`` order)."""
    if matrix.is_empty():
        return pl.DataFrame(schema={"from_state": pl.String})
    return matrix.pivot(on="to_state", index="from_state", values=value, sort_columns=False).select(
        "from_state", *STATES)


RATES_SCHEMA = {"month": pl.Date, "kind": pl.String, "from_state": pl.String, "to_state": pl.String,
                "num_count": pl.Int64, "num_balance": MONEY, "den_count": pl.Int64, "den_balance": MONEY,
                "rate_count": pl.Float64, "rate_balance": pl.Float64}


def _steps() -> pl.DataFrame:
    """Which flows make each rate: kind, from bucket, to state, and the balance used in the numerator.
    ``roll`` counts every worse bucket (its to-state names the first of them with a "+")."""
    last = len(M_BUCKET_LABELS) - 1
    rows = [("roll", k, M_BUCKET_LABELS[k + 1].rstrip("+") + "+", "balance") for k in range(last)]
    rows += [("roll_next", k, M_BUCKET_LABELS[k + 1], "balance") for k in range(last)]
    rows += [("cure", k, M_BUCKET_LABELS[0], "prev_balance") for k in range(1, last + 1)]
    rows += [("writeoff", last, "written_off", "balance")]
    return pl.DataFrame(rows, schema={"kind": pl.String, "from_bucket": pl.Int8, "to_state": pl.String,
                                      "num_basis": pl.String}, orient="row")


KINDS = ("roll", "roll_next", "cure", "writeoff")


def roll_rates(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
               month_from: dt.date = EARLIEST, month_to: dt.date = LATEST, min_n: int = MIN_N) -> pl.DataFrame:
    """Per month: forward roll rates M0→M1+ … M6→M7+ (to any worse bucket), next-bucket rolls M0→M1 …
    M6→M7+, cure rates M1…M7+→M0 and the write-off step; ``low_n`` when the denominator has < ``min_n`` loans."""
    flows = transition_flows(con, branches=branches, products=products, month_from=month_from, month_to=month_to)
    if flows.is_empty():
        return pl.DataFrame(schema=RATES_SCHEMA | {"low_n": pl.Boolean})
    den = flows.group_by("month", "from_bucket").agg(pl.col("total_count").sum().alias("den_count"),
                                                     pl.col("prev_balance").sum().alias("den_balance"))
    cells = flows.group_by("month", "from_bucket", "to_state").agg(pl.col(VALUES).sum())
    worse = (flows.filter(pl.col("to_bucket") > pl.col("from_bucket"))
             .group_by("month", "from_bucket").agg(pl.col(VALUES).sum())
             .with_columns(pl.lit("roll").alias("kind")))
    grid = flows.select("month").unique().join(_steps(), how="cross")
    joined = (grid.join(cells, on=["month", "from_bucket", "to_state"], how="left")
              .join(worse, on=["month", "from_bucket", "kind"], how="left", suffix="_worse"))
    picked = joined.with_columns(
        pl.when(pl.col("kind") == "roll").then(pl.col(f"{v}_worse")).otherwise(pl.col(v)).alias(v) for v in VALUES)
    out = (
        picked.join(den, on=["month", "from_bucket"], how="left")
        .with_columns(
            pl.col("den_count").fill_null(0), pl.col("den_balance").fill_null(0),
            pl.col("total_count").fill_null(0).alias("num_count"),
            pl.when(pl.col("num_basis") == "balance").then(pl.col("balance")).otherwise(pl.col("prev_balance"))
            .fill_null(0).alias("num_balance"),
            _state("from_bucket").alias("from_state"))
        .with_columns(safe_div("num_count", "den_count").alias("rate_count"),
                      safe_div("num_balance", "den_balance").alias("rate_balance"))
    )
    order = {k: i for i, k in enumerate(KINDS)}
    return (out.with_columns(pl.col("kind").replace_strict(order).alias("_k"))
            .sort("month", "_k", "from_bucket")
            .select(*(pl.col(c).cast(t) for c, t in RATES_SCHEMA.items()), (pl.col("den_count") < min_n).alias("low_n")))


def pooled_rates(rates: pl.DataFrame, *, month: dt.date, window: int, min_n: int = MIN_N) -> pl.DataFrame:
    """The rates of ``roll_rates`` pooled over the ``window`` months ending at ``month``: numerators and
    denominators summed per kind and step, then divided (never an average of monthly rates)."""
    part = rates.filter(pl.col("month").is_between(add_months(month, 1 - window), month))
    if part.is_empty():
        return pl.DataFrame(schema={k: v for k, v in RATES_SCHEMA.items() if k != "month"}
                            | {"months": pl.UInt32, "low_n": pl.Boolean})
    order = {k: i for i, k in enumerate(KINDS)}
    return (part.group_by("kind", "from_state", "to_state")
            .agg(pl.col("num_count", "num_balance", "den_count", "den_balance").sum(), pl.len().alias("months"))
            .with_columns(safe_div("num_count", "den_count").alias("rate_count"),
                          safe_div("num_balance", "den_balance").alias("rate_balance"),
                          (pl.col("den_count") < min_n).alias("low_n"),
                          pl.col("kind").replace_strict(order).alias("_k"),
                          pl.col("from_state").replace_strict({s: i for i, s in enumerate(M_BUCKET_LABELS)})
                          .alias("_f"))
            .sort("_k", "_f").drop("_k", "_f")
            .select("kind", "from_state", "to_state", "num_count", "num_balance", "den_count", "den_balance",
                    "rate_count", "rate_balance", "months", "low_n"))


FLOW_SCHEMA = {"month": pl.Date, "to_state": pl.String, "flow_count": pl.Float64, "flow_balance": pl.Float64}


def flow_through(rates: pl.DataFrame) -> pl.DataFrame:
    """Cumulative products of the chain M0→M1→…→M7+→written off, per month.

    Row ``to_state`` = M1 is the M0→M1 rate, M2 the product M0→M1 × M1→M2, …, ``written_off`` the
    flow-through to write-off. Null once a link of the chain is undefined (empty bucket).
    """
    chain = rates.filter(pl.col("kind").is_in(["roll", "writeoff"])).with_columns(pl.col("from_state").replace_strict(
        {s: i for i, s in enumerate(M_BUCKET_LABELS)}).alias("_k")).sort("month", "_k", "kind")

    def cum(col: str) -> pl.Expr:
        broken = pl.col(col).is_null().cum_sum().over("month") > 0
        return pl.when(broken).then(None).otherwise(pl.col(col).fill_null(1.0).cum_prod().over("month"))

    return chain.select("month", "to_state", cum("rate_count").alias("flow_count"),
                        cum("rate_balance").alias("flow_balance")).cast(FLOW_SCHEMA)


def cell_spec(month: dt.date, from_state: str, to_state: str, branches: tuple[str, ...] = (),
               products: tuple[str, ...] = (), title: str = "") -> DrillSpec:
    """The loans behind one matrix cell: in ``from_state`` at the previous month, ``to_state`` at ``month``."""
    prev_min, prev_max = bucket_bounds(M_BUCKET_EDGES, M_BUCKET_LABELS.index(from_state))
    common = {"month": month, "branches": branches, "products": products, "prev_month": add_months(month, -1),
              "prev_dpd_min": prev_min, "prev_dpd_max": prev_max, "title": title}
    if to_state in M_BUCKET_LABELS:
        dpd_min, dpd_max = bucket_bounds(M_BUCKET_EDGES, M_BUCKET_LABELS.index(to_state))
        return DrillSpec(**common, statuses=("active",), dpd_min=dpd_min, dpd_max=dpd_max)
    return DrillSpec(**common, statuses=(to_state,), rows="first_exit")
