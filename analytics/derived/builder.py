"""Reading and rebuilding the derived tables (in each store version's folder, ``_versions/<id>/derived/``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl

from analytics.core import manifest as mf
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


def spark_write(con, table: DerivedTable, folder: Path) -> None:
    """Derived table ``table`` computed on Spark (all months in one job, cast to the declared schema) and
    written as a Parquet table under ``folder`` (partitioned by month like the DuckDB build)."""
    from analytics.core import spark

    frame = con.frame(table.sql, table.params(EARLIEST, LATEST), table.schema)
    if table.partition is None:
        frame.coalesce(1).write.mode("errorifexists").parquet(str(folder / f"{table.name}.parquet"))
    else:
        frame.repartition(table.partition).write.mode("errorifexists").partitionBy(table.partition).parquet(
            str(folder / table.name))
    spark.drop_markers(folder)


def build_into(root: Path, base: dict, folder: Path, threads: int | None = None,
               engine_name: str | None = None) -> dict[str, dict]:
    """Compute every derived table from the base tables of manifest ``base`` into ``folder`` (a new folder
    of the version being prepared); returns the manifest's ``derived`` entry (empty with no snapshots).

    Built by the configured engine (``$OVERDUE_ENGINE``): DuckDB a few months per query into one Parquet
    file per month; Spark by one distributed job per table written as a Parquet table in the lake
    (``spark_write``)."""
    from analytics.core import engine

    spark = engine.engine_name(engine_name) == "spark"
    con = engine.open_engine(root, base, derived=False, threads=threads, name=engine_name)
    try:
        months = store.months(con)
        if not months:
            return {}
        folder.mkdir(parents=True, exist_ok=True)
        for table in REGISTRY.values():
            if spark:
                spark_write(con, table, folder)
            else:
                _write(con, table, folder, months)
    finally:
        con.close()
    out = {}
    for table in REGISTRY.values():
        if spark and table.partition is None:  # a Spark table is a folder of part files
            files = sorted((folder / f"{table.name}.parquet").glob("*.parquet"))
        elif table.partition is None:
            files = [folder / f"{table.name}.parquet"]
        else:
            files = sorted((folder / table.name).glob("*=*/*.parquet"))
        out[table.name] = {"files": [f.relative_to(root).as_posix() for f in files],
                           "hive": table.partition is not None}
    return out


def build(root: str | os.PathLike | None = None, threads: int | None = None, engine_name: str | None = None) -> Path:
    """Rebuild the derived tables of the published version and publish them as a new version (same base
    files); returns the folder they were written to.

    The tables are written into the new version's own folder before its manifest is published, so a
    reader sees the old set or the new one, each with the base tables it was computed from. With no
    snapshots, or when the build fails, the new version has no derived tables (readers fall back to the
    inline SQL, on the same base tables) and the error is raised.
    """
    root = store.data_root(root)
    root.mkdir(parents=True, exist_ok=True)
    with mf.locked(root):
        mf.cleanup(root)
        base = store.current_manifest(root)
        change_id = mf.new_change_id()
        folder = mf.change_dir(root, change_id) / DERIVED
        try:
            tables, error = build_into(root, base, folder, threads=threads, engine_name=engine_name), None
        except Exception as exc:  # publish the base without derived tables: consistent, only slower
            shutil.rmtree(folder.parent, ignore_errors=True)
            tables, error = {}, exc
        if tables or base.get("derived"):
            mf.publish(root, base, change_id, dict(base["tables"]), tables,
                       {"kind": "derive", "table": None, "months": []})
        mf.cleanup(root)
    if error is not None:
        raise error
    return folder


if __name__ == "__main__":  # python -m analytics.derived.builder [root]
    import sys
    import time

    started = time.perf_counter()
    path = build(sys.argv[1] if len(sys.argv) > 1 else None)  # on the engine of $OVERDUE_ENGINE
    print(f"derived tables in {path} built in {time.perf_counter() - started:.1f} s")
