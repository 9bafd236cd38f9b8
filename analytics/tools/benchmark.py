"""Page-load benchmark: time what each page computes on a cache miss, at realistic size.

    python -m analytics.tools.benchmark --data /tmp/bench --generate --loans 1000000 --months 36
    python -m analytics.tools.benchmark --data DIR --filters      # no filter, and branch B03 + consumer

Each page's first-load analytics calls run on cursors of one long-lived read connection (what the app keeps
per store version, ``app_data._connection``: a cache miss pays for the queries, not for opening the views;
``--fresh`` opens a connection per page instead, as before). The table printed (Markdown) goes into
docs/benchmarks.md with p50 and worst across pages. Timings are reported, never asserted in tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from analytics.core import store
from analytics.core.months import window_start
from analytics.metrics import aging, causes, classification, drilldown, portfolio, rollrate, trends, vintage
from analytics.metrics.drilldown import DrillSpec


def page_calls(month: dt.date, branches: tuple[str, ...] = (),
               products: tuple[str, ...] = ()) -> dict[str, list[tuple[Callable, tuple, dict]]]:
    """What each page computes on first load with its default widgets and the given sidebar filters."""
    first = window_start(month)
    s = {"branches": branches, "products": products}
    calls = {
        "资产质量总览 overview": [
            (portfolio.dimensions, (), {}),
            (portfolio.kpi_tiles, (), {"month": month, **s}),
            (portfolio.quality_by, (), {**s, "month_from": first, "month_to": month}),
        ],
        "五级分类与迁徙 classification": [
            (classification.quality_views, (), {"month": month, **s}),
            (classification.below_floor_by_branch, (), {"month": month, **s}),
            (classification.transition_base, (), {"start_month": classification.period_start(month, "quarter"),
                                                   "end_month": month, **s}),
        ],
        "账龄分析 aging": [
            (aging.aging_base, (), {**s, "month_from": month, "month_to": month}),
            (aging.aging_trend_base, (), {**s, "month_from": first, "month_to": month}),
            (aging.aging_report, (), {"month": month, **s, "scheme": "m"}),
        ],
        "Vintage": [(vintage.vintage_curves, (), {"grain": "month", "measure": "ever", "threshold": 30, **s})],
        "滚动率 roll rates": [
            (rollrate.roll_rates, (), s),
            (rollrate.roll_matrix, (), {"month": month, **s}),
        ],
        "逾期趋势 trends": [(trends.trend_series, (), {"dimension": "total", **s, "month_from": first,
                                                     "month_to": month})],
        "逾期原因 causes": [
            (causes.pareto, (), {"month": month, "basis": "balance", **s}),
            (causes.mix_over_time, (), {"month_from": first, "month_to": month, **s}),
            (causes.cross_table, (), {"month": month, "dimension": "branch", "basis": "balance", **s}),
            (causes.cause_qoq, (), {"month": month, **s}),
        ],
        "借据明细 drill-down (overdue loans)": [
            (drilldown.loans_behind, (DrillSpec(month=month, branches=branches, products=products, dpd_min=1),), {}),
        ],
    }
    return calls


def time_page(root: Path, calls: list[tuple[Callable, tuple, dict]], repeat: int,
              con: duckdb.DuckDBPyConnection | None = None, engine_name: str = "duckdb") -> list[float]:
    """Seconds to run all of a page's calls, ``repeat`` times: on cursors of ``con`` (the app's long-lived
    connection), or on a fresh connection of the engine per run when ``con`` is None (on Spark: fresh views on
    the already-started session)."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        page_con = con if con is not None else store.open_store(root, engine_name=engine_name)
        for fn, args, kwargs in calls:
            cur = page_con.cursor()
            fn(cur, *args, **kwargs)
            cur.close()
        if con is None:
            page_con.close()
        runs.append(time.perf_counter() - start)
    return runs


def measure(root: Path, filters: list[tuple[tuple[str, ...], tuple[str, ...]]], repeat: int,
            fresh: bool = False, engine_name: str = "duckdb") -> dict[str, list[list[float]]]:
    """Page -> one list of run times per filter."""
    start = time.perf_counter()
    con = None if fresh else store.open_store(root, engine_name=engine_name)
    if con is not None:
        print(f"long-lived connection opened in {time.perf_counter() - start:.3f} s (once per store version)")
    month = store.months(con or store.connect(root))[-1]
    out: dict[str, list[list[float]]] = {}
    for branches, products in filters:
        for page, calls in page_calls(month, branches, products).items():
            out.setdefault(page, []).append(time_page(root, calls, repeat, con, engine_name))
    if con is not None:
        con.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="store to measure (default: $OVERDUE_DATA_DIR or data/)")
    parser.add_argument("--generate", action="store_true", help="generate a demo store there first")
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--branch", action="append", default=[], help="sidebar branch filter (repeatable)")
    parser.add_argument("--product", action="append", default=[], help="sidebar product filter (repeatable)")
    parser.add_argument("--filters", action="store_true",
                        help="measure without a filter and with branch B03 + consumer loans (two columns)")
    parser.add_argument("--fresh", action="store_true", help="a fresh connection per page (no long-lived one)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                        help="query engine (default: $OVERDUE_ENGINE or duckdb); Spark per docs/spark.md settings")
    args = parser.parse_args(argv)
    root = store.data_root(args.data)
    if args.generate:
        from analytics.tools import demo

        start = time.perf_counter()
        demo.write_streamed(root, n_loans=args.loans, n_months=args.months, force=True)  # month by month: bounded memory
        print(f"generated {args.loans:,} loans x {args.months} months in {time.perf_counter() - start:.1f} s")
    con = store.connect(root)
    month = store.months(con)[-1]
    rows = store.query(con, "SELECT count(*) AS n FROM snapshots")["n"][0]
    loans = store.query(con, "SELECT count(*) AS n FROM loans")["n"][0]
    con.close()
    filters = [((), ()), (("B03",), ("consumer",))] if args.filters else [(tuple(args.branch), tuple(args.product))]
    print(f"store {root}: {loans:,} loans, {rows:,} snapshot rows, as-of {month:%Y-%m}; "
          f"{platform.processor() or platform.machine()}; load average {os.getloadavg()[0]:.1f}")
    names = ["no filter" if not b and not p else f"{'+'.join(b) or 'all'} / {'+'.join(p) or 'all'}"
             for b, p in filters]
    from analytics.core import engine

    name = engine.engine_name(args.engine)
    if name == "spark":  # the session starts once per process (the app's too): timed apart from the pages
        from analytics.core import spark

        start = time.perf_counter()
        spark.session()
        print(f"Spark session started in {time.perf_counter() - start:.1f} s")
    print(f"engine: {name}")
    results = measure(root, filters, args.repeat, args.fresh, name)
    head = " | ".join(f"{n}: first (s) | {n}: median of {args.repeat} (s)" for n in names)
    print(f"\n| page | {head} |\n|---|" + "---:|" * (2 * len(filters)))
    medians: list[list[float]] = [[] for _ in filters]
    for page, per_filter in results.items():
        cells = []
        for i, runs in enumerate(per_filter):
            medians[i].append(statistics.median(runs))
            cells += [f"{runs[0]:.2f}", f"{medians[i][-1]:.2f}"]
        print(f"| {page} | " + " | ".join(cells) + " |")
    for name, m in zip(names, medians, strict=True):
        print(f"\n{name}: p50 across pages {statistics.median(m):.2f} s, worst {max(m):.2f} s")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
