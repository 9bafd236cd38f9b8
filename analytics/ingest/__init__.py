"""Bring-your-own-data import, as a package: ``python -m analytics.ingest`` and the 数据导入 page.

Reading and mapping a file (the modules are named for the step, the functions for the call):
- ``reading``: untrusted bytes -> a text frame (CSV encodings, xlsx cached values, Parquet, size limits), in a worker
  process with memory, CPU and time limits.
- ``mapping``: the user's columns and values -> the contract (profiles, suggestions, units, dates).

Checking rows against the contract (``python -m analytics.ingest.validate`` checks a store):
- ``problems``: the problem frame, the rule catalogue, the per-rule cap and summary.
- ``checks``: one table's rules (parsing, columns, keys, references, dates, snapshot consistency).
- ``continuity``: month-to-month continuity of snapshots (vanished loans, rows after an exit).
- ``store_check``: a whole store; the keys and rows a file is checked against.

Loading:
- ``preparing``: ``prepare`` = read + map + check -> ``Prepared`` (nothing written).
- ``committing``: ``commit`` = write a new store version (derived tables included) and publish it, quarantine, log;
  restore (``restore_plan``: what it would do, what it would break), history, recover.
- ``journal``: the store lock, the import log, the older layout's journal rollback.
- ``rounding``: how many amounts were read from binary-float renderings.
- ``reports``: error and continuity reports, preview, value maps as editable frames.
- ``cli``: the ``python -m analytics.ingest`` command.
"""

from analytics.ingest.cli import main
from analytics.ingest.committing import (
    ON_BAD,
    LoadRejected,
    LoadResult,
    commit,
    history,
    load_file,
    recover,
    restore,
    restore_plan,
)
from analytics.ingest.preparing import LOAD_ORDER, Prepared, prepare, prepare_source
from analytics.ingest.reading import BilingualError, IngestError
from analytics.ingest.reports import (
    coded_columns,
    continuity_report,
    error_report,
    error_report_csv,
    preview,
    value_map_frame,
    value_map_from_frame,
)

__all__ = [
    "LOAD_ORDER", "ON_BAD", "BilingualError", "IngestError", "LoadRejected", "LoadResult", "Prepared",
    "coded_columns", "commit", "continuity_report", "error_report", "error_report_csv", "history", "load_file",
    "main", "prepare", "prepare_source", "preview", "recover", "restore", "restore_plan", "value_map_frame", "value_map_from_frame",
]
