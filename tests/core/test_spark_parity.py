"""Spark parity: every catalogued page call runs on Spark ``local[2]`` and on DuckDB over the same small generated
store and gives the same numbers (money and ratios to a relative 1e-9, counts and codes exactly), by the same
queries (the SQL each engine ran is recorded and compared). One Spark session for the module.

Part of ``make test`` (marker ``spark`` only to select or deselect it: ``-m "not spark"``); it needs Java 17,
which ``.ci/run`` installs when missing.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import engine, store
from analytics.tools import catalogue as cat

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def parity_root(tmp_path_factory) -> Path:
    """A small store of its own (every product, branch story and exit kind; five quarters)."""
    from analytics.tools import demo

    root = tmp_path_factory.mktemp("spark-parity") / "data"
    demo.write_demo(root, demo.generate(n_loans=1500, n_months=15, seed=11, end_month=dt.date(2026, 10, 1)))
    return root


@pytest.fixture(scope="module")
def engines(parity_root):
    from pyspark.sql import SparkSession

    from analytics.core import spark

    builder = SparkSession.builder.master("local[2]").appName("overdue-parity-test")
    for key, value in (spark.DEFAULT_CONF | {"spark.sql.shuffle.partitions": "2"}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    spark.use_session(session)
    duck = store.connect(parity_root)
    on_spark = store.open_store(parity_root, engine_name="spark")
    assert isinstance(on_spark, spark.SparkEngine)
    yield duck, on_spark, {"all": cat.context(duck), "sliced": cat.context(duck, sliced=True)}
    duck.close()
    on_spark.close()
    spark.use_session(None)
    session.stop()


def _frames_equal(a: pl.DataFrame, b: pl.DataFrame, where: str) -> None:
    assert a.columns == b.columns, where
    assert a.schema == b.schema, where
    assert a.height == b.height, where
    money = [n for n, t in a.schema.items() if isinstance(t, pl.Decimal)]
    a, b = a.with_columns(pl.col(money).cast(pl.Float64)), b.with_columns(pl.col(money).cast(pl.Float64))
    # Rows tied on the ORDER BY keys may come back in another order on Spark: compare as sets of rows.
    assert_frame_equal(a, b, check_row_order=False, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def _same(a, b, where: str) -> None:
    if isinstance(a, pl.DataFrame):
        assert isinstance(b, pl.DataFrame), where
        _frames_equal(a, b, where)
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


CASES = [(name, "all") for name in cat.CALLS] + [(name, "sliced") for name in cat.CALLS if cat.sliceable(name)]


@pytest.mark.parametrize(("name", "sidebar"), CASES)
def test_same_numbers_on_spark_and_duckdb(engines, name, sidebar):
    duck, on_spark, contexts = engines
    ctx = contexts[sidebar]
    with engine.recording() as duck_sql:
        expected = cat.call(duck, name, ctx)
    with engine.recording() as spark_sql:
        got = cat.call(on_spark, name, ctx)
    assert duck_sql, f"{name} ran no query"
    assert spark_sql == duck_sql  # the same queries, in the same order
    _same(expected, got, name)


def test_the_example_store_is_not_trivial(engines):
    """The comparison would prove little on empty results: the examples find overdue loans and actions."""
    duck, _, contexts = engines
    ctx = contexts["sliced"]
    assert ctx.branches and ctx.products
    assert cat.call(duck, "analytics.metrics.drilldown.loans_behind", ctx).height > 10
    assert cat.call(duck, "analytics.metrics.collections.drill_actions", ctx).height > 10
    assert ctx.quarter is not None


def _page_targets() -> set[str]:
    """Every function a page hands to ``app_data.run`` / ``run_model`` / ``run_book`` (or the warnings page's
    ``with_model``), as "module.function"."""
    found = set()
    for path in sorted((ROOT / "pages").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            f = node.func
            is_run = (isinstance(f, ast.Attribute) and f.attr in ("run", "run_model", "run_book")
                      and isinstance(f.value, ast.Name) and f.value.id == "app_data")
            is_run = is_run or (isinstance(f, ast.Name) and f.id == "with_model")
            target = node.args[0]
            if is_run and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                found.add(f"{aliases.get(target.value.id, target.value.id)}.{target.attr}")
            elif is_run and not (isinstance(target, ast.Name) and target.id == "fn"):  # with_model's own fn
                raise AssertionError(f"{path.name}:{node.lineno}: page call target not resolvable")
    return found


def test_every_page_call_is_catalogued():
    targets = _page_targets()
    assert len(targets) > 30
    missing = targets - {n.partition("#")[0] for n in cat.CALLS} - set(cat.MODEL_CALLS)
    assert not missing, f"page calls not in analytics.tools.catalogue: {sorted(missing)}"
    assert set(cat.MODEL_CALLS.values()) <= set(cat.CALLS)


def test_translation_refuses_what_spark_would_get_wrong():
    from analytics.core import spark

    with pytest.raises(spark.TranslationError):
        spark.to_spark("SELECT * EXCLUDE (quarter) FROM targets")
    sql = spark.to_spark("SELECT count(*) AS n FROM loans WHERE len($branches) = 0 OR list_contains($branches, branch_id)")
    assert "SIZE(:branches)" in sql and "LENGTH" not in sql
    assert "TRUNC(d, 'MM')" in spark.to_spark("SELECT date_trunc('month', d) AS m FROM t")
    assert "NULLIF(ARRAY_POSITION(:r, x), 0)" in spark.to_spark("SELECT list_position($r, x) AS p FROM t")


def test_the_comparison_can_fail():
    a = pl.DataFrame({"n": [1, 2], "x": [1.0, 2.0]})
    with pytest.raises(AssertionError):
        _same(a, a.with_columns(pl.col("x") * (1 + 1e-7)), "x")
    with pytest.raises(AssertionError):
        _same(a, a.with_columns(pl.col("n") + 1), "n")
    _same(a, a.with_columns(pl.col("x") * (1 + 1e-12)), "x")


def test_derived_tables_built_on_spark_match_duckdb(engines, parity_root, tmp_path):
    """The derived tables written by Spark (a Parquet table per derived table, partitioned like the DuckDB
    build) hold the same rows as DuckDB computes, and DuckDB reads them through the manifest."""
    from analytics.derived import builder
    from analytics.derived.tables import REGISTRY

    duck, _, _ = engines
    base = store.current_manifest(parity_root)
    folder = parity_root / "_versions" / "spark-build-test" / "derived"
    try:
        derived = builder.build_into(parity_root, {"tables": base["tables"]}, folder, engine_name="spark")
        assert set(derived) == set(REGISTRY)
        assert not list(folder.rglob("_SUCCESS")) and not list(folder.rglob(".*.crc"))
        built = store.connect_manifest(parity_root, {"tables": base["tables"], "derived": derived})
        try:
            for name, table in REGISTRY.items():
                got = store.query(built, f"SELECT * FROM {name}", schema=table.schema)  # noqa: S608 (registry name)
                _frames_equal(builder.compute(duck, name), got, name)
        finally:
            built.close()
    finally:
        import shutil

        shutil.rmtree(folder.parent, ignore_errors=True)


def test_the_loan_scope_check_runs_on_spark(engines):
    """app_data's own query (which branch manages a loan, for the branch scope) gives the same answer."""
    import app_data
    from analytics.core.slice import list_param

    duck, on_spark, contexts = engines
    ids = list_param([contexts["all"].loan_id, "L000000001", "no-such-loan"])
    expected = store.query(duck, app_data._LOAN_BRANCH_SQL, {"ids": ids}).sort("branch_id")
    got = store.query(on_spark, app_data._LOAN_BRANCH_SQL, {"ids": ids}).sort("branch_id")
    _frames_equal(expected, got, "loan scope")
    assert expected.height == 2


