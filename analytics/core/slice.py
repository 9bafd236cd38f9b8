"""The portfolio slice every query takes: branches and products (an EMPTY tuple means "all").

The SQL condition names the columns of the row aliased ``l`` (a loan, a cube row or a derived row
carrying ``branch_id`` and ``product``); its values are bound list parameters, never text in the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

SLICE_SQL = """(len($branches) = 0 OR list_contains($branches, l.branch_id))
  AND (len($products) = 0 OR list_contains($products, l.product))"""


def list_param(values: Iterable[object], sql_type: str = "VARCHAR") -> duckdb.Value:
    """A typed list parameter (an empty Python list has no element type for DuckDB)."""
    return duckdb.Value(list(values), duckdb.list_type(duckdb.sqltype(sql_type)))


def slice_params(branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> dict[str, object]:
    """The bound parameters of ``SLICE_SQL``."""
    return {"branches": list_param(branches), "products": list_param(products)}
