"""Before/after check that a speed change moves no number: dump every page computation, then compare.

    python -m analytics.tools.results_check dump --data DIR --out /tmp/before      # on the old code
    python -m analytics.tools.results_check dump --data DIR --out /tmp/after       # on the new code
    python -m analytics.tools.results_check compare /tmp/before /tmp/after

``dump`` runs, without a filter and with a branch + product filter, what the pages compute (the benchmark's
first-load calls plus the other views the pages offer) and writes every returned frame as Parquet;
``compare`` checks each pair with ``polars.testing.assert_frame_equal`` (exact: same dtypes, same order) and
exits 1 on any difference or missing result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from analytics.core import store
from analytics.core.months import add_months, window_start
from analytics.metrics import aging, causes, classification, drilldown, portfolio, rollrate, trends, vintage
from analytics.metrics.drilldown import DrillSpec

Call = tuple[Callable, tuple, dict]


def extra_calls(month: dt.date, branches: tuple[str, ...], products: tuple[str, ...]) -> dict[str, list[Call]]:
    """Views the pages offer beyond their first load (other widgets), at ``month`` with the given filters."""
    s = {"branches": branches, "products": products}
    first = window_start(month)
    return {
        "trends_by": [(trends.trend_series, (), {"dimension": d, "freq": f, **s, "month_from": first,
                                                 "month_to": month})
                      for d in ("branch", "product") for f in ("month", "quarter")]
        + [(trends.qoq_table, (), {"month": month, "dimension": d, "basis": b, **s})
           for d in ("total", "branch") for b in ("balance", "count")]
        + [(trends.new_overdue_base, (), {**s, "month_from": first, "month_to": month, "dpd_min": 30})],
        "rollrate_more": [(rollrate.roll_matrix, (), {"month": month, "window": 12, **s}),
                          (rollrate.roll_rates, (), {**s, "month_from": add_months(month, -11), "month_to": month})],
        "causes_more": [(causes.cross_table, (), {"month": month, "dimension": "product", "basis": "count", **s}),
                        (causes.pareto, (), {"month": month, "basis": "count", **s}),
                        (causes.pareto, (), {"month": month, "basis": "balance", "dpd_min": 31, **s}),
                        (causes.mix_over_time, (), {"month_from": first, "month_to": month, "dpd_min": 91, **s})],
        "vintage_more": [(vintage.vintage_curves, (), {"grain": g, "measure": m, "threshold": t, **s})
                         for g in ("month", "quarter") for m in ("ever", "pit") for t in (30, 90)],
        "aging_more": [(aging.aging_report, (), {"month": month, **s, "scheme": "reg"})],
        "classification_more": [(classification.floor_vs_booked, (), {"month": month, **s})]
        + [(classification.transition_base, (), {"start_month": classification.period_start(end, p),
                                                 "end_month": end, **s})
           for end in (month, dt.date(month.year, 1, 1)) for p in classification.PERIODS]
        + [(classification.transition_base, (), {"start_month": add_months(month, -5), "end_month": month, **s})],
        "portfolio_more": [(portfolio.quality_by, (), {"by": ("month", "branch_id"), **s, "month_from": first,
                                                       "month_to": month})],
        "drill_more": [(drilldown.loans_behind, (DrillSpec(month=month, branches=branches, products=products,
                                                           dpd_min=91),), {})],
    }


def all_calls(month: dt.date, branches: tuple[str, ...], products: tuple[str, ...]) -> dict[str, list[Call]]:
    from analytics.tools.benchmark import page_calls

    return page_calls(month, branches, products) | extra_calls(month, branches, products)


def _frames(result: object) -> dict[str, pl.DataFrame]:
    if isinstance(result, pl.DataFrame):
        return {"": result}
    if isinstance(result, dict):
        return {f"_{k}": v if isinstance(v, pl.DataFrame) else pl.DataFrame({"value": [repr(v)]})
                for k, v in result.items()}
    if isinstance(result, (list, tuple)) and all(isinstance(v, pl.DataFrame) for v in result):
        return {f"_{i}": v for i, v in enumerate(result)}
    return {"": pl.DataFrame({"value": [repr(result)]})}


def dump(root: Path, out: Path, filters: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> int:
    """Write every call's frames under ``out``; returns the number of frames written."""
    out.mkdir(parents=True, exist_ok=True)
    con = store.connect(root)
    month = store.months(con)[-1]
    n = 0
    for i, (branches, products) in enumerate(filters):
        for page, calls in all_calls(month, branches, products).items():
            for j, (fn, args, kwargs) in enumerate(calls):
                for suffix, frame in _frames(fn(con, *args, **kwargs)).items():
                    name = f"f{i}_{page.split()[-1]}_{j}_{fn.__name__}{suffix}.parquet".replace("/", "-")
                    frame.write_parquet(out / name)
                    n += 1
    con.close()
    return n


def compare(before: Path, after: Path) -> list[str]:
    """Names of the results that differ (or exist on one side only); empty when all are equal."""
    names_b = {p.name for p in before.glob("*.parquet")}
    names_a = {p.name for p in after.glob("*.parquet")}
    bad = sorted(f"{n}: only in {before if n in names_b else after}" for n in names_b ^ names_a)
    for name in sorted(names_b & names_a):
        try:
            assert_frame_equal(pl.read_parquet(before / name), pl.read_parquet(after / name))
        except AssertionError as exc:
            bad.append(f"{name}: {str(exc).splitlines()[0]}")
    return bad


def default_filters(root: Path) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    con = store.connect(root)
    dims = portfolio.dimensions(con)
    con.close()
    branch_ids = [b for b, _ in dims["branches"]]
    branch = "B03" if "B03" in branch_ids else branch_ids[0]
    product = "consumer" if "consumer" in dims["products"] else dims["products"][0]
    return [((), ()), ((branch,), (product,))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--data", type=Path, default=None)
    d.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        root = store.data_root(args.data)
        print(f"{dump(root, args.out, default_filters(root))} results written to {args.out}")
        return 0
    bad = compare(args.before, args.after)
    total = len(list(args.before.glob("*.parquet")))
    print("\n".join(bad) if bad else f"all {total} results equal")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
