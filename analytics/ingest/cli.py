"""The import command, ``python -m analytics.ingest`` (the same code path as the 数据导入 page)::

    python -m analytics.ingest load FILE --table snapshots [--profile NAME] [--save-profile NAME]
        [--map COLUMN=SOURCE ...] [--value-map COLUMN:SOURCE_VALUE=CODE ...] [--unit 元|万元]
        [--sheet S] [--header-row N] [--month 2024-03] [--on-bad reject|quarantine] [--replace]
        [--report errors.csv] [--lang zh|en] [--data DIR] [--max-mb N]
    python -m analytics.ingest history | restore CHANGE_ID | profiles | recover   [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from analytics.core import store
from analytics.core.schema import TABLES
from analytics.ingest.committing import ON_BAD, LoadRejected, commit, history, recover, restore
from analytics.ingest.mapping import list_profiles
from analytics.ingest.preparing import prepare_file
from analytics.ingest.reading import IngestError
from analytics.ingest.reports import continuity_report, error_report, error_report_csv


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analytics.ingest", description="Import a bank's monthly exports.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Mapping (the same choices as the 数据导入 page; see docs/import.md):\n"
               "  a suggested mapping (header synonyms) or --profile NAME, then --map / --value-map / --unit on top;\n"
               "  --save-profile NAME keeps the result for next month.\n"
               "  python -m analytics.ingest load 快照.xlsx --table snapshots --header-row 3 \\\n"
               "      --map outstanding_principal=贷款余额 --map loans.origination_date=放款月份 \\\n"
               "      --value-map booked_class:A=1 --value-map status:正常还款=active --unit 万元 --save-profile 我行快照")
    p.add_argument("--data", help="data folder (default $OVERDUE_DATA_DIR or ./data)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    sub = p.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="load one file into one table")
    load.add_argument("file")
    load.add_argument("--table", required=True, choices=list(TABLES))
    load.add_argument("--profile", help="saved mapping profile to use (default: a suggested mapping)")
    load.add_argument("--save-profile", help="save the mapping used under this name")
    load.add_argument("--map", action="append", default=[], metavar="COLUMN=SOURCE",
                      help="the source column feeding a contract column (repeatable); loans.COLUMN=SOURCE for a "
                           "loan field of a snapshot file (creates its loans); COLUMN= leaves it not provided; "
                           "COLUMN=<all empty> loads a nullable column empty")
    load.add_argument("--value-map", action="append", default=[], metavar="COLUMN:SOURCE_VALUE=CODE",
                      help="a source value and the contract code it means, e.g. booked_class:关注类=2 (repeatable)")
    load.add_argument("--sheet", help="Excel sheet (default: the first)")
    load.add_argument("--header-row", type=int, metavar="N",
                      help="1-based row of the header (default: detected, skipping title rows above it)")
    load.add_argument("--unit", choices=("元", "万元"), help="amount unit of the file")
    load.add_argument("--month", help="the month of a one-month file without a month column (e.g. 2024-03)")
    load.add_argument("--on-bad", choices=ON_BAD, default="reject")
    load.add_argument("--replace", action="store_true", help="replace months that already exist")
    load.add_argument("--report", help="write the error report (CSV) here")
    load.add_argument("--max-mb", type=float, help="size limit in MB")
    sub.add_parser("history", help="list the import log")
    rest = sub.add_parser("restore", help="undo a load (put back what it replaced)")
    rest.add_argument("change_id")
    rest.add_argument("--confirm", action="store_true", help="also undo newer loads of the same table and months")
    sub.add_parser("profiles", help="list saved mapping profiles")
    sub.add_parser("recover", help="finish after an interrupted load (remove unpublished files, log lines)")
    return p


def _cli_load(args: argparse.Namespace, root: Path) -> int:
    limit = int(args.max_mb * 1024 * 1024) if args.max_mb else None
    prepared = prepare_file(root, args.file, args.table, profile=args.profile, sheet=args.sheet, unit=args.unit,
                            month=args.month, limit=limit, header_row=args.header_row, maps=args.map,
                            value_maps=args.value_map)
    print(f"{prepared.source.name}: {prepared.n_rows} rows, {prepared.n_bad} with problems"
          + (f" (header row {prepared.source.header_row})" if prepared.source.header_row else ""))
    for note in prepared.notes(args.lang):
        print(note)
    if prepared.n_rounded:
        print(f"{prepared.n_rounded} amounts written as binary floats (825.2900000000001) read as 2-decimal "
              "amounts" if args.lang == "en" else f"{prepared.n_rounded} 个金额是浮点数写法（825.2900000000001），已按两位小数读取")
    if not prepared.problems.is_empty():
        with pl.Config(tbl_rows=30, fmt_str_lengths=70, tbl_width_chars=180):
            print(error_report(prepared, args.lang).head(30))
    if args.report:
        Path(args.report).write_bytes(error_report_csv(prepared, args.lang))
    if not prepared.warnings.is_empty():
        print(prepared.warning_text(args.lang))
        with pl.Config(tbl_rows=30, fmt_str_lengths=70, tbl_width_chars=180):
            print(continuity_report(prepared, args.lang).head(30))
    if args.on_bad == "quarantine" and prepared.quarantine_warning_text(args.lang):
        print(prepared.quarantine_warning_text(args.lang))
    result = commit(root, prepared, on_bad=args.on_bad, replace=args.replace, save_as=args.save_profile)
    months = ", ".join(f"{m:%Y-%m}" for m in result.months)
    print(f"loaded {result.change_id}: {result.table} {months} accepted={result.rows_accepted} "
          f"rejected={result.rows_rejected}" + (f" quarantine={result.quarantine}" if result.quarantine else "")
          + (f" loans_created={result.loans_created}" if result.loans_created else "")
          + (f" vanished_by_quarantine={len(result.vanished_by_quarantine)}" if result.vanished_by_quarantine else ""))
    if result.warning:
        print(result.warning, file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = store.data_root(args.data)
    try:
        if args.command != "recover":
            recover(root)
        if args.command == "load":
            return _cli_load(args, root)
        if args.command == "history":
            with pl.Config(tbl_rows=100, tbl_width_chars=200):
                print(history(root).select("change_id", "time", "kind", "status", "table", "months", "source",
                                           "rows_accepted", "rows_rejected", "profile", "restorable"))
        elif args.command == "restore":
            result = restore(root, args.change_id, confirm=args.confirm)
            print(f"restored {args.change_id} as {result.change_id}")
        elif args.command == "profiles":
            for prof in list_profiles(root):
                print(f"{prof.name}\t{prof.table}\tunit={prof.unit}")
        elif args.command == "recover":
            print(f"recovered {recover(root)}")
    except (IngestError, LoadRejected) as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return 1
    except OSError as exc:  # the file to load is missing, a folder, unreadable ...
        name = exc.filename or args.__dict__.get("file", "")
        zh, en = f"无法读取「{name}」：{exc.strerror or exc}", f"Cannot read '{name}': {exc.strerror or exc}"
        print(zh if args.lang == "zh" else en, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
