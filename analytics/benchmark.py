"""Page-load benchmark: time what each page computes on a cache miss, at realistic size.

    python -m analytics.benchmark --data /tmp/bench --generate --loans 1000000 --months 36

Each page's first-load analytics calls run on a fresh DuckDB connection (what a Streamlit cache
miss does); the table printed (Markdown) goes into docs/benchmarks.md. Timings are reported,
never asserted in tests.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from analytics import portfolio, store
from analytics.drilldown import DrillSpec


def page_calls(month) -> dict[str, list[tuple[Callable, tuple, dict]]]:
    """What each page computes on first load with the default widgets (sidebar: all branches, all products)."""
    first = portfolio.add_months(month, -35)
    calls: dict[str, list] = {
        "overview": [
            ("analytics.portfolio", "dimensions", (), {}),
            ("analytics.portfolio", "kpi_tiles", (month, (), ()), {}),
            ("analytics.portfolio", "quality_by", (("month",), (), (), first, month), {}),
        ],
        "drilldown (overdue loans)": [
            ("analytics.drilldown", "loans_behind", (DrillSpec(month=month, dpd_min=1),), {}),
        ],
    }
    calls.update(_extra_calls(month))
    return {page: [(_resolve(m, f), a, k) for m, f, a, k in items] for page, items in calls.items()}


def _extra_calls(month) -> dict[str, list]:
    """Calls of the analysis pages (kept in their modules as ``BENCHMARK_CALLS(month)`` when present)."""
    extra: dict[str, list] = {}
    for name in ("classification", "aging", "vintage", "rollrate", "trends", "causes"):
        try:
            module = importlib.import_module(f"analytics.{name}")
        except ImportError:
            continue
        hook = getattr(module, "benchmark_calls", None)
        if hook:
            extra[name] = hook(month)
    return extra


def _resolve(module: str, name: str) -> Callable:
    return getattr(importlib.import_module(module), name)


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
    args = parser.parse_args(argv)
    root = store.data_root(args.data)
    if args.generate:
        from analytics import demo

        start = time.perf_counter()
        demo.write_demo(root, demo.generate(n_loans=args.loans, n_months=args.months), force=True)
        print(f"generated {args.loans:,} loans x {args.months} months in {time.perf_counter() - start:.1f} s")
    con = store.connect(root)
    month = store.months(con)[-1]
    rows = store.query(con, "SELECT count(*) AS n FROM snapshots")["n"][0]
    con.close()
    print(f"store {root}: {rows:,} snapshot rows, as-of {month:%Y-%m}; {platform.processor() or platform.machine()}")
    print("\n| page | first run (s) | median of runs (s) |\n|---|---:|---:|")
    for page, calls in page_calls(month).items():
        runs = time_page(root, calls, args.repeat)
        print(f"| {page} | {runs[0]:.2f} | {statistics.median(runs):.2f} |")


if __name__ == "__main__":
    main()
