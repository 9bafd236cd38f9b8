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
from analytics.metrics import aging, causes, classification, drilldown, portfolio, rollrate, trends, vintage
from analytics.metrics.drilldown import DrillSpec


def page_calls(month: dt.date, branches: tuple[str, ...] = (),
               products: tuple[str, ...] = ()) -> dict[str, list[tuple[Callable, tuple, dict]]]:
    """What each page computes on first load with its default widgets and the given sidebar filters."""
    first = portfolio.add_months(month, -35)
    everything = (branches, products)
    calls = {
        "资产质量总览 overview": [
            (portfolio.dimensions, (), {}),
            (portfolio.kpi_tiles, (month, *everything), {}),
            (portfolio.quality_by, (("month",), *everything, first, month), {}),
        ],
        "五级分类与迁徙 classification": [
            (classification.quality_views, (month, *everything, portfolio.PBOC_2002), {"lang": "zh"}),
            (classification.below_floor_by_branch, (month, *everything), {}),
            (classification.transition_base, (classification.period_start(month, "quarter"), month, *everything), {}),
        ],
        "账龄分析 aging": [
            (aging.aging_base, (*everything, month, month), {}),
            (aging.aging_trend_base, (*everything, first, month), {}),
            (aging.aging_report, (month, *everything, "m", None, "zh"), {}),
        ],
        "Vintage": [(vintage.vintage_curves, ("month", "ever", 30, *everything, False), {})],
        "滚动率 roll rates": [
            (rollrate.roll_rates, everything, {}),
            (rollrate.transition_matrix, (month, *everything), {}),
        ],
        "逾期趋势 trends": [(trends.trend_series, ("total", *everything, month, first), {})],
        "逾期原因 causes": [
            (causes.pareto, (month, "balance", *everything), {}),
            (causes.mix_over_time, (month, first, *everything), {}),
            (causes.cross_table, (month, "branch", "balance", *everything), {}),
            (causes.cause_qoq, (month, *everything), {}),
        ],
        "借据明细 drill-down (overdue loans)": [
            (drilldown.loans_behind, (DrillSpec(month=month, branches=branches, products=products, dpd_min=1),), {}),
        ],
    }
    return calls


def time_page(root: Path, calls: list[tuple[Callable, tuple, dict]], repeat: int) -> list[float]:
    """Seconds to run all of a page's calls on a fresh connection, ``repeat`` times."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        con = store.connect(root)
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
    for page, calls in page_calls(month, tuple(args.branch), tuple(args.product)).items():
        runs = time_page(root, calls, args.repeat)
        print(f"| {page} | {runs[0]:.2f} | {statistics.median(runs):.2f} |")


if __name__ == "__main__":
    main()
