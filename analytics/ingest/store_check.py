"""A whole store checked against the contract: every table, its references across tables, continuity.

Also what the importer reads from the store to check a file against it: the referenced keys
(``store_keys``) and a stored table with the file and row each record came from (``read_store_table``).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from analytics.core import store
from analytics.core.schema import TABLES, Table
from analytics.ingest.checks import problems_frame
from analytics.ingest.continuity import continuity_problems
from analytics.ingest.problems import FILE, MAX_ROWS_PER_RULE, ROW, Problem, cap, no_problems, to_problems


def read_store_table(root: Path, table: Table | str) -> pl.DataFrame:
    """A stored table with ``__file__`` (path relative to root) and ``__row__`` (row within that file)."""
    t = TABLES[table] if isinstance(table, str) else table
    frames = []
    for path in store.table_files(root, t):
        df = pl.read_parquet(path)
        rel = str(path.relative_to(root))
        if t.partition:
            df = df.with_columns(pl.lit(store.partition_month(path), dtype=pl.Date).alias(t.partition))
        df = df.with_row_index(ROW, offset=1).with_columns(pl.lit(rel).alias(FILE))
        frames.append(df)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed")


def store_keys(root: Path) -> dict[str, pl.Series]:
    """The referenced keys present in a store (e.g. ``{"branches.branch_id": Series}``)."""
    targets = {ref for t in TABLES.values() for ref in t.references.values()}
    keys = {}
    for target in sorted(targets):
        t_name, column = target.split(".")
        files = store.table_files(root, t_name)
        if files:
            keys[target] = pl.concat([pl.read_parquet(f, columns=[column])[column].cast(pl.String)
                                      for f in files]).unique()
    return keys


def store_problems(root: str | os.PathLike | None = None) -> pl.DataFrame:
    """Every problem of every table in the store (uncapped)."""
    root = store.data_root(root)
    keys = store_keys(root)
    parts = [no_problems()]
    for t in TABLES.values():
        df = read_store_table(root, t)
        if not df.is_empty():
            parts.append(problems_frame(t.name, df, known_keys=keys))
            if t.name == "snapshots":
                parts.append(continuity_problems(df))
    return pl.concat(parts)


def validate_store(root: str | os.PathLike | None = None, max_rows_per_rule: int = MAX_ROWS_PER_RULE) -> list[Problem]:
    """Problems of the whole store (capped per rule)."""
    return to_problems(cap(store_problems(root), max_rows_per_rule))
