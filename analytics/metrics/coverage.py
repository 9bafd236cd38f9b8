"""Which optional snapshot columns the bank provides: a column the imported files did not have is stored empty
and every page shows it as 未提供 / not provided, never as 0.

``not_provided(con, month_from=, month_to=)`` lists the optional snapshot columns (``schema.SNAPSHOTS``, not
required) that hold no value in the months [month_from, month_to]; ``disposed_principal`` is never among them when
the importer derived it (see docs/import.md).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.months import EARLIEST, LATEST
from analytics.core.schema import SNAPSHOTS
from analytics.core.store import query

OPTIONAL_COLUMNS = tuple(c.name for c in SNAPSHOTS.columns if not c.required)
_COUNT_SQL = ("SELECT count(*)::BIGINT AS n_rows, "  # noqa: S608 (the contract's column names only)
              + ", ".join(f"count({c})::BIGINT AS {c}" for c in OPTIONAL_COLUMNS)
              + " FROM snapshots WHERE month BETWEEN $month_from AND $month_to")
_COUNT_SCHEMA = {"n_rows": pl.Int64} | dict.fromkeys(OPTIONAL_COLUMNS, pl.Int64)


def not_provided(con: duckdb.DuckDBPyConnection, *, month_from: dt.date = EARLIEST,
                 month_to: dt.date = LATEST) -> list[str]:
    """Optional snapshot columns without any value in the window (none when the window has no rows)."""
    counts = query(con, _COUNT_SQL, {"month_from": month_from, "month_to": month_to}, _COUNT_SCHEMA).row(0, named=True)
    if not counts["n_rows"]:
        return []
    return [c for c in OPTIONAL_COLUMNS if counts[c] == 0]
