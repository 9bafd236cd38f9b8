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


def test_a_slice_of_the_book_is_what_scoring_the_slice_gives(small_root, model):
    con = store.connect(small_root)
    month = store.months(con)[-1]
    book = scoring.book_scores(con, month=month, model=model)
    slices = [((), ()), (("B01",), ()), ((), ("consumer",)), (("B01", "B02"), ("consumer", "mortgage"))]
    for branches, products in slices:
        direct = scoring.score_month(con, month=month, branches=branches, products=products, model=model)
        cut = scoring.in_slice(book, branches, products)
        assert direct.height > 0 and cut.sort("loan_id")["loan_id"].equals(direct.sort("loan_id")["loan_id"])
        assert cut.sort("loan_id")["pd"].to_list() == pytest.approx(direct.sort("loan_id")["pd"].to_list(), rel=1e-12)
        ed_direct, bands_direct = scoring.book_by_branch(con, month=month, branches=branches, products=products,
                                                         model=model)
        ed_cut, bands_cut = scoring.book_frames(con, cut, month=month, branches=branches, products=products)
        assert ed_cut.equals(ed_direct) and bands_cut.equals(bands_direct)
    con.close()


def test_book_scores_are_kept_next_to_the_model_and_read_back(small_root, model, monkeypatch, tmp_path):
    import shutil

    copy = artifact.load(shutil.copytree(model.path, tmp_path / model.path.name), contract=artifact.store_contract())
    con = store.connect(small_root)
    month = store.months(con)[-1]
    first = scoring.cached_book_scores(con, month=month, model=copy, data_version="v1")
    path = scoring.scores_file(copy, "v1", month)
    assert path.is_file() and not list(path.parent.glob(".*.tmp"))

    def no_scoring(*a, **k):
        raise AssertionError("scored again although the file was there")

    monkeypatch.setattr(scoring, "score_month", no_scoring)
    again = scoring.cached_book_scores(con, month=month, model=copy, data_version="v1")
    assert again.equals(first)
    monkeypatch.undo()
    # a damaged file is scored again and replaced
    path.write_bytes(b"not parquet")
    assert scoring.cached_book_scores(con, month=month, model=copy, data_version="v1").equals(first)
    assert pl.read_parquet(path).equals(first)
    # a new data version scores again; files of old versions are pruned to the newest KEEP_VERSIONS
    for v in ("v2", "v3"):
        scoring.cached_book_scores(con, month=month, model=copy, data_version=v)
    con.close()
    kept = sorted(p.name for p in (copy.path / scoring.SCORES_DIR).iterdir())
    assert len(kept) == scoring.KEEP_VERSIONS and "v3" in kept and "v1" not in kept


def test_training_scores_the_newest_month_for_the_app(small_root, trained):
    con = store.connect(small_root)
    month = store.months(con)[-1]
    con.close()
    version = store.data_version(small_root)
    model = artifact.load(trained, contract=artifact.store_contract())
    assert scoring.scores_file(model, version, month).is_file()
