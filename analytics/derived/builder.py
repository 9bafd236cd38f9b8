"""Reading and rebuilding the derived tables (in each store version's folder, ``_versions/<id>/derived/``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from analytics.core import manifest as mf
from analytics.core import store
from analytics.core.months import EARLIEST, LATEST
from analytics.derived.tables import REGISTRY, DerivedTable

DERIVED = "derived"
CHUNK_MONTHS = 4  # partitioned tables are built at most this many months per query (bounded memory) ...
CHUNK_ROWS = 3_000_000  # ... and fewer on a big book: a chunk covers about this many snapshot rows (at least a month)
BATCH_ROWS = 1_000_000  # a result larger than one chunk (loan_facts) is written in record batches of this size
BUCKET_LOANS = 2_000_000  # a one-row-per-loan table is grouped over at most about this many loans per query (and
# a bucketed partitioned table reads at most about this many loans of a month per query)
MEMORY_ENV = "OVERDUE_DERIVE_MEMORY"  # DuckDB memory_limit of a rebuild (spills to a temp folder beyond it)
DEFAULT_MEMORY = "4GB"

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


def _stream(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | list[dict[str, object]],
            schema: dict[str, pl.DataType], path: Path, drop: str | None = None) -> int:
    """Write the result of ``sql`` (cast to ``schema``, ``drop`` left out) to ``path`` in record batches, so only
    one batch is held in Python at a time; with a list of parameter sets, the results of each set one after the
    other into the same file. Returns the rows written (no file for an empty result)."""
    cols = [pl.col(name).cast(dtype) for name, dtype in schema.items() if name != drop]
    writer = None
    rows = 0
    try:
        for args in params if isinstance(params, list) else [params]:
            cur = con.cursor()
            try:
                for batch in cur.sql(sql, params=args).to_arrow_reader(BATCH_ROWS):
                    if batch.num_rows == 0:
                        continue
                    arrow = pl.from_arrow(batch).select(cols).to_arrow()
                    if writer is None:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        writer = pq.ParquetWriter(path, arrow.schema, compression="zstd")
                    writer.write_table(arrow)
                    rows += arrow.num_rows
            finally:
                cur.close()
    finally:
        if writer is not None:
            writer.close()
    return rows


def _buckets(con: duckdb.DuckDBPyConnection, table: DerivedTable) -> list[dict[str, object]]:
    """Parameter sets of ``table``: one, or for a one-row-per-loan table on a book of more than BUCKET_LOANS
    loans, one per loan-id hash bucket (a GROUP BY over ~BUCKET_LOANS loans each, which stays within the
    memory limit where one GROUP BY of every loan with many ``arg_min`` states does not spill well)."""
    params = table.params(EARLIEST, LATEST)
    if not table.bucketed:
        return [params]
    loans = store.query(con, "SELECT count(*)::BIGINT AS n FROM loans")["n"][0]
    k = max(1, -(-loans // BUCKET_LOANS))
    return [params | {"buckets": k, "bucket": b} for b in range(k)]


def _month_buckets(table: DerivedTable, month: dt.date, rows: int) -> list[dict[str, object]]:
    """Parameter sets of one month of partitioned ``table``: one, or for a bucketed table and a month of more than
    BUCKET_LOANS snapshot rows, one per loan-id hash bucket (written one after the other into the month's file)."""
    params = table.params(month, month)
    k = max(1, -(-rows // BUCKET_LOANS)) if table.bucketed else 1
    return [params] if k == 1 else [params | {"buckets": k, "bucket": b} for b in range(k)]


def _chunks(months: list[dt.date], rows: dict[dt.date, int]) -> list[list[dt.date]]:
    """Consecutive months in chunks of at most CHUNK_MONTHS months and about CHUNK_ROWS snapshot rows."""
    out: list[list[dt.date]] = []
    for month in months:
        if out and len(out[-1]) < CHUNK_MONTHS and sum(rows.get(m, 0) for m in out[-1]) + rows.get(month, 0) <= CHUNK_ROWS:
            out[-1].append(month)
        else:
            out.append([month])
    return out


def _write(con: duckdb.DuckDBPyConnection, table: DerivedTable, folder: Path, months: list[dt.date],
           rows: dict[dt.date, int]) -> None:
    if table.partition is None:
        order = " ORDER BY ALL" if "ORDER BY" not in table.sql else ""
        path = folder / f"{table.name}.parquet"
        if not _stream(con, table.sql + order, _buckets(con, table), table.schema, path):
            compute(con, table.name).write_parquet(path, compression="zstd")  # an empty table keeps its file
        return
    for chunk in _chunks(months, rows):
        if len(chunk) == 1:  # a big book: one month per query, streamed straight into its partition file
            out = folder / table.name / store.month_dir_name(chunk[0]) / "part-0.parquet"
            _stream(con, table.sql, _month_buckets(table, chunk[0], rows.get(chunk[0], 0)), table.schema, out,
                    drop=table.partition)
            continue
        frame = compute(con, table.name, month_from=chunk[0], month_to=chunk[-1])
        for (month,), part in frame.partition_by(table.partition, as_dict=True, maintain_order=True).items():
            out = folder / table.name / store.month_dir_name(month)
            out.mkdir(parents=True)
            part.drop(table.partition).write_parquet(out / "part-0.parquet", compression="zstd")


def _limits(spill: Path) -> dict[str, object]:
    """DuckDB settings of a rebuild: a memory limit (``$OVERDUE_DERIVE_MEMORY``, default 4GB) with spilling to
    ``spill``, and no insertion order to keep (the tables are sorted where order matters)."""
    return {"memory_limit": os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY, "temp_directory": str(spill),
            "preserve_insertion_order": False}


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

    Built by the configured engine (``$OVERDUE_ENGINE``). DuckDB: memory stays bounded whatever the book's
    size (a memory limit, spilling to a temp folder beside ``folder``, removed afterwards; partitioned tables
    built a few months, on a big book one month, per query; results written in record batches). Spark: one
    distributed job per table written as a Parquet table in the lake (``spark_write``)."""
    from analytics.core import engine

    spark = engine.engine_name(engine_name) == "spark"
    spill = folder.parent / f".{folder.name}-spill"
    con = engine.open_engine(root, base, derived=False, threads=threads, name=engine_name,
                             config=None if spark else _limits(spill))
    try:
        counts = store.query(con, "SELECT month, count(*)::BIGINT AS n FROM snapshots GROUP BY month ORDER BY month")
        months = counts["month"].to_list()
        if not months:
            return {}
        rows = dict(zip(months, counts["n"].to_list(), strict=True))
        folder.mkdir(parents=True, exist_ok=True)
        for table in REGISTRY.values():
            if spark:
                spark_write(con, table, folder)
            else:
                _write(con, table, folder, months, rows)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
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
