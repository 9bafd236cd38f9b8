"""The project against a plain pandas version of the same questions, on the same store, in one run.

    python -m analytics.tools.baseline --data DIR [--repeat 3]

For each question the project's analytics call runs on a long-lived read connection (what the app holds per
store version; a cache miss), and a straightforward pandas program answers it from the store's Parquet files
(only the columns it needs, pyarrow engine). Both answers are compared (the same numbers, or the command fails)
and the medians and the ratio pandas ÷ project are printed as a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from analytics.core import store
from analytics.core.months import add_months, previous_quarter_end, window_start
from analytics.core.rules import M_BUCKET_EDGES, M_BUCKET_LABELS
from analytics.metrics import aging, causes, drilldown, rollrate, trends, vintage
from analytics.metrics.drilldown import DrillSpec

NPL_CLASSES = (3, 4, 5)


class Store:
    """The published version's Parquet files, read by pandas."""

    def __init__(self, root: Path):
        self.root = root
        self.manifest = store.current_manifest(root)

    def files(self, table: str) -> list[str]:
        return [str(p) for p in store.manifest_files(self.root, self.manifest, table)]

    def snapshots(self, columns: list[str], months: list[dt.date] | None = None) -> pd.DataFrame:
        """Snapshot rows (all months or the given ones); ``month`` from the partition folder."""
        parts = []
        for f in self.files("snapshots"):
            month = store.partition_month(Path(f))
            if months is None or month in months:
                part = _read(f, columns)
                part["month"] = pd.Timestamp(month)
                parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def loans(self, columns: list[str]) -> pd.DataFrame:
        return pd.concat([_read(f, columns) for f in self.files("loans")], ignore_index=True)


def _read(path: str, columns: list[str]) -> pd.DataFrame:
    """A Parquet file as pandas with money as float64 (what a pandas user does: Decimal objects are ~10x slower)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=columns)
    fields = [pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields)).to_pandas()


def _bucket(dpd: pd.Series) -> np.ndarray:
    return np.searchsorted(np.array(M_BUCKET_EDGES), dpd.to_numpy(), side="left")


# --- the pandas answers -------------------------------------------------------------------------------------


def pd_trend(s: Store, month: dt.date) -> pd.DataFrame:
    snap = s.snapshots(["outstanding_principal", "dpd", "booked_class", "status"])
    snap = snap[snap["status"] == "active"]
    snap = snap[snap["month"] >= pd.Timestamp(window_start(month))]
    bal = snap["outstanding_principal"].astype(float)
    snap = snap.assign(bal=bal, overdue=bal.where(snap["dpd"] >= 1, 0.0),
                       npl=bal.where(snap["booked_class"].isin(NPL_CLASSES), 0.0))
    g = snap.groupby("month")[["bal", "overdue", "npl"]].sum()
    return pd.DataFrame({"overdue_ratio_balance": g["overdue"] / g["bal"], "npl_ratio_balance": g["npl"] / g["bal"]})


def pd_aging(s: Store, month: dt.date) -> pd.DataFrame:
    """The aging report's numbers: per M-bucket count, balance and NPL at ``month`` and at the previous quarter
    end, and each bucket's top three overdue causes by balance."""
    compare = previous_quarter_end(month)
    snap = s.snapshots(["outstanding_principal", "dpd", "status", "booked_class", "overdue_cause"], [month, compare])
    snap = snap[snap["status"] == "active"]
    bal = snap["outstanding_principal"]
    snap = snap.assign(bucket=_bucket(snap["dpd"]), bal=bal, npl=bal.where(snap["booked_class"].isin(NPL_CLASSES), 0.0))
    by = snap.groupby(["month", "bucket"]).agg(total_count=("bal", "size"), total_balance=("bal", "sum"),
                                               npl_balance=("npl", "sum"))
    now = snap[snap["month"] == pd.Timestamp(month)]
    causes_ = now[now["bucket"] > 0].groupby(["bucket", "overdue_cause"])["bal"].sum()
    top = causes_.sort_values(ascending=False).groupby(level=0).head(3)  # noqa: F841 (part of the report)
    return by.loc[pd.Timestamp(month)]


def pd_pareto(s: Store, month: dt.date) -> pd.DataFrame:
    snap = s.snapshots(["loan_id", "outstanding_principal", "dpd", "status", "overdue_cause", "branch_id"], [month])
    loans = s.loans(["loan_id", "product"])
    snap = snap[(snap["status"] == "active") & (snap["dpd"] >= 1)].merge(loans, on="loan_id")
    snap["cause"] = snap["overdue_cause"].fillna(causes.NOT_REPORTED)
    snap["bal"] = snap["outstanding_principal"].astype(float)
    by = snap.groupby(["branch_id", "product", "cause"])["bal"].agg(["size", "sum"]).groupby("cause").sum()
    return by.rename(columns={"size": "total_count", "sum": "total_balance"}).sort_values("total_balance",
                                                                                            ascending=False)


