"""NPL recognition scenarios on the tiny portfolio (tests/tiny.py), hand-computed."""

from __future__ import annotations

import pytest

from analytics.core import store
from analytics.metrics import portfolio
from analytics.metrics.provisioning import PBOC_2002
from analytics.scenario import classification as sc
from tests import tiny


@pytest.fixture()
def con(tmp_path):
    c = store.connect(tiny.portfolio_store(tmp_path))
    yield c
    c.close()


def _total(frame):
    return frame.filter(branch="total").row(0, named=True)


def test_npl_at_60_days(con):
    # Oct, on book: L1 900 dpd 0 正常 (B1), L2 2000 dpd 75 关注 (B1, mortgage), L4 3900 dpd 95 关注 (B2)
    out = sc.compare(con, month=tiny.OCT, npl_dpd=60)
    t = _total(out)
    assert t["npl_balance_baseline"] == 0 and t["npl_balance_scenario"] == 5900  # L2 + L4 raised to 次级
    assert t["npl_ratio_balance_scenario"] == pytest.approx(5900 / 6800)
    assert t["deviation_balance_baseline"] is None  # no NPL: 偏离度 undefined
    assert t["deviation_balance_scenario"] == pytest.approx(3900 / 5900)
    # provisions (2002 rates): baseline 900×1% + 2000×2% + 3900×2% = 127; scenario 9 + (2000 + 3900)×25% = 1484
    assert t["provision_baseline"] == pytest.approx(127) and t["provision_scenario"] == pytest.approx(1484)
    assert t["provision_diff"] == pytest.approx(1357)


def test_stricter_product_only(con):
    out = sc.compare(con, month=tiny.OCT, npl_dpd=90, product_dpd=(("mortgage", 60),))
    b1 = out.filter(branch="B1").row(0, named=True)
    assert b1["npl_balance_scenario"] == 2000  # L2 (mortgage, 75 > 60); L1 stays performing
    assert b1["npl_count_scenario"] == 1 and b1["npl_ratio_count_scenario"] == pytest.approx(1 / 2)
    b2 = out.filter(branch="B2").row(0, named=True)
    assert b2["npl_balance_scenario"] == 3900  # L4 at 95 DPD booked 关注: below the 90-day floor already


def test_baseline_equals_the_overview(con):
    for month in (tiny.SEP, tiny.OCT):
        t = _total(sc.compare(con, month=month, npl_dpd=60, rates=PBOC_2002))
        q = portfolio.quality_by(con, month_from=month, month_to=month).row(0, named=True)
        assert t["npl_balance_baseline"] == pytest.approx(float(q["npl_balance"]))
        assert t["total_balance_baseline"] == pytest.approx(float(q["total_balance"]))
        assert t["npl_ratio_balance_baseline"] == pytest.approx(q["npl_ratio_balance"])


def test_baseline_equals_the_overview_on_the_demo_book(demo_con):
    month = store.months(demo_con)[-1]
    t = _total(sc.compare(demo_con, month=month, npl_dpd=60))
    tiles = {r["kpi"]: r["value"] for r in portfolio.kpi_tiles(demo_con, month=month).iter_rows(named=True)}
    assert t["npl_balance_baseline"] == pytest.approx(tiles["npl_balance"], abs=0.01)
    assert t["npl_ratio_balance_baseline"] == pytest.approx(tiles["npl_ratio_balance"])
    assert t["deviation_balance_baseline"] == pytest.approx(tiles["deviation_balance"])
    assert t["provision_baseline"] / t["npl_balance_baseline"] == pytest.approx(tiles["coverage"], rel=1e-6)


def test_threshold_out_of_range(con):
    with pytest.raises(ValueError):
        sc.compare(con, month=tiny.OCT, npl_dpd=120)
