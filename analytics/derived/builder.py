"""Reading and rebuilding the derived tables (``<root>/derived/``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import duckdb
import polars as pl

from analytics.core import store
from analytics.core.months import EARLIEST, LATEST
from analytics.derived.tables import REGISTRY, DerivedTable

DERIVED = "derived"
CHUNK_MONTHS = 4  # partitioned tables are built this many months per query (bounded memory)

has_view = store.has_view


def source(con: duckdb.DuckDBPyConnection, name: str, *, month_from: dt.date = EARLIEST,
           month_to: dt.date = LATEST) -> tuple[str, dict[str, object]]:
    """SQL text naming derived table ``name`` and the parameters it needs: the built view when it exists,
    otherwise the registry's SQL as an inline subquery (covering [month_from, month_to] for a partitioned
    table). Callers still filter on month themselves (pruning on the view)."""
    table = REGISTRY[name]
    if has_view(con, name):
        return name, {}
    return "(" + table.sql + ")", table.params(month_from, month_to)


def compute(con: duckdb.DuckDBPyConnection, name: str, *, month_from: dt.date = EARLIEST,
            month_to: dt.date = LATEST) -> pl.DataFrame:
    """Derived table ``name`` computed from the base views (for a partitioned table: the given months)."""
    table = REGISTRY[name]
    order = " ORDER BY ALL" if table.partition is None and "ORDER BY" not in table.sql else ""
    return store.query(con, table.sql + order, table.params(month_from, month_to), table.schema)


def _write(con: duckdb.DuckDBPyConnection, table: DerivedTable, folder: Path, months: list[dt.date]) -> None:
    if table.partition is None:
        compute(con, table.name).write_parquet(folder / f"{table.name}.parquet", compression="zstd")
        return
    for i in range(0, len(months), CHUNK_MONTHS):  # a few months at a time: bounded memory
        chunk = compute(con, table.name, month_from=months[i],
                        month_to=months[min(i + CHUNK_MONTHS, len(months)) - 1])
        for (month,), part in chunk.partition_by(table.partition, as_dict=True, maintain_order=True).items():
            out = folder / table.name / store.month_dir_name(month)
            out.mkdir(parents=True)
            part.drop(table.partition).write_parquet(out / "part-0.parquet", compression="zstd")


def build(root: str | os.PathLike | None = None, threads: int | None = None) -> Path:
    """Rebuild ``<root>/derived/`` from the store; returns its path.

    Written into a temp folder, then swapped in (``store.swap_dir``). With no snapshots, or when the build
    fails, the folder is removed (an old set may no longer match the store) and readers fall back to inline SQL.
    """
    root = store.data_root(root)
    target = root / DERIVED
    tmp = root / f".{DERIVED}-tmp-{uuid.uuid4().hex[:8]}"
    try:
        con = store.connect(root, threads=threads)
    except duckdb.Error:  # an unreadable derived file: drop the old set, it is rebuilt from the store
        shutil.rmtree(target, ignore_errors=True)
        con = store.connect(root, threads=threads)
    try:
        months = store.months(con)
        if not months:
            shutil.rmtree(target, ignore_errors=True)
            return target
        tmp.mkdir(parents=True)
        for table in REGISTRY.values():
            _write(con, table, tmp, months)
    except BaseException:  # the old set no longer matches the store: drop it (readers fall back to inline SQL)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        con.close()
    store.swap_dir(tmp, target)
    return target


if __name__ == "__main__":  # python -m analytics.derived.builder [root]
    import sys
    import time

    started = time.perf_counter()
    path = build(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"derived tables in {path} built in {time.perf_counter() - started:.1f} s")
