"""Scoring: PD and reasons per loan, expected defaults by branch (sums by hand), PD bands."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from analytics.core import store
from analytics.model import artifact, features, scoring
from tests import tiny


@pytest.fixture()
def model(trained):
    return artifact.load(trained, contract=artifact.store_contract())


def test_pd_for_loans_with_reasons(small_root, model):
    con = store.connect(small_root)
    month = store.months(con)[-1]
    book = scoring.score_month(con, month=month, model=model, reason_min_pd=0.0)
    riskiest = book.sort("pd", descending=True)["loan_id"][:2].to_list()
    got = scoring.pd_for_loans(con, month=month, loan_ids=(*riskiest, "NO-SUCH-LOAN"), model=model)
    con.close()
    assert sorted(got["loan_id"].to_list()) == sorted(riskiest)
    assert got.sort("loan_id")["pd"].to_list() == pytest.approx(
        book.filter(pl.col("loan_id").is_in(riskiest)).sort("loan_id")["pd"].to_list())
    assert all(r in features.FEATURES for r in got["reason_1"].to_list())
    assert book["score"].is_between(0, 1200).all()


def test_expected_defaults_by_hand(tmp_path):
    oct_ = dt.date(2026, 10, 1)
    root = tiny.write_store(tmp_path / "s", [{"loan_id": "X", "branch_id": "B2"}],
                            [{"month": oct_, "loan_id": "X", "dpd": 120, "outstanding_principal": Decimal("500")}])
    con = store.connect(root)
    scored = pl.DataFrame({"loan_id": ["a", "b", "c"], "branch_id": ["B1", "B1", "B2"],
                           "balance": [100.0, 300.0, 0.0], "pd": [0.1, 0.3, 0.5]})
    got = scoring.expected_defaults(con, scored, month=oct_)
    con.close()
    b1, b2 = got.row(0, named=True), got.row(1, named=True)
    assert b1["expected_defaults_count"] == pytest.approx(0.4) and b1["expected_default_share_count"] == pytest.approx(0.2)
    assert b1["expected_defaults_balance"] == pytest.approx(100 * 0.1 + 300 * 0.3)
    assert b1["expected_default_share_balance"] == pytest.approx(100 / 400)
    assert b2["expected_default_share_balance"] is None  # zero balance: no share
    assert (b2["in_default_count"], b2["in_default_balance"]) == (1, 500.0)


def test_expected_defaults_and_bands_on_the_book(small_root, model):
    con = store.connect(small_root)
    month = store.months(con)[-1]
    book = scoring.score_month(con, month=month, model=model)
    by_branch = scoring.expected_defaults_by_branch(con, month=month, model=model)
    bands = scoring.pd_bands_by_branch(con, month=month, branches=("B01",), model=model)
    both = scoring.book_by_branch(con, month=month, branches=("B01",), model=model)
    con.close()
    assert both[1].equals(bands) and both[0]["branch_id"].to_list() == ["B01"]
    assert by_branch["loans"].sum() == book.height
    assert by_branch["expected_defaults_count"].sum() == pytest.approx(book["pd"].sum())
    assert bands["branch_id"].unique().to_list() == ["B01"]
    assert bands["loans"].sum() == book.filter(pl.col("branch_id") == "B01").height
    assert set(bands["band_label"].to_list()) <= set(scoring.band_labels())


def test_pd_history_matches_the_monthly_scores(small_root, model):
    con = store.connect(small_root)
    months = store.months(con)
    book = scoring.score_month(con, month=months[-1], model=model)
    loan = book["loan_id"][0]
    history = scoring.pd_history(con, loan_id=loan, model=model)
    earlier = scoring.pd_for_loans(con, month=history["month"][0], loan_ids=(loan,), model=model)
    con.close()
    assert history["month"].is_sorted() and history["month"][-1] == months[-1]
    assert history["pd"][-1] == pytest.approx(book["pd"][0])
    assert history["pd"][0] == pytest.approx(earlier["pd"][0])


def test_attach_keeps_every_row():
    frame = pl.DataFrame({"loan_id": ["b", "a", "z"], "x": [1, 2, 3]})
    scores = pl.DataFrame({"loan_id": ["a", "b"], "pd": [0.1, 0.2], "score": [600.0, 580.0], "reason_1": ["dpd", None],
                           "reason_2": [None, None], "reason_3": [None, None]},
                          schema_overrides={"reason_2": pl.String, "reason_3": pl.String})
    got = scoring.attach(frame, scores)
    assert got["loan_id"].to_list() == ["b", "a", "z"] and got["pd"].to_list() == [0.2, 0.1, None]
    assert got["reason_1"].to_list() == [None, "dpd", None]
