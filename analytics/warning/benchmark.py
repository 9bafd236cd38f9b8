"""Times of what pages/warnings.py computes on a cache miss (each call on a fresh DuckDB connection).

``python -m analytics.warning.benchmark --data DIR [--runs 3] [--branch B03 --product consumer]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from analytics.core import store
from analytics.warning import backtest, notices, report, signals


def _calls(month, branches, products):
    scope = {"month": month, "branches": branches, "products": products}
    first = {}

    def red_orange(con):
        w = signals.warnings(con, **scope)
        ids = tuple(w.filter(w["level"].is_in(["red", "orange"]))["loan_id"].to_list())
        first["loan"] = w["loan_id"][0] if w.height else None
        return notices.notice_batch(con, month=month, loan_ids=ids, **{k: scope[k] for k in ("branches", "products")})

    def loan_report(con):
        loan = first.get("loan")
        return report.loan_report_pdf(report.loan_report_data(con, month=month, loan_id=loan), "zh") if loan else b""

    return {
        "centre (counts, list, level changes, closed)": lambda con: signals.centre(con, **scope),
        "crossing_calendar (30 days)": lambda con: signals.crossing_calendar(con, **scope),
        "handling_status": lambda con: signals.handling_status(con, **scope),
        "portfolio_limits": lambda con: signals.portfolio_limits(con, **scope),
        "backtest (H = 3, 12 months)": lambda con: backtest.backtest(con, branches=branches, products=products),
        "notices: warnings + batch for red and orange": red_orange,
        "per-loan report (data + PDF)": loan_report,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--branch", default="")
    ap.add_argument("--product", default="")
    a = ap.parse_args(argv)
    con = store.connect(a.data)
    month = store.months(con)[-1]
    con.close()
    branches = (a.branch,) if a.branch else ()
    products = (a.product,) if a.product else ()
    out = {}
    for name, fn in _calls(month, branches, products).items():
        times = []
        for _ in range(a.runs):
            con = store.connect(a.data)
            t = time.perf_counter()
            fn(con)
            times.append(time.perf_counter() - t)
            con.close()
        out[name] = {"first": round(times[0], 2), "median": round(statistics.median(times), 2)}
        print(json.dumps({name: out[name]}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