def _pairs(s: Store, months: list[dt.date]) -> pd.DataFrame:
    """Each loan on book at t-1 with its state at t (for every t in ``months``)."""
    cols = ["loan_id", "outstanding_principal", "dpd", "status", "disposed_principal"]
    snap = s.snapshots(cols, sorted(set(months) | {add_months(m, -1) for m in months}))
    prev = snap[snap["status"] == "active"].assign(
        month=lambda d: d["month"] + pd.DateOffset(months=1), from_bucket=lambda d: _bucket(d["dpd"]),
        prev_balance=lambda d: d["outstanding_principal"].astype(float))[["loan_id", "month", "from_bucket",
                                                                            "prev_balance"]]
    cur = snap[snap["month"].isin([pd.Timestamp(m) for m in months])]
    pairs = prev.merge(cur, on=["loan_id", "month"])
    labels = np.array(M_BUCKET_LABELS, dtype=object)[_bucket(pairs["dpd"]).clip(max=len(M_BUCKET_LABELS) - 1)]
    pairs["to_state"] = np.where(pairs["status"] == "active", labels, pairs["status"])
    pairs["to_bucket"] = np.where(pairs["status"] == "active", _bucket(pairs["dpd"]), -1)
    return pairs


def pd_roll_matrix(s: Store, month: dt.date) -> pd.DataFrame:
    pairs = _pairs(s, [month])
    return pairs.groupby(["from_bucket", "to_state"]).size().rename("total_count").to_frame()


def pd_pooled_rolls(s: Store, month: dt.date) -> pd.DataFrame:
    months = [add_months(month, -i) for i in range(12)]
    pairs = _pairs(s, months)
    pairs["worse"] = pairs["to_bucket"] > pairs["from_bucket"]
    g = pairs.groupby("from_bucket").agg(den=("worse", "size"), num=("worse", "sum"))
    return (g["num"] / g["den"]).rename("rate_count").to_frame().iloc[:-1]


def pd_vintage(s: Store, month: dt.date) -> pd.DataFrame:
    first = min(store.partition_month(Path(f)) for f in s.files("snapshots"))
    loans = s.loans(["loan_id", "origination_date"])
    loans["cohort"] = pd.to_datetime(loans["origination_date"]).dt.to_period("M").dt.to_timestamp()
    loans = loans[loans["cohort"] >= pd.Timestamp(first)]
    snap = s.snapshots(["loan_id", "dpd"])
    hit = snap[snap["dpd"] > 30].groupby("loan_id")["month"].min().rename("hit")
    loans = loans.merge(hit, left_on="loan_id", right_index=True, how="left")
    loans["mob"] = ((loans["hit"].dt.year - loans["cohort"].dt.year) * 12
                    + loans["hit"].dt.month - loans["cohort"].dt.month)
    n = loans.groupby("cohort").size()
    events = loans.dropna(subset=["mob"]).groupby(["cohort", "mob"]).size()
    rows = []
    last = pd.Timestamp(month)
    for cohort, size in n.items():
        top = (last.year - cohort.year) * 12 + last.month - cohort.month
        ev = events.get(cohort, pd.Series(dtype=float)) if cohort in events.index.get_level_values(0) else None
        cum = 0
        for mob in range(top + 1):
            if ev is not None and float(mob) in ev.index:
                cum += ev[float(mob)]
            rows.append((cohort, mob, cum / size))
    return pd.DataFrame(rows, columns=["cohort", "mob", "rate_count"]).set_index(["cohort", "mob"])


def pd_drill(s: Store, month: dt.date) -> pd.DataFrame:
    """The drill-down list: overdue on-book loans at ``month`` with their loan fields, branch name and the
    previous month's DPD, class and balance, largest balance first."""
    cols = ["loan_id", "branch_id", "outstanding_principal", "overdue_principal", "dpd", "booked_class", "status",
            "overdue_cause"]
    snap = s.snapshots(cols, [month])
    prev = s.snapshots(["loan_id", "dpd", "booked_class", "outstanding_principal"], [add_months(month, -1)])
    prev = prev.drop(columns="month").rename(columns={"dpd": "prev_dpd", "booked_class": "prev_class",
                                                      "outstanding_principal": "prev_outstanding"})
    loans = s.loans(["loan_id", "customer_id", "product", "origination_date", "principal"])
    branches = pd.concat([_read(f, ["branch_id", "branch_name"]) for f in s.files("branches")])
    over = (snap[(snap["status"] == "active") & (snap["dpd"] >= 1)].merge(loans, on="loan_id")
            .merge(prev, on="loan_id", how="left").merge(branches, on="branch_id", how="left"))
    return over.sort_values(["outstanding_principal", "loan_id"], ascending=[False, True])[["loan_id"]]


# --- the project's answers, shaped like the pandas ones -------------------------------------------------------


def pr_trend(con, month):
    t = trends.trend_series(con, dimension="total", month_from=window_start(month), month_to=month)
    return t.select("month", "overdue_ratio_balance", "npl_ratio_balance")


