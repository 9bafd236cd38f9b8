"""Page-load benchmark: time what each page computes on a cache miss, at realistic size.

    python -m analytics.tools.benchmark --data /tmp/bench --generate --loans 1000000 --months 36

Each page's first-load analytics calls run on a fresh DuckDB connection (what a Streamlit cache
miss does); the table printed (Markdown) goes into docs/benchmarks.md. Timings are reported,
never asserted in tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

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
              engine_name: str = "duckdb") -> list[float]:
    """Seconds to run all of a page's calls on a fresh connection of the engine (on Spark: fresh views on the
    already-started session, what a cache miss of the app does), ``repeat`` times."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        con = store.open_store(root, engine_name=engine_name)
        for fn, args, kwargs in calls:
            fn(con, *args, **kwargs)
        con.close()
        runs.append(time.perf_counter() - start)
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="store to measure (default: $OVERDUE_DATA_DIR or data/)")
    parser.add_argument("--generate", action="store_true", help="generate a demo store there first")
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--branch", action="append", default=[], help="sidebar branch filter (repeatable)")
    parser.add_argument("--product", action="append", default=[], help="sidebar product filter (repeatable)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                        help="query engine (default: $OVERDUE_ENGINE or duckdb); Spark per docs/spark.md settings")
    args = parser.parse_args(argv)
    root = store.data_root(args.data)
    if args.generate:
        from analytics.tools import demo

        start = time.perf_counter()
        demo.write_demo(root, demo.generate(n_loans=args.loans, n_months=args.months), force=True)
        print(f"generated {args.loans:,} loans x {args.months} months in {time.perf_counter() - start:.1f} s")
    con = store.connect(root)
    month = store.months(con)[-1]
    rows = store.query(con, "SELECT count(*) AS n FROM snapshots")["n"][0]
    con.close()
    print(f"store {root}: {rows:,} snapshot rows, as-of {month:%Y-%m}; {platform.processor() or platform.machine()}")
    print(f"filters: branches={args.branch or 'all'} products={args.product or 'all'}")
    print("\n| page | first run (s) | median of runs (s) |\n|---|---:|---:|")
    from analytics.core import engine

    name = engine.engine_name(args.engine)
    if name == "spark":  # the session starts once per process (the app's too): timed apart from the pages
        from analytics.core import spark

        start = time.perf_counter()
        spark.session()
        print(f"Spark session started in {time.perf_counter() - start:.1f} s")
    print(f"engine: {name}")
    for page, calls in page_calls(month, tuple(args.branch), tuple(args.product)).items():
        runs = time_page(root, calls, args.repeat, name)
        print(f"| {page} | {runs[0]:.2f} | {statistics.median(runs):.2f} |")


if __name__ == "__main__":
    main()
