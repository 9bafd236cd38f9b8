"""ECL from a trained model (a copy of the demo store, a small model): in analytics and on the scenarios page."""

from __future__ import annotations

import shutil

import pytest

from analytics.core import store
from analytics.metrics import portfolio
from analytics.model import artifact, cli
from analytics.scenario import provisioning as sp


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_root):
    root = tmp_path_factory.mktemp("scenario_model") / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns(artifact.MODELS))
    assert cli.main(["train", "--data", str(root), "--horizon", "3", "--history", "3", "--max-iter", "40"]) == 0
    return root


def test_ecl_by_branch_with_the_model(trained):
    con = store.connect(trained)
    month = store.months(con)[-1]
    out = sp.compare_ecl(con, model=artifact.load_latest(trained), month=month)
    total = out.filter(branch="total").row(0, named=True)
    q = portfolio.quality_by(con, month_from=month, month_to=month).row(0, named=True)
    con.close()
    # the ECL side covers the same loans as the overview (total and NPL balances), the baseline is the rate scheme
    assert total["total_balance_scenario"] == pytest.approx(float(q["total_balance"]), abs=0.01)
    assert total["npl_balance_scenario"] == pytest.approx(float(q["npl_balance"]), abs=0.01)
    assert total["total_balance_diff"] == pytest.approx(0, abs=0.01)
    # stage 3 alone is at least Σ LGD × balance of the NPL loans at the lowest LGD (mortgage 25%)
    assert total["provision_scenario"] >= 0.25 * float(q["npl_balance"])
    assert total["coverage_scenario"] == pytest.approx(total["provision_scenario"] / total["npl_balance_scenario"])


def test_page_ecl_with_model(app_test, trained, monkeypatch):
    monkeypatch.setenv(store.DATA_ENV, str(trained))
    at = app_test("pages/scenarios.py")
    at.radio(key="sc_provisioning_mode").set_value("ecl").run()
    assert not at.exception, at.exception
    assert not any("尚未训练" in i.value for i in at.info)
    assert "拨备覆盖率（情景）" in {m.label for m in at.metric}
    at.number_input(key="sc_provisioning_lgd_credit").set_value(100.0).run()
    assert not at.exception
