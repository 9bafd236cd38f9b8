"""The PD signals with a trained model (a copy of the demo store, a small model), in analytics and on the page."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from analytics.core import store
from analytics.model import artifact, cli
from analytics.warning import report as rp
from analytics.warning import signals as S


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_root):
    root = tmp_path_factory.mktemp("warning_model") / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns(artifact.MODELS))
    assert cli.main(["train", "--data", str(root), "--horizon", "3", "--history", "3", "--max-iter", "40"]) == 0
    return root


def test_centre_with_model(trained):
    con = store.connect(trained)
    month = store.months(con)[-1]
    model = artifact.load_latest(trained)
    with_pd = S.centre(con, month=month, model=model)
    without = S.centre(con, month=month)
    assert with_pd["with_model"] and not without["with_model"]
    lst = with_pd["list"]
    assert lst["pd"].is_not_null().sum() > 0 and without["list"]["pd"].is_null().all()
    pd_only = lst.filter(pl.col("reasons").list.set_difference(["pd_high", "pd_up"]).list.len() == 0)
    assert (pd_only["pd"] >= 0.2).all() | pd_only["reasons"].list.contains("pd_up").all()
    assert lst.height >= without["list"].height  # PD signals only add warnings
    # one loan's report scores that loan alone (pd_for_loans): the same PD and level as the whole book's
    row = lst.filter(pl.col("pd").is_not_null()).row(0, named=True)
    one = rp.loan_report_data(con, month=month, loan_id=row["loan_id"], model=model)["warning"]
    assert one["pd"] == pytest.approx(row["pd"]) and one["level"] == row["level"]
    assert one["reasons"] == row["reasons"]
    con.close()


def test_page_with_model(app_test, trained, monkeypatch):
    monkeypatch.setenv(store.DATA_ENV, str(trained))
    at = app_test("pages/warnings.py")
    assert not at.exception
    assert not any("no model trained" in i.value for i in at.info)
    lst = next(d.value for d in at.dataframe if "预警原因" in d.value.columns)
    assert lst["违约概率PD"].notna().any()