def pr_aging(con, month):
    return aging.aging_report(con, month=month, scheme="m").filter(pl.col("bucket") < aging.N_BUCKETS)


def pr_pareto(con, month):
    return causes.pareto(con, month=month, basis="balance")


def pr_roll_matrix(con, month):
    return rollrate.roll_matrix(con, month=month).filter(pl.col("total_count") > 0)


def pr_pooled_rolls(con, month):
    rates = rollrate.roll_rates(con, month_from=add_months(month, -11), month_to=month)
    return rollrate.pooled_rates(rates, month=month, window=12).filter(pl.col("kind") == "roll")


def pr_vintage(con, month):
    return vintage.vintage_curves(con, grain="month", measure="ever", threshold=30)


def pr_drill(con, month):
    return drilldown.loans_behind(con, DrillSpec(month=month, dpd_min=1))


# --- the checks: the same numbers ---------------------------------------------------------------------------


def _close(a, b) -> bool:
    return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-9, atol=1e-9, equal_nan=True)


def check_trend(p: pl.DataFrame, q: pd.DataFrame) -> bool:
    return p.height == len(q) and _close(p["overdue_ratio_balance"], q["overdue_ratio_balance"]) and _close(
        p["npl_ratio_balance"], q["npl_ratio_balance"])


def check_aging(p, q) -> bool:
    p = p.filter(pl.col("total_count") > 0)
    return p["bucket"].to_list() == q.index.tolist() and p["total_count"].to_list() == q["total_count"].tolist() \
        and _close(p["total_balance"], q["total_balance"]) and _close(p["npl_balance"], q["npl_balance"])


def check_pareto(p, q) -> bool:
    return p["cause"].to_list() == q.index.tolist() and p["total_count"].to_list() == q["total_count"].tolist() \
        and _close(p["total_balance"], q["total_balance"])


def check_matrix(p, q) -> bool:
    got = {(r["from_bucket"], r["to_state"]): r["total_count"] for r in p.iter_rows(named=True)}
    return got == {k: int(v) for k, v in q["total_count"].items()}


def check_pooled(p, q) -> bool:
    return p.height == len(q) and _close(p["rate_count"], q["rate_count"])


def check_vintage(p, q) -> bool:
    got = p.select("cohort", "mob", "rate_count")
    want = pl.from_pandas(q.reset_index()).with_columns(pl.col("cohort").cast(pl.Date), pl.col("mob").cast(pl.Int32))
    joined = got.join(want, on=["cohort", "mob"], how="full", coalesce=True)
    return got.height == want.height and _close(joined["rate_count"], joined["rate_count_right"])


def check_drill(p, q) -> bool:
    return p["loan_id"].to_list() == q["loan_id"].tolist()


QUESTIONS: dict[str, tuple[Callable, Callable, Callable]] = {
    "monthly overdue / NPL ratio trend (36 months)": (pr_trend, pd_trend, check_trend),
    "vintage ever 30+ by cohort x MOB": (pr_vintage, pd_vintage, check_vintage),
    "roll-rate matrix (latest month)": (pr_roll_matrix, pd_roll_matrix, check_matrix),
    "pooled 12-month roll rates": (pr_pooled_rolls, pd_pooled_rolls, check_pooled),
    "aging report by M-bucket (latest month vs previous quarter end, NPL, top causes)": (pr_aging, pd_aging, check_aging),
    "drill-down list: overdue loans with loan fields and previous month": (pr_drill, pd_drill, check_drill),
    "cause Pareto (latest month, by branch x product x cause)": (pr_pareto, pd_pareto, check_pareto),
}


def _median_time(fn: Callable, repeat: int) -> tuple[float, object]:
    runs, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    root = store.data_root(args.data)
    con = store.connect(root)
    month = store.months(con)[-1]
    s = Store(root)
    loans = store.query(con, "SELECT count(*) AS n FROM loans")["n"][0]
    rows = store.query(con, "SELECT count(*) AS n FROM snapshots")["n"][0]
    print(f"store {root}: {loans:,} loans, {rows:,} snapshot rows, as-of {month:%Y-%m}; median of {args.repeat}")
    print("\n| question | project (s) | pandas (s) | pandas ÷ project | same numbers |\n|---|---:|---:|---:|---|")
    ratios, ok = [], True
    for name, (project, plain, check) in QUESTIONS.items():
        t_project, p = _median_time(partial(lambda f: f(con.cursor(), month), project), args.repeat)
        t_pandas, q = _median_time(partial(plain, s, month), args.repeat)
        same = check(p, q)
        ok &= same
        ratios.append(t_pandas / t_project)
        print(f"| {name} | {t_project:.3f} | {t_pandas:.2f} | {ratios[-1]:.1f}x | {'yes' if same else 'NO'} |",
              flush=True)
    print(f"\nmedian ratio {statistics.median(ratios):.1f}x, min {min(ratios):.1f}x")
    con.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
