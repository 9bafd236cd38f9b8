import os
import time

from analytics.core import store
from tests.tiny import OCT, SEP, portfolio_store


def test_connect_registers_views_and_empty_tables(tmp_path):
    con = store.connect(portfolio_store(tmp_path))
    assert store.months(con) == [SEP, OCT]
    # Tables with no files are typed empty views, so queries still run.
    assert store.query(con, "SELECT count(*) AS n FROM collection_actions")["n"][0] == 0
    assert "amount_collected" in store.query(con, "SELECT * FROM collection_actions").columns


def test_month_filter_prunes_partitions(tmp_path):
    con = store.connect(portfolio_store(tmp_path))
    plan = con.sql("EXPLAIN ANALYZE SELECT count(*) FROM snapshots WHERE month = $m", params={"m": OCT}).fetchall()
    assert "Scanning Files: 1/2" in plan[0][1]


def test_query_binds_parameters_and_casts(tmp_path):
    con = store.connect(portfolio_store(tmp_path))
    df = store.query(con, "SELECT loan_id FROM loans WHERE branch_id = $b ORDER BY loan_id", {"b": "B1' OR '1'='1"})
    assert df.is_empty()
    df = store.query(con, "SELECT sum(dpd) AS s FROM snapshots", schema={"s": store.pl.Int32})
    assert df.schema["s"] == store.pl.Int32


def test_data_version_changes_with_the_store(tmp_path):
    root = portfolio_store(tmp_path / "a")
    v1 = store.data_version(root)
    assert v1 == store.data_version(root)
    part = next((root / "snapshots").glob("month=2026-10-01/*.parquet"))
    later = time.time() + 5
    os.utime(part, (later, later))
    assert store.data_version(root) != v1
    # Bookkeeping folders do not change the version.
    v2 = store.data_version(root)
    (root / "_history").mkdir()
    (root / "_history" / "x.parquet").write_bytes(b"x")
    assert store.data_version(root) == v2


def test_data_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(store.DATA_ENV, str(tmp_path))
    assert store.data_root() == tmp_path
    assert not store.has_data()
