"""The Spark engine: the same named views and the same queries as DuckDB, on a SparkSession.

Chosen with ``OVERDUE_ENGINE=spark``. The session is the user's: handed over in code with
``use_session(spark)``, or built once per process from the settings

- ``OVERDUE_SPARK_REMOTE``: a Spark Connect URL (``sc://host:15002``); wins over the master,
- ``OVERDUE_SPARK_MASTER``: ``local[2]`` (default), ``spark://host:7077``, ``yarn``, ``k8s://...``,
- ``OVERDUE_SPARK_CONF``: extra ``key=value`` settings separated by ``;`` (memory, executors, lake credentials).

The store root must be a path the driver and every executor can read (and, for a derived-table build, write):
a shared mount, HDFS or an object-store path mounted on the driver (docs/spark.md).

Translation: the SQL is written once, in the portable DuckDB subset (DEVELOPERS.md); ``to_spark`` turns it
into Spark SQL with SQLGlot plus the rewrites SQLGlot gets wrong, and refuses (``TranslationError``) what
Apache Spark cannot run, so a query never silently changes meaning:

- ``len($list)`` -> ``size(:list)`` (SQLGlot writes ``LENGTH``, a string function),
- ``date_trunc('month', d)`` -> ``trunc(d, 'MM')`` (Spark's ``date_trunc`` returns a timestamp),
- ``list_position(l, x)`` -> ``nullif(array_position(l, x), 0)`` (NULL when absent, as in DuckDB),
- ``hash(x)`` -> ``pmod(xxhash64(x), 2^62)`` (non-negative like DuckDB's; a different, equally stable sample),
- ``* EXCLUDE (...)`` is refused (SQLGlot writes ``* EXCEPT``, which Apache Spark rejects): name the columns,
- a list parameter is bound as ``CAST(:name AS ARRAY<type>)`` (an empty array has no element type).

Every query of the catalogue is run on Spark ``local[2]`` and compared with DuckDB by
``tests/core/test_spark_parity.py``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from analytics.core import engine as eng
from analytics.core.schema import TABLES

MASTER_ENV = "OVERDUE_SPARK_MASTER"
REMOTE_ENV = "OVERDUE_SPARK_REMOTE"
CONF_ENV = "OVERDUE_SPARK_CONF"
DEFAULT_MASTER = "local[2]"
# Small-data defaults (one machine, a dashboard's aggregates); a cluster overrides them in OVERDUE_SPARK_CONF.
DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "2g",
}

_lock = threading.Lock()
_session = None


class TranslationError(ValueError):
    """A DuckDB spelling with no faithful Spark translation: write the query in the portable subset."""


def use_session(spark) -> None:
    """Run the Spark engine on ``spark`` (a SparkSession or a Spark Connect session the caller built)."""
    global _session
    with _lock:
        _session = spark


def conf_from_env(text: str | None = None) -> dict[str, str]:
    """``OVERDUE_SPARK_CONF`` (``k=v;k=v``) over the defaults."""
    text = os.environ.get(CONF_ENV, "") if text is None else text
    conf = dict(DEFAULT_CONF)
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{CONF_ENV}: expected key=value, got {item!r}")
        conf[key.strip()] = value.strip()
    return conf


def session():
    """The Spark session the engine runs on: the one handed over, else one built from the settings."""
    global _session
    with _lock:
        if _session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("overdue-loan-analytics")
            remote = os.environ.get(REMOTE_ENV)
            builder = builder.remote(remote) if remote else builder.master(os.environ.get(MASTER_ENV, DEFAULT_MASTER))
            for key, value in conf_from_env().items():
                if remote and key.startswith("spark.driver."):
                    continue  # the Connect server owns its driver
                builder = builder.config(key, value)
            _session = builder.getOrCreate()
            if not remote:
                _session.sparkContext.setLogLevel("ERROR")
        return _session


# --- translation -------------------------------------------------------------------------------------

def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Placeholder):
        return exp.ArraySize(this=node.this)
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper() == "MONTH":
            return exp.Anonymous(this="TRUNC", expressions=[node.this, exp.Literal.string("MM")])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_position":
        # DuckDB: NULL when absent; Spark's array_position: 0 when absent
        return exp.Nullif(this=exp.Anonymous(this="ARRAY_POSITION", expressions=list(node.expressions)),
                          expression=exp.Literal.number(0))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        # DuckDB's hash is a UBIGINT, Spark's a signed INT (``hash(x) % 1000`` would go negative): a non-negative
        # 64-bit hash. A stable sample, but not the same loans as DuckDB's (model.features, keep_per_mille < 1000).
        return exp.Anonymous(this="PMOD", expressions=[exp.Anonymous(this="XXHASH64", expressions=list(node.expressions)),
                                                       exp.Literal.number(2**62)])
    if isinstance(node, exp.Star) and any(node.args.get(k) for k in ("except", "except_", "replace", "rename")):
        raise TranslationError("SELECT * EXCLUDE/REPLACE has no Apache Spark spelling: name the columns")
    return node


@functools.lru_cache(maxsize=1024)
def to_spark(sql: str) -> str:
    """Spark SQL for a query of the portable DuckDB subset (``$name`` parameters become ``:name``)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise TranslationError(f"not in the portable subset: {exc}") from exc
    return tree.transform(_rewrite).sql(dialect="spark")


_SPARK_TYPES = {"VARCHAR": "STRING", "BIGINT": "BIGINT", "INTEGER": "INT", "DATE": "DATE", "DOUBLE": "DOUBLE",
                "BOOLEAN": "BOOLEAN", "SMALLINT": "SMALLINT", "TINYINT": "TINYINT"}


