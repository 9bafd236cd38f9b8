"""The portfolio slice every query takes: branches and products (an EMPTY tuple means "all").

The SQL condition names the columns of the row aliased ``l`` (a loan, a cube row or a derived row
carrying ``branch_id`` and ``product``); its values are bound list parameters, never text in the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb


def slice_sql(branch: str = "l.branch_id", product: str = "l.product") -> str:
    """The slice condition on the given branch and product columns (e.g. a snapshot's managing branch
    ``s.branch_id`` with the loan's ``l.product``)."""
    return (f"(len($branches) = 0 OR list_contains($branches, {branch}))\n"
            f"  AND (len($products) = 0 OR list_contains($products, {product}))")


SLICE_SQL = slice_sql()
# The managing branch of a snapshot row ``s`` (snapshots.branch_id) with the product of its loan ``l``.
MANAGED_SLICE_SQL = slice_sql("s.branch_id", "l.product")
# The same slice on a snapshot row ``s`` with no join to loans: the product through a semi-join on loans, read
# only when a product is chosen (a query that needs no attribute of the loan skips the 1M-row join).
SNAPSHOT_SLICE_SQL = ("(len($branches) = 0 OR list_contains($branches, s.branch_id))\n"
                      "  AND (len($products) = 0 OR s.loan_id IN (SELECT loan_id FROM loans"
                      " WHERE list_contains($products, product)))")


def list_param(values: Iterable[object], sql_type: str = "VARCHAR") -> duckdb.Value:
    """A typed list parameter (an empty Python list has no element type for DuckDB)."""
    return duckdb.Value(list(values), duckdb.list_type(duckdb.sqltype(sql_type)))


def slice_params(branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> dict[str, object]:
    """The bound parameters of ``SLICE_SQL``."""
    return {"branches": list_param(branches), "products": list_param(products)}
