"""The return-visits table (回访与满意度) goes through the same validated, atomic, versioned import as the others:
contract checks with per-row and per-column errors, Chinese headers and wording mapped, the blacklist (user data in
the saved configurations) untouched by a reimport."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import polars as pl
import pytest

from analytics import ingest
from analytics.core import config, store
from analytics.customer import blacklist as bl
from tests.ingest.files import load

HEADER = "数据月份,回访记录号,客户号,借据号,机构号,回访日期,回访方式,回访结果,满意度评分,是否投诉\n"


@pytest.fixture()
def root(tmp_path: Path, demo_root: Path) -> Path:
    r = tmp_path / "data"
    shutil.copytree(demo_root, r, ignore=shutil.ignore_patterns("_models"))
    return r


def test_visits_load_with_chinese_headers_and_wording(root: Path):
    loan = store.query(store.connect(root), "SELECT loan_id, branch_id FROM loans ORDER BY loan_id LIMIT 1").row(0)
    text = HEADER + (f"2026-10,VX1,C1,{loan[0]},{loan[1]},2026-10-12,电话回访,回访成功,5,否\n"
                     f"2026-10,VX2,C2,,{loan[1]},2026-10-13,上门回访,未接通,,\n")
    result = load(root, text, "回访.csv", "return_visits", replace=True)
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)
    got = store.query(store.connect(root), "SELECT visit_channel, visit_outcome, satisfaction_score FROM return_visits "
                                           "WHERE visit_id IN ('VX1', 'VX2') ORDER BY visit_id")
    assert got.rows() == [("phone", "reached", 5), ("visit", "no_answer", None)]
    # replace=True: the month's stored visits were replaced by the file
    assert store.query(store.connect(root), "SELECT count(*) AS n FROM return_visits "
                                            "WHERE month = DATE '2026-10-01'")["n"][0] == 2
    assert ingest.history(root).row(0, named=True)["table"] == "return_visits"


def test_bad_rows_are_named_by_row_and_column(root: Path):
    text = HEADER + ("2026-10,VY1,C1,,B01,2026-09-30,电话回访,回访成功,7,否\n"      # score 7 > 5; date outside month
                     "2026-10,VY2,C2,NOPE,B01,2026-10-02,飞鸽,回访成功,4,否\n")    # unknown loan and channel
    prepared = ingest.prepare(root, text.encode("utf-8"), "bad.csv", "return_visits")
    found = {(r["row"], r["column"], r["rule"]) for r in prepared.problems.iter_rows(named=True)}
    assert {(1, "satisfaction_score", "max"), (1, "visit_date", "visit_outside_month"), (2, "loan_id", "reference"),
            (2, "visit_channel", "allowed")} <= found


def test_a_reimport_never_touches_the_blacklist(root: Path):
    data = bl.add(bl.empty(), customer_id="C1", reason="欺诈", who="steward")
    config.save(root, bl.CONFIG_NAME, data)
    buf = io.BytesIO()
    pl.read_parquet(store.table_path(root, "loans")).write_csv(buf)
    load(root, buf.getvalue(), "loans.csv", "loans")
    assert config.load(root, bl.CONFIG_NAME, bl.empty()) == (1, data)
