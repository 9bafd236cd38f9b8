"""derived.build on the tiny hand-built book (tests/derived_book.py): facts, transitions, atomic swap."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import derived
from analytics.core import store
from analytics.core.schema import MONEY
from analytics.derived import REGISTRY
from analytics.derived import builder as build_module
from analytics.derived.builder import compute
from tests.derived_book import APR, DEC23, FEB, JAN, MAR, D, write

NULL_D = None


def test_build_writes_facts_and_hive_transitions(tmp_path):
    root = write(tmp_path / "store")
    derived.build(root)
    folder = derived.build(root)  # published as a new version: its own folder, named by its manifest
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    months = (1, 2, 3, 4)
    assert files == sorted(["aging_cause_cube.parquet", "aging_cube.parquet", "loan_facts.parquet",
                            "quality_cube.parquet"]
                           + [f"{t}/month=2024-0{m}-01/part-0.parquet"
                              for t in ("overdue_rows", "transition_cube", "transitions", "warning_inputs")
                              for m in months]
                           # no migration into January: no snapshot at its start (December)
                           + [f"migration_cube/month=2024-0{m}-01/part-0.parquet" for m in months[1:]])
    listed = sorted(f for spec in store.current_manifest(root)["derived"].values() for f in spec["files"])
    assert listed == sorted(p.relative_to(root).as_posix() for p in folder.rglob("*.parquet"))


def test_loan_facts_by_hand(tmp_path):
    root = write(tmp_path / "store")
    derived.build(root)
    con = store.connect(root)
    facts = store.query(con, "SELECT * FROM loan_facts ORDER BY loan_id", schema=REGISTRY["loan_facts"].schema)
    expected = pl.DataFrame({
        "loan_id": ["L1", "L2", "L3", "L4", "L5"],
        "branch_id": ["B1", "B1", "B2", "B1", "B1"],
        "product": ["consumer", "consumer", "mortgage", "consumer", "consumer"],
        "cohort_month": [JAN, JAN, JAN, FEB, DEC23],
        "principal": [D(1000), D(2000), D(3000), D(500), D(800)],
        "first_month": [JAN, JAN, JAN, FEB, JAN],
        "last_month": [APR, MAR, APR, APR, APR],
        "first_over0_month": [FEB, None, FEB, MAR, JAN],
        "first_over0_balance": [D(950), None, D(3000), D(480), D(780)],
        "first_over30_month": [MAR, None, FEB, None, None],
        "first_over30_balance": [D(950), None, D(3000), None, None],
        "first_over60_month": [APR, None, MAR, None, None],
        "first_over60_balance": [D(950), None, D(3000), None, None],
        "first_over90_month": [None] * 5,
        "first_over90_balance": [None] * 5,
        # L3 written off in April: it keeps the principal it left the book with
        "exit_month": [None, MAR, APR, None, None],
        "exit_status": [None, "paid_off", "written_off", None, None],
        "exit_balance": [None, D(0), D(3000), None, None],
    }, schema=REGISTRY["loan_facts"].schema)
    assert_frame_equal(facts, expected)


def test_transitions_by_hand(tmp_path):
    root = write(tmp_path / "store")
    derived.build(root)
    con = store.connect(root)
    got = store.query(con, "SELECT month, loan_id, from_bucket, to_bucket, status, prev_balance, balance "
                      "FROM transitions WHERE month >= $m ORDER BY month, loan_id", {"m": MAR})
    expected = pl.DataFrame(
        [
            (MAR, "L1", 1, 2, "active", D(950), D(950)),
            (MAR, "L2", 0, None, "paid_off", D(1900), D(0)),  # exit row: to_bucket NULL
            (MAR, "L3", 2, 3, "active", D(3000), D(3000)),
            (MAR, "L4", 0, 1, "active", D(500), D(480)),
            (MAR, "L5", 0, 0, "active", D(760), D(740)),
            (APR, "L1", 2, 3, "active", D(950), D(950)),
            (APR, "L3", 3, None, "written_off", D(3000), D(3000)),  # disposed principal
            (APR, "L4", 1, 0, "active", D(480), D(460)),
            (APR, "L5", 0, 0, "active", D(740), D(720)),
        ],
        schema={"month": pl.Date, "loan_id": pl.String, "from_bucket": pl.Int8, "to_bucket": pl.Int8,
                "status": pl.String, "prev_balance": MONEY, "balance": MONEY},
        orient="row",
    )
    assert_frame_equal(got.cast(expected.schema), expected)
    feb_new = store.query(con, "SELECT loan_id FROM transitions WHERE month = $m AND from_bucket IS NULL",
                          {"m": FEB})
    assert feb_new["loan_id"].to_list() == ["L4"]  # new to the book in February


def test_inline_fallback_equals_derived_view(tmp_path):
    root = write(tmp_path / "store")
    con = store.connect(root)
    assert not derived.has_view(con, "transitions")
    inline_facts = compute(con, "loan_facts")
    inline_trans = compute(con, "transitions", month_from=JAN, month_to=APR)
    derived.build(root)
    con = store.connect(root)
    assert derived.has_view(con, "loan_facts") and derived.has_view(con, "transitions")
    view_facts = store.query(con, "SELECT * FROM loan_facts", schema=REGISTRY["loan_facts"].schema)
    view_trans = store.query(con, "SELECT * FROM transitions", schema=REGISTRY["transitions"].schema)
    assert_frame_equal(view_facts.sort("loan_id"), inline_facts.sort("loan_id"))
    assert_frame_equal(view_trans.sort("month", "loan_id"), inline_trans.sort("month", "loan_id"))


def test_loan_facts_built_by_loan_buckets_equals_one_group_by(tmp_path, monkeypatch):
    """On a big book loan_facts is grouped one loan-id hash bucket at a time (bounded memory): same rows."""
    root = write(tmp_path / "store")
    con = store.connect(root)
    whole = compute(con, "loan_facts")
    monkeypatch.setattr(build_module, "BUCKET_LOANS", 2)  # 5 loans -> 3 buckets
    buckets = build_module._buckets(con, REGISTRY["loan_facts"])
    assert [b["bucket"] for b in buckets] == [0, 1, 2] and {b["buckets"] for b in buckets} == {3}
    sizes = [compute_bucket.height for compute_bucket in (
        store.query(con, REGISTRY["loan_facts"].sql, b, REGISTRY["loan_facts"].schema) for b in buckets)]
    assert sum(sizes) == whole.height == 5 and max(sizes) < 5  # every loan in exactly one bucket, split
    derived.build(root)
    built = store.query(store.connect(root), "SELECT * FROM loan_facts", schema=REGISTRY["loan_facts"].schema)
    assert_frame_equal(built.sort("loan_id"), whole.sort("loan_id"))


def test_warning_inputs_built_by_loan_buckets_equals_one_query(tmp_path, monkeypatch):
    """On a big book a month of warning_inputs is built one loan-id hash bucket at a time: same rows per month."""
    root = write(tmp_path / "store")
    con = store.connect(root)
    schema = REGISTRY["warning_inputs"].schema
    whole = compute(con, "warning_inputs", month_from=JAN, month_to=APR)
    march = REGISTRY["warning_inputs"].params(MAR, MAR)
    assert (march["buckets"], march["bucket"]) == (1, 0)
    monkeypatch.setattr(build_module, "CHUNK_ROWS", 1)  # one month per query ...
    monkeypatch.setattr(build_module, "BUCKET_LOANS", 2)  # ... and a month of 5 rows in 3 buckets
    sets = build_module._month_buckets(REGISTRY["warning_inputs"], MAR, 5)
    assert [(s["buckets"], s["bucket"]) for s in sets] == [(3, 0), (3, 1), (3, 2)]
    parts = [store.query(con, REGISTRY["warning_inputs"].sql, s, schema) for s in sets]
    assert sum(p.height for p in parts) == whole.filter(pl.col("month") == MAR).height == 4  # L2 left in March
    assert max(p.height for p in parts) < 4  # split, every loan in exactly one bucket
    assert build_module._month_buckets(REGISTRY["transitions"], MAR, 5) == [REGISTRY["transitions"].params(MAR, MAR)]
    derived.build(root)
    built = store.query(store.connect(root), "SELECT * FROM warning_inputs", schema=schema)
    assert_frame_equal(built.sort("month", "loan_id"), whole.sort("month", "loan_id"))


def test_rebuild_publishes_a_new_set_and_empty_store_has_none(tmp_path):
    root = write(tmp_path / "store")
    first = derived.build(root)
    second = derived.build(root)
    assert first != second and store.current_manifest(root)["derived"]["loan_facts"]["files"][0].startswith(
        second.relative_to(root).as_posix())
    empty = tmp_path / "empty"
    empty.mkdir()
    derived.build(empty)
    assert store.current_manifest(empty)["derived"] == {}


def test_month_arithmetic_dates():
    params = REGISTRY["transitions"].params(JAN, APR)
    assert params == {"t_from": JAN, "t_to": APR, "p_from": DEC23, "p_to": dt.date(2024, 3, 1)}


def test_failed_rebuild_publishes_the_base_without_derived_tables(tmp_path, monkeypatch):
    # A rebuild that fails must not leave derived tables that disagree with the base tables: the new
    # version has none, and readers compute them inline from the same base files.
    root = write(tmp_path / "store")
    derived.build(root)
    real = build_module._write

    def boom(con, table, folder, months, rows):
        if table.name == "aging_cube":
            raise RuntimeError("disk full")
        real(con, table, folder, months, rows)

    monkeypatch.setattr(build_module, "_write", boom)
    before = store.current_manifest(root)
    with pytest.raises(RuntimeError):
        derived.build(root)
    after = store.current_manifest(root)
    assert after["derived"] == {} and after["tables"] == before["tables"]
    con = store.connect(root)
    assert not derived.has_view(con, "loan_facts")
    assert compute(con, "loan_facts").height == 5


def test_chunks_follow_row_counts():
    # 4 months of 2, 2, 5, 1 rows with CHUNK_ROWS = 4 (CHUNK_MONTHS = 4): [JAN, FEB] (2+2=4), [MAR] (5 alone:
    # a month is never split), [APR]; with no row limit all four months form one chunk.
    rows = {JAN: 2, FEB: 2, MAR: 5, APR: 1}
    months = [JAN, FEB, MAR, APR]
    real = build_module.CHUNK_ROWS
    try:
        build_module.CHUNK_ROWS = 4
        assert build_module._chunks(months, rows) == [[JAN, FEB], [MAR], [APR]]
        build_module.CHUNK_ROWS = 10**9
        assert build_module._chunks(months, rows) == [months]
    finally:
        build_module.CHUNK_ROWS = real


def test_bounded_build_month_by_month_in_small_batches_gives_the_same_tables(tmp_path, monkeypatch):
    """The big-book path (one month per query, results streamed in batches of 2 rows, a tiny DuckDB memory
    limit with spilling) builds the same tables as the default path, and leaves no spill folder behind."""
    root = write(tmp_path / "store")
    derived.build(root)
    con = store.connect(root)
    expected = {name: store.query(con, f"SELECT * FROM {name}").sort(pl.all()) for name in REGISTRY}  # noqa: S608
    con.close()
    monkeypatch.setattr(build_module, "CHUNK_ROWS", 1)
    monkeypatch.setattr(build_module, "BATCH_ROWS", 2)
    monkeypatch.setenv(build_module.MEMORY_ENV, "64MB")
    folder = derived.build(root)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["derived"]  # no spill folder left
    con = store.connect(root)
    for name in REGISTRY:
        got = store.query(con, f"SELECT * FROM {name}").sort(pl.all())  # noqa: S608
        assert_frame_equal(got, expected[name], check_dtypes=True)
    con.close()
