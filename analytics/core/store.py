"""The Parquet store and its DuckDB query layer.

Layout under the data root (``$OVERDUE_DATA_DIR``, default ``<project>/data``)::

    branches.parquet  loans.parquet  collectors.parquet  targets.parquet
    snapshots/month=YYYY-MM-01/part-0.parquet            (hive-partitioned by month)
    collection_actions/month=YYYY-MM-01/part-0.parquet
    derived/...                                           (rebuilt from the above, never imported)
    _meta/ _history/ _quarantine/ _staging/               (import bookkeeping, never queried)

That is the older, in-place layout (what ``write_table`` and the demo generator write). Every change made
through the importer or ``derived.build`` writes new immutable files under ``_versions/<change_id>/`` and
publishes a manifest listing every file of the new version (``analytics.core.manifest``): ``connect`` reads
the published manifest once and registers its views over exactly those files, so one connection sees one
consistent version of the whole store (base and derived tables) from its first query to its last.

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

from analytics.core import engine
from analytics.core import manifest as mf
from analytics.core.schema import TABLES, Table

DATA_ENV = "OVERDUE_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BOOKKEEPING = ("_meta", "_history", "_quarantine", "_staging", "_versions", "_models")


class StoreDamaged(RuntimeError):
    """A file the published version names cannot be read; ``files`` are their paths relative to the root."""

    def __init__(self, files: list[str], detail: str = ""):
        super().__init__(f"damaged store files: {', '.join(files)} {detail}".strip())
        self.files = files


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


def current_manifest(root: str | os.PathLike | None = None) -> dict:
    """The published version's manifest (version 0, found by scanning, for a store of the older layout)."""
    root = data_root(root)
    cur = mf.read_current(root)
    if cur is None:
        cur = mf.legacy_manifest(root, {name: bool(t.partition) for name, t in TABLES.items()})
    return cur


def manifest_files(root: Path, manifest: dict, table: Table | str) -> list[Path]:
    name = table if isinstance(table, str) else table.name
    return [root / rel for rel in manifest["tables"].get(name, [])]


def table_files(root: Path, table: Table | str) -> list[Path]:
    """The files of ``table`` in the published version."""
    return manifest_files(root, current_manifest(root), table)


def has_table(root: str | os.PathLike | None, table: Table | str) -> bool:
    """Whether the published version has files for ``table``."""
    name = table if isinstance(table, str) else table.name
    return bool(current_manifest(root)["tables"].get(name))


def has_data(root: str | os.PathLike | None = None) -> bool:
    cur = current_manifest(root)
    return bool(cur["tables"].get("loans")) and bool(cur["tables"].get("snapshots"))


def damaged_files(root: str | os.PathLike | None = None, manifest: dict | None = None) -> list[str]:
    """Files of the published version whose Parquet footer cannot be read (truncated, overwritten ...)."""
    import pyarrow.parquet as pq

    root = data_root(root)
    manifest = manifest or current_manifest(root)
    rels = [rel for files in manifest["tables"].values() for rel in files]
    rels += [rel for spec in manifest.get("derived", {}).values() for rel in spec["files"]]
    bad = []
    for rel in rels:
        try:
            pq.read_metadata(root / rel)
        except Exception:  # any failure to read the footer means the file is unusable
            bad.append(rel)
    return bad


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
    """An in-memory DuckDB connection with one view per contract table (empty views if absent) and one per
    derived table, all over the files of the version published when it was opened (pinned: a load or
    restore published meanwhile is seen by the next connection, never half by this one).

    Open one per cache miss or per thread: DuckDB connections are not shared across
    Streamlit's script threads.
    """
    root = data_root(root)
    return connect_manifest(root, current_manifest(root), threads=threads)


def open_store(root: str | os.PathLike | None = None, *, engine_name: str | None = None):
    """A connection of the configured engine (``$OVERDUE_ENGINE``: DuckDB by default, or Spark) over the
    published version: what the app and the command-line tools query through ``query``."""
    root = data_root(root)
    return engine.open_engine(root, current_manifest(root), name=engine_name)


def connect_manifest(root: Path, manifest: dict, threads: int | None = None,
                     derived: bool = True, config: Mapping[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """``connect`` over the files of ``manifest`` (published or about to be); ``derived=False`` leaves out the
    derived tables (what a rebuild computes them from); ``config`` adds DuckDB settings (memory_limit,
    temp_directory: what a bounded-memory rebuild sets)."""
    settings = dict(config or {})
    if threads:
        settings["threads"] = threads
    con = duckdb.connect(config=settings)
    try:
        for table in TABLES.values():
            _register(con, table.name, manifest_files(root, manifest, table), table.polars_schema,
                      bool(table.partition))
        for name, spec in (manifest.get("derived", {}) if derived else {}).items():
            _register(con, name, [root / rel for rel in spec["files"]], None, spec["hive"])
        # The month list, read once per connection (the app keeps one per store version): months() is asked
        # by many calls and a DISTINCT over the snapshots costs ~20 ms at 36M rows.
        con.sql(MONTHS_SQL).create(MONTHS_TABLE)
    except duckdb.Error as exc:
        con.close()
        bad = damaged_files(root, manifest)
        if bad:
            raise StoreDamaged(bad, str(exc)) from exc
        raise
    return con


def query(con, sql: str, params: Mapping[str, object] | None = None,
          schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Run ``sql`` with bound ``$name`` parameters through the engine boundary (``analytics.core.engine.run``:
    a fresh cursor of a DuckDB connection, or the Spark engine); cast to ``schema`` if given."""
    return engine.run(con, sql, params, schema)


def has_view(con, name: str) -> bool:
    """Whether a view or table ``name`` is registered (derived tables exist only after a build)."""
    return engine.has_view(con, name)


def data_version(root: str | os.PathLike | None = None) -> str:
    """The published version's id (``<N>-<change id>``, one small file read), keyed on the root folder.

    It changes whenever a table or a month is loaded, replaced or restored, so it keys every cache in
    the app. A store of the older layout has no manifest: there it is a fingerprint of every queryable
    Parquet file (path, size, mtime).
    """
    root = data_root(root)
    return _version_key(root, mf.read_current(root))


def pinned(root: str | os.PathLike | None = None) -> tuple[str, dict]:
    """The data version and the manifest of the published version, read together (one file read): what a
    reader pins for all its queries (``connect_manifest``)."""
    root = data_root(root)
    cur = mf.read_current(root)
    return _version_key(root, cur), cur if cur is not None else current_manifest(root)


def _version_key(root: Path, cur: dict | None) -> str:
    if cur is not None:
        return hashlib.sha1(f"{root.resolve()}|{cur['id']}".encode()).hexdigest()[:16]
    h = hashlib.sha1(str(root.resolve()).encode())
    if root.is_dir():
        for path in sorted(root.rglob("*.parquet")):
            rel = path.relative_to(root)
            if rel.parts[0] in BOOKKEEPING:
                continue
            st = path.stat()
            h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


MONTHS_TABLE = "snapshot_months"
MONTHS_SQL = "SELECT DISTINCT month FROM snapshots ORDER BY month"


def months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The snapshot months present, ascending (from the list ``connect`` keeps, else from the snapshots)."""
    sql = "SELECT month FROM snapshot_months ORDER BY month" if has_view(con, MONTHS_TABLE) else MONTHS_SQL
    return query(con, sql)["month"].to_list()


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
