"""The engine boundary: where every query of the dashboard runs.

An engine registers the store's tables under the view names the SQL uses (``snapshots``, ``loans``, ...,
and the derived tables), runs a query with bound ``$name`` parameters and returns a Polars frame (built from
Arrow) cast to the declared schema. Two engines:

- ``duckdb`` (default): an in-memory DuckDB connection over the local Parquet files of the pinned version
  (``store.connect_manifest``). A DuckDB connection or cursor IS the DuckDB engine: it is what ``con`` is
  in every analytics function and test.
- ``spark``: ``analytics.core.spark.SparkEngine`` over a SparkSession the user supplies (``local[N]``, a
  cluster, or Spark Connect), imported only when chosen, so pyspark is optional at import time.

The setting is ``$OVERDUE_ENGINE`` (``duckdb`` | ``spark``); the Spark session is configured by
``$OVERDUE_SPARK_MASTER`` / ``$OVERDUE_SPARK_REMOTE`` / ``$OVERDUE_SPARK_CONF`` (see ``analytics.core.spark``
and docs/spark.md), or handed over in code with ``spark.use_session(session)``.

``run`` is the one function through which SQL runs (``store.query`` calls it): it also feeds ``recording()``,
which the Spark parity test uses to prove that both engines ran the same queries.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import polars as pl

ENGINE_ENV = "OVERDUE_ENGINE"
ENGINES = ("duckdb", "spark")


@runtime_checkable
class Engine(Protocol):
    """What an engine other than DuckDB provides (a DuckDB connection provides the same through ``run``)."""

    name: str

    def query(self, sql: str, params: Mapping[str, object] | None = None,
              schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame: ...

    def has_view(self, name: str) -> bool: ...

    def cursor(self) -> Engine: ...

    def close(self) -> None: ...


def engine_name(name: str | None = None) -> str:
    """The configured engine: the argument, else ``$OVERDUE_ENGINE``, else ``duckdb``."""
    value = (name or os.environ.get(ENGINE_ENV) or "duckdb").strip().lower()
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={value!r}: expected one of {', '.join(ENGINES)}")
    return value


def open_engine(root: Path, manifest: dict, *, derived: bool = True, threads: int | None = None,
                name: str | None = None, config: dict | None = None):
    """A connection of the configured engine over the files of ``manifest`` (one pinned store version);
    ``config``: DuckDB settings (ignored by Spark, which its session configures)."""
    from analytics.core import store

    if engine_name(name) == "spark":
        from analytics.core import spark

        return spark.SparkEngine(spark.session(), root, manifest, derived=derived)
    return store.connect_manifest(root, manifest, threads=threads, derived=derived, config=config)


_recorders: list[list[str]] = []


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the SQL text of every query run inside the block (in order, repeats included)."""
    seen: list[str] = []
    _recorders.append(seen)
    try:
        yield seen
    finally:
        _recorders.remove(seen)


def cast(df: pl.DataFrame, schema: Mapping[str, pl.DataType] | None) -> pl.DataFrame:
    """The declared columns in the declared order and dtypes."""
    if not schema:
        return df
    return df.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def run(con, sql: str, params: Mapping[str, object] | None = None,
        schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Run ``sql`` with bound ``$name`` parameters on ``con`` (a DuckDB connection/cursor or an Engine)."""
    for seen in _recorders:
        seen.append(sql)
    if isinstance(con, Engine):
        return con.query(sql, params, schema)
    cur = con.cursor()
    try:
        df = cur.sql(sql, params=dict(params or {})).pl()
    finally:
        cur.close()
    return cast(df, schema)


def has_view(con, name: str) -> bool:
    """Whether a view or table ``name`` is registered on ``con``."""
    if isinstance(con, Engine):
        return con.has_view(name)
    # Engine metadata, not a query of the catalogue: not recorded (each engine has its own catalogue call).
    cur = con.cursor()
    try:
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = $name"
        return cur.sql(sql, params={"name": name}).fetchall()[0][0] > 0
    finally:
        cur.close()