def _bind(sql: str, params: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    """Spark arguments for DuckDB-style bound values; list parameters become typed array casts in ``sql``."""
    from pyspark.sql import functions as F

    args: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, duckdb.Value):
            element = str(value.type).removesuffix("[]")
            items = list(value.object)
            if element not in _SPARK_TYPES:
                raise TranslationError(f"list parameter {name}: element type {element} not mapped")
            sql = re.sub(rf":{name}\b", f"CAST(:{name} AS ARRAY<{_SPARK_TYPES[element]}>)", sql)
            args[name] = F.array(*[F.lit(v) for v in items]) if items else F.array()
        elif isinstance(value, (list, tuple)):
            args[name] = F.array(*[F.lit(v) for v in value]) if value else F.array()
        elif value is None or isinstance(value, (bool, int, float, str, dt.date, decimal.Decimal)):
            args[name] = value
        else:
            raise TranslationError(f"parameter {name}: {type(value).__name__} not supported")
    return sql, args


def spark_type(dtype: pl.DataType) -> str:
    """The Spark SQL type of a declared Polars dtype."""
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    names = {pl.String: "string", pl.Date: "date", pl.Int64: "bigint", pl.Int32: "int", pl.Int16: "smallint",
             pl.Int8: "tinyint", pl.Float64: "double", pl.Float32: "float", pl.Boolean: "boolean",
             pl.Datetime: "timestamp"}
    for polars_type, name in names.items():
        if dtype == polars_type or dtype.base_type() == polars_type:
            return name
    raise TranslationError(f"no Spark type for {dtype}")


def drop_markers(folder: Path) -> None:
    """Remove Spark's job markers and checksums (``_SUCCESS``, ``.*.crc``): the manifest lists Parquet files."""
    for path in list(folder.rglob("_SUCCESS")) + list(folder.rglob(".*.crc")):
        path.unlink()


# --- the engine --------------------------------------------------------------------------------------

def _read(spark, files: list[Path], partitioned: bool, schema: pl.Schema | None):
    """One DataFrame over exactly ``files``; a hive-partitioned table keeps its partition column (files of
    different store versions live under different base folders: one read per base folder, unioned)."""
    if not files:
        import pyarrow as pa  # noqa: F401  (pyspark builds the empty frame from Arrow)

        return spark.createDataFrame(pl.DataFrame(schema=schema).to_arrow())
    if not partitioned:
        return spark.read.parquet(*[str(f) for f in files])
    groups: dict[Path, list[str]] = {}
    for f in files:
        groups.setdefault(f.parent.parent, []).append(str(f))
    frames = [spark.read.option("basePath", str(base)).parquet(*paths) for base, paths in groups.items()]
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


class SparkEngine:
    """The store's views on a Spark session (its own temp-view namespace when the session allows one)."""

    name = "spark"

    def __init__(self, spark, root: Path, manifest: dict, *, derived: bool = True):
        try:
            self.spark = spark.newSession()
        except Exception:  # Spark Connect sessions cannot fork: views go into the shared session
            self.spark = spark
        self.root = Path(root)
        self.views: list[str] = []
        for table in TABLES.values():
            files = [self.root / rel for rel in manifest["tables"].get(table.name, [])]
            self._register(table.name, _read(self.spark, files, bool(table.partition), table.polars_schema),
                           table.partition)
        for name, spec in (manifest.get("derived", {}) if derived else {}).items():
            files = [self.root / rel for rel in spec["files"]]
            if files:
                self._register(name, _read(self.spark, files, spec["hive"], None), "month" if spec["hive"] else None)
        # The month list, computed once per engine like DuckDB's connection (store.months reads it).
        from analytics.core import store

        months = self.spark.sql(store.MONTHS_SQL).cache()
        months.count()
        self._register(store.MONTHS_TABLE, months, None)

    def _register(self, name: str, frame, partition: str | None) -> None:
        if partition and partition in frame.columns:
            from pyspark.sql import functions as F

            frame = frame.withColumn(partition, F.col(partition).cast("date"))
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def frame(self, sql: str, params: Mapping[str, object] | None = None,
              schema: Mapping[str, pl.DataType] | None = None):
        """The query as a Spark DataFrame (lazy, distributed), cast to ``schema`` if given: what a derived
        table build writes to the lake without collecting it."""
        text, args = _bind(to_spark(sql), dict(params or {}))
        frame = self.spark.sql(text, args=args or None)
        if schema:
            from pyspark.sql import functions as F

            frame = frame.select([F.col(name).cast(spark_type(dtype)).alias(name) for name, dtype in schema.items()])
        return frame

    def query(self, sql: str, params: Mapping[str, object] | None = None,
              schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
        text, args = _bind(to_spark(sql), dict(params or {}))
        table = self.spark.sql(text, args=args or None).toArrow()
        return eng.cast(pl.from_arrow(table), schema)

    def has_view(self, name: str) -> bool:
        return name in self.views

    def cursor(self) -> SparkEngine:
        return _Cursor(self)

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        self.views = []


class _Cursor:
    """What ``con.cursor()`` hands out: the engine's queries; closing it leaves the engine open."""

    name = "spark"

    def __init__(self, engine: SparkEngine):
        self._engine = engine

    def query(self, sql, params=None, schema=None):
        return self._engine.query(sql, params, schema)

    def has_view(self, name):
        return self._engine.has_view(name)

    def cursor(self):
        return self

    def close(self) -> None:
        pass