def test_a_page_runs_on_spark_through_the_app(engines, app_test, demo_root, monkeypatch):
    """OVERDUE_ENGINE=spark: the overview page (front end unchanged) gets its numbers from the Spark engine."""
    import app_data
    from analytics.core import spark

    calls = []
    original = spark.SparkEngine.query

    def counted(self, sql, params=None, schema=None):
        calls.append(sql)
        return original(self, sql, params, schema)

    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP

    app_test()  # the fixture's navigation patch (one DuckDB run of app.py)
    monkeypatch.setattr(spark.SparkEngine, "query", counted)
    monkeypatch.setenv(engine.ENGINE_ENV, "spark")
    app_data.clear()
    try:
        # Spark local answers each query in ~1 s (more on a loaded machine): a longer limit than the fixture's 60 s
        at = AppTest.from_file(APP, default_timeout=600)
        at.run()
        at.switch_page("pages/overview.py")
        at.run()
        assert not at.exception
        assert calls, "no query ran on Spark"
        # every query the page ran is one the catalogue runs (so the parity test above has proven it)
        duck = engines[0]
        with engine.recording() as catalogued:
            for name in cat.CALLS:
                for ctx in engines[2].values():
                    cat.call(duck, name, ctx)
        uncatalogued = set(calls) - set(catalogued)
        assert not uncatalogued, f"queries run by the page but not by the catalogue: {uncatalogued}"
        from analytics.metrics import portfolio

        con = store.connect(demo_root)  # the same tile computed by DuckDB
        try:
            tiles = {r["kpi"]: r for r in portfolio.kpi_tiles(con, month=store.months(con)[-1]).iter_rows(named=True)}
        finally:
            con.close()
        shown = {m.label.split("（")[0]: m.value for m in at.metric}
        assert shown["不良率"] == f"{tiles['npl_ratio_balance']['value'] * 100:.2f}%"
        assert shown["逾期率"] == f"{tiles['overdue_ratio_balance']['value'] * 100:.2f}%"
    finally:
        app_data.clear()
        app_data._connection.clear()


def test_a_table_the_store_lacks_is_an_empty_typed_view_on_spark(engines, parity_root):
    from analytics.core import spark
    from analytics.core.schema import TARGETS

    _, on_spark, _ = engines
    base = store.current_manifest(parity_root)
    lacking = spark.SparkEngine(on_spark.spark, parity_root, {"tables": {**base["tables"], "targets": []}},
                                derived=False)
    try:
        df = store.query(lacking, "SELECT * FROM targets")
        assert df.height == 0 and df.columns == TARGETS.names
        assert store.query(lacking, "SELECT count(*) AS n FROM targets")["n"][0] == 0
        assert not lacking.has_view("quality_cube")  # derived=False: no derived views
    finally:
        lacking.close()


def test_the_training_sample_on_spark_is_stable_and_about_the_share_asked(engines):
    """``hash(loan_id) % 1000 < keep`` cannot pick DuckDB's loans on Spark (another hash function): it must still
    keep about keep/1000 of the loans, the same ones every time (docs/spark.md)."""
    from analytics.model import features

    duck, on_spark, contexts = engines
    months = (contexts["all"].month,)
    everyone = features.features(duck, months=months).height
    kept = features.features(on_spark, months=months, keep_per_mille=500)
    again = features.features(on_spark, months=months, keep_per_mille=500)
    assert 0.4 * everyone < kept.height < 0.6 * everyone
    assert sorted(kept["loan_id"].to_list()) == sorted(again["loan_id"].to_list())
