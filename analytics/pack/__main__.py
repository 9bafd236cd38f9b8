"""``python -m analytics.pack``: the board pack for a quarter, for a scheduler (cron) as well as by hand."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from analytics.core import config, store
from analytics.core.months import parse_quarter
from analytics.metrics import provisioning
from analytics.pack import FORMATS, build


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analytics.pack", description="Quarterly reduction board pack.")
    p.add_argument("--quarter", required=True, help="e.g. 2026Q3")
    p.add_argument("--format", choices=FORMATS, default="pdf")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--data", default=None, help="data folder (default $OVERDUE_DATA_DIR or ./data)")
    p.add_argument("--branch", action="append", default=[], help="limit to a branch (repeatable)")
    args = p.parse_args(argv)
    try:
        quarter = parse_quarter(args.quarter)
    except ValueError as exc:
        p.error(str(exc))
    root = store.data_root(args.data)
    if not store.has_data(root):
        print(f"no loan data in {root}", file=sys.stderr)
        return 1
    _, scheme = config.load(root, "assessment_scheme", {})
    # the app-wide provision scheme (saved on the Scenarios page), so the pack's coverage is the pages' coverage
    rates = provisioning.rates_of(config.load(root, provisioning.SCHEME_CONFIG, provisioning.DEFAULT_SCHEME)[1])
    started = time.perf_counter()
    con = store.open_store(root)  # the configured engine ($OVERDUE_ENGINE)
    try:
        data = build(con, quarter=quarter, fmt=args.format, lang=args.lang, branches=tuple(args.branch),
                     scheme_json=json.dumps(scheme) if scheme else "", rates=rates)
    finally:
        con.close()
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
