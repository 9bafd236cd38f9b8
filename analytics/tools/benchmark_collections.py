"""Page-load benchmark of the collection performance page (清收绩效), per call and in total:

    python -m analytics.tools.benchmark_collections --data /tmp/coll1m [--branch B03 --product consumer]

Times what ``pages/collections.py`` computes on a cache miss with its default widgets (latest quarter with
actions, first collector in the drill), each call on a fresh DuckDB connection, ``--repeat`` times. The Markdown
table printed goes into docs/benchmarks.md. Kept apart from ``benchmark.py`` so that file's page list stays one
entry per page; the lead may fold this page's calls into it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from analytics.core import store
from analytics.metrics import collection_scorecard as sc
from analytics.metrics import collections as coll


def page_calls(con, branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> list[tuple[str, object, dict]]:
    """(label, function, keyword arguments) of the page's first load."""
    quarter = coll.period_range(coll.action_months(con)[-1], "quarter")
    scope = {"month_from": quarter[0], "month_to": quarter[1], "branches": branches, "products": products}
    first = coll.collectors(con)["collector_id"][0]
    kpis = {"freq": "quarter", **scope}
    return [
        ("action_months + collectors", lambda c: (coll.action_months(c), coll.collectors(c)), {}),
        ("collector_scorecard", sc.collector_scorecard, {"scheme": sc.DEFAULT_SCHEME, **scope}),
        ("collection_kpis by collector", coll.collection_kpis, {"by": "collector", **kpis}),
        ("collection_kpis by team", coll.collection_kpis, {"by": "team", **kpis}),
        ("recovery_by_bucket", coll.recovery_by_bucket, {"by": "total", **kpis}),
        ("resolution_times by team", coll.resolution_times, {"by": "team", **kpis}),
        ("legal_vs_nonlegal", coll.legal_vs_nonlegal, scope),
        ("target_attainment (weeks)", sc.target_attainment, {"freq": "week", **scope}),
        ("drill_actions (one collector)", coll.drill_actions, {"by": "collector", "key": first, **scope}),
        ("drill_cases (one collector)", coll.drill_cases, {"by": "collector", "key": first, **scope}),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="store to measure (default: $OVERDUE_DATA_DIR or data/)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--branch", action="append", default=[], help="sidebar branch filter (repeatable)")
    parser.add_argument("--product", action="append", default=[], help="sidebar product filter (repeatable)")
    args = parser.parse_args(argv)
    root = store.data_root(args.data)
    con = store.connect(root)
    calls = page_calls(con, tuple(args.branch), tuple(args.product))
    actions = store.query(con, "SELECT count(*) AS n FROM collection_actions")["n"][0]
    con.close()
    print(f"store {root}: {actions:,} collection actions; filters: branches={args.branch or 'all'} "
          f"products={args.product or 'all'}")
    print("\n| call | first run (s) | median of runs (s) |\n|---|---:|---:|")
    totals = [0.0] * args.repeat
    for label, fn, kwargs in calls:
        runs = []
        for i in range(args.repeat):
            start = time.perf_counter()
            c = store.connect(root)
            fn(c, **kwargs)
            c.close()
            runs.append(time.perf_counter() - start)
            totals[i] += runs[-1]
        print(f"| {label} | {runs[0]:.2f} | {statistics.median(runs):.2f} |")
    print(f"| **whole page (sum)** | {totals[0]:.2f} | {statistics.median(totals):.2f} |")


if __name__ == "__main__":
    main()
