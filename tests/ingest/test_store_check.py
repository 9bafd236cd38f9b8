"""A whole store checked against the contract (``analytics.ingest.store_check``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analytics.core import store
from analytics.ingest import store_check
from tests.ingest.rows import FEB, JAN, continuity_store, frame, loan, month_file, snap


def test_validate_store_reports_file_and_row_within_file(tmp_path: Path):
    root = tmp_path / "data"
    store.write_table(root, "branches", frame("branches", [{"branch_id": "B1", "branch_name": "n", "region": "r"}]))
    store.write_table(root, "loans", frame("loans", [loan(), loan(loan_id="L2", branch_id="B9")]))
    rows = [snap(), snap(month=dt.date(2024, 4, 1)), snap(month=dt.date(2024, 4, 1), loan_id="L3")]
    store.write_table(root, "snapshots", frame("snapshots", rows))
    got = sorted((p.file, p.row, p.rule, p.column) for p in store_check.validate_store(root))
    assert got == [
        ("loans.parquet", 2, "reference", "branch_id"),
        (str(Path("snapshots/month=2024-04-01/part-0.parquet")), 2, "reference", "loan_id"),
    ]


def test_empty_store_has_no_problem(tmp_path: Path):
    assert store_check.validate_store(tmp_path) == []


def test_store_continuity_vanished_and_rows_after_exit(tmp_path: Path):
    continuity_store(tmp_path)
    problems = store_check.validate_store(tmp_path)
    got = sorted((p.rule, p.file, p.row, p.column, p.value) for p in problems)
    assert got == [
        ("after_exit", month_file(FEB), 3, "loan_id", "L4"),
        ("vanished", month_file(JAN), 2, "loan_id", "L2"),
    ]
    by_rule = {p.rule: p for p in problems}
    assert "2024-01" in by_rule["vanished"].message_zh and "2024-02" in by_rule["vanished"].message_zh
    assert "active in 2024-01 but has no row in 2024-02" in by_rule["vanished"].message_en
    assert "2024-01" in by_rule["after_exit"].message_zh and "结清" in by_rule["after_exit"].message_zh
    assert "exited in 2024-01 (Paid off)" in by_rule["after_exit"].message_en


def test_demo_store_has_no_continuity_problem(demo_root: Path):
    rules_seen = {p.rule for p in store_check.validate_store(demo_root)}
    assert not rules_seen & {"vanished", "after_exit"}


def test_partition_month_is_the_month_of_the_folder():
    assert store.partition_month(Path("snapshots/month=2024-03-01/part-0.parquet")) == dt.date(2024, 3, 1)
    assert store.month_dir_name(store.partition_month(Path(month_file(FEB)))) == "month=2024-02-01"
