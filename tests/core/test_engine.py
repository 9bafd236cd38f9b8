"""The engine boundary: the setting, the recording, DuckDB as the default, pyspark optional at import time."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import polars as pl
import pytest

from analytics.core import engine, spark, store


def test_engine_setting(monkeypatch):
    monkeypatch.delenv(engine.ENGINE_ENV, raising=False)
    assert engine.engine_name() == "duckdb"
    monkeypatch.setenv(engine.ENGINE_ENV, " Spark ")
    assert engine.engine_name() == "spark"
    assert engine.engine_name("duckdb") == "duckdb"
    monkeypatch.setenv(engine.ENGINE_ENV, "ibis")
    with pytest.raises(ValueError, match="OVERDUE_ENGINE"):
        engine.engine_name()


def test_duckdb_is_the_default_engine(demo_root, monkeypatch):
    monkeypatch.delenv(engine.ENGINE_ENV, raising=False)
    con = store.open_store(demo_root)
    try:
        assert isinstance(con, duckdb.DuckDBPyConnection)
        assert store.has_view(con, "snapshots") and not store.has_view(con, "no_such_table")
    finally:
        con.close()


def test_run_records_and_casts():
    con = duckdb.connect()
    try:
        with engine.recording() as seen:
            df = store.query(con, "SELECT $x + 1 AS y", {"x": 41}, {"y": pl.Int16})
            store.has_view(con, "t")  # engine metadata: not a catalogued query, not recorded
        assert seen == ["SELECT $x + 1 AS y"]
        assert df.schema == pl.Schema({"y": pl.Int16}) and df["y"][0] == 42
    finally:
        con.close()


def test_spark_conf_setting():
    conf = spark.conf_from_env("spark.executor.memory=8g; spark.sql.shuffle.partitions = 400")
    assert conf["spark.executor.memory"] == "8g" and conf["spark.sql.shuffle.partitions"] == "400"
    assert conf["spark.sql.session.timeZone"] == "UTC"  # the defaults stay
    with pytest.raises(ValueError, match="key=value"):
        spark.conf_from_env("spark.executor.memory")


def test_pyspark_is_optional_at_import_time():
    code = ("import sys; import analytics.core.store, analytics.core.engine, analytics.metrics.portfolio, "
            "analytics.tools.catalogue; assert 'pyspark' not in sys.modules, 'pyspark imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(store.PROJECT_ROOT.parent))
