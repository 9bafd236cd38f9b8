"""The Parquet store and its DuckDB query layer.

Layout under the data root (``$OVERDUE_DATA_DIR``, default ``<project>/data``)::

    branches.parquet  loans.parquet  collectors.parquet  targets.parquet
    snapshots/month=YYYY-MM-01/part-0.parquet            (hive-partitioned by month)
    collection_actions/month=YYYY-MM-01/part-0.parquet
    derived/...                                           (rebuilt from the above, never imported)
    _meta/ _history/ _quarantine/ _staging/               (import bookkeeping, never queried)

Queries never contain file paths: ``connect`` registers one view per table and the SQL
names the view, so another engine (Spark) can register its own views under the same names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from analytics.core.schema import TABLES, Table

DATA_ENV = "OVERDUE_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BOOKKEEPING = ("_meta", "_history", "_quarantine", "_staging", "_models")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The store folder: the argument, else ``$OVERDUE_DATA_DIR``, else ``<project>/data``."""
    if root is not None:
        return Path(root)
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else PROJECT_ROOT / "data"


def table_path(root: Path, table: Table | str) -> Path:
    """Where a table lives: a folder for partitioned tables, a file otherwise."""
    t = TABLES[table] if isinstance(table, str) else table
    return root / t.name if t.partition else root / f"{t.name}.parquet"


def table_files(root: Path, table: Table | str) -> list[Path]:
    path = table_path(root, table)
    if path.is_dir():
        return sorted(path.glob("*=*/*.parquet"))
    return [path] if path.is_file() else []


def has_data(root: str | os.PathLike | None = None) -> bool:
    root = data_root(root)
    return bool(table_files(root, "loans")) and bool(table_files(root, "snapshots"))


def _register(con: duckdb.DuckDBPyConnection, name: str, files: list[Path], schema: pl.Schema | None,
              partitioned: bool) -> None:
    if files:
        glob = [str(f) for f in files]
        rel = con.read_parquet(glob, hive_partitioning=partitioned)
        rel.create_view(name)
    elif schema is not None:
        # A real (empty, typed) table: visible to every cursor, unlike a registered frame.
        con.from_arrow(pl.DataFrame(schema=schema).to_arrow()).create(name)


def connect(root: str | os.PathLike | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per contract table (empty views if absent).

    Open one per cache miss or per thread: DuckDB connections are not shared across
    Streamlit's script threads.
    """
    root = data_root(root)
    con = duckdb.connect(config={"threads": threads} if threads else {})
    for table in TABLES.values():
        _register(con, table.name, table_files(root, table), table.polars_schema, bool(table.partition))
    derived = root / "derived"
    if derived.is_dir():
        for entry in sorted(derived.iterdir()):
            if entry.is_dir():
                _register(con, entry.name, sorted(entry.glob("*=*/*.parquet")), None, True)
            elif entry.suffix == ".parquet":
                _register(con, entry.stem, [entry], None, False)
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None,
          schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Run ``sql`` with bound ``$name`` parameters on a fresh cursor; cast to ``schema`` if given."""
    cur = con.cursor()
    try:
        df = cur.sql(sql, params=dict(params or {})).pl()
    finally:
        cur.close()
    if schema:
        df = df.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    return df


def has_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a view or table ``name`` is registered (derived tables exist only after a build)."""
    sql = "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $name"
    return query(con, sql, {"name": name})["n"][0] > 0


def data_version(root: str | os.PathLike | None = None) -> str:
    """A short fingerprint of every queryable Parquet file (path, size, mtime).

    It changes whenever a table or a month is written, replaced or restored, so it keys
    every cache in the app.
    """
    root = data_root(root)
    h = hashlib.sha1(str(root.resolve()).encode())
    if root.is_dir():
        for path in sorted(root.rglob("*.parquet")):
            rel = path.relative_to(root)
            if rel.parts[0] in BOOKKEEPING:
                continue
            st = path.stat()
            h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The snapshot months present, ascending."""
    df = query(con, "SELECT DISTINCT month FROM snapshots ORDER BY month")
    return df["month"].to_list()


def month_dir_name(month: dt.date) -> str:
    return f"month={month:%Y-%m-01}"


def partition_month(path: Path) -> dt.date:
    """The month of a partitioned table's file (``.../month=2024-03-01/part-0.parquet`` -> 2024-03-01)."""
    return dt.date.fromisoformat(path.parent.name.split("=", 1)[1])


def write_table(root: Path, table: Table | str, df: pl.DataFrame) -> None:
    """Write a whole table in the store layout (partitioned tables one file per month).

    This writes in place: callers that must be atomic write into a staging root first
    (see ``analytics.ingest``) or into a fresh folder (``analytics.tools.demo``).
    """
    t = TABLES[table] if isinstance(table, str) else table
    if t.partition is None:
        root.mkdir(parents=True, exist_ok=True)
        df.write_parquet(table_path(root, t), compression="zstd")
        return
    base = table_path(root, t)
    for (month,), part in df.partition_by(t.partition, as_dict=True, maintain_order=True).items():
        out = base / month_dir_name(month)
        out.mkdir(parents=True, exist_ok=True)
        part.drop(t.partition).write_parquet(out / "part-0.parquet", compression="zstd")


def swap_dir(new: Path, target: Path) -> None:
    """Put the folder ``new`` in place of ``target`` by renames (each atomic): an existing ``target`` is moved
    aside first, moved back if the second rename fails, and removed only once ``new`` is in place."""
    if not target.exists():
        new.rename(target)
        return
    aside = target.with_name(f".{target.name}-old-{uuid.uuid4().hex[:8]}")
    target.rename(aside)
    try:
        new.rename(target)
    except BaseException:
        aside.rename(target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
