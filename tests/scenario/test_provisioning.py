"""Provisioning scenarios: rate schemes by branch, ECL = PD × LGD × EAD, the app-wide scheme (hand-computed)."""

from __future__ import annotations

import polars as pl
import pytest

from analytics.core import store
from analytics.metrics import portfolio
from analytics.metrics import provisioning as prov
from analytics.scenario import provisioning as sp
from tests import tiny


@pytest.fixture()
def con(tmp_path):
    c = store.connect(tiny.portfolio_store(tmp_path))
    yield c
    c.close()


def test_rates_by_branch(con):
    out = sp.compare_rates(con, month=tiny.OCT, baseline=prov.PBOC_2002, scenario=prov.MOF_2012)
    rows = {r["branch"]: r for r in out.iter_rows(named=True)}
    # 2002: B1 = 900×1% + 2000×2% = 49, B2 = 3900×2% = 78; 2012: B1 = 13.5 + 60 = 73.5, B2 = 3900×3% = 117
    assert rows["B1"]["provision_baseline"] == pytest.approx(49) and rows["B2"]["provision_baseline"] == 78
    assert rows["B1"]["provision_scenario"] == pytest.approx(73.5) and rows["B2"]["provision_scenario"] == 117
    t = rows["total"]
    assert t["provision_diff"] == pytest.approx(190.5 - 127)
    assert t["coverage_baseline"] is None  # no NPL in October
    assert t["provision_ratio_baseline"] == pytest.approx(127 / 6800)  # 1.87%: within 1.5%–2.5%
    assert t["provision_ratio_scenario"] == pytest.approx(190.5 / 6800)  # 2.80%: above
    assert (t["provision_ratio_band_baseline"], t["provision_ratio_band_scenario"]) == ("within", "above")


def test_baseline_equals_the_overview_tiles(con):
    # Sep: 1000 正常, 2000 关注, 3000 次级, 4000 正常 → 10 + 40 + 750 + 40 = 840; coverage 840 / 3000 = 28%
    for rates in (prov.PBOC_2002, prov.MOF_2012):
        t = sp.compare_rates(con, month=tiny.SEP, baseline=rates, scenario=rates).filter(branch="total").row(
            0, named=True)
        tiles = {r["kpi"]: r["value"] for r in portfolio.kpi_tiles(con, month=tiny.SEP, rates=rates).iter_rows(
            named=True)}
        assert t["coverage_baseline"] == pytest.approx(tiles["coverage"])
        assert t["provision_ratio_baseline"] == pytest.approx(tiles["provision_ratio"])
    t = sp.rates_by_branch(con, month=tiny.SEP).filter(branch_id="total").row(0, named=True)
    assert t["provision"] == pytest.approx(840) and t["coverage"] == pytest.approx(0.28)


LOANS = pl.DataFrame({
    "branch_id": ["B1", "B1", "B2", "B2"], "balance": [1000.0, 2000.0, 3000.0, 500.0], "dpd": [0, 45, 100, 0],
    "booked_class": [1, 2, 3, 1], "guarantee_type": ["credit", "mortgage", "guarantee", None],
    "remaining_months": [24, 24, None, 6], "pd": [0.02, 0.10, None, None]},
    schema_overrides={"booked_class": pl.Int8, "dpd": pl.Int32, "remaining_months": pl.Int32})


def test_ecl_by_hand():
    out = sp.ecl_loans(LOANS)
    # a: stage 1, PD .02 × LGD .60 × 1000 = 12
    # b: stage 2 (DPD 45), lifetime PD 1 − .9^(24/12) = .19 × LGD .25 × 2000 = 95
    # c: stage 3 (DPD 100), PD 1 × LGD .45 × 3000 = 1350
    # d: stage 1, not scored: mean PD (.02×1000 + .10×2000) / 3000 = .073333 × LGD .60 (no type = unsecured)
    #    × 500 = 22
    assert out["stage"].to_list() == [1, 2, 3, 1]
    assert out["pd_used"].to_list() == pytest.approx([0.02, 0.19, 1.0, 220 / 3000])
    assert out["ecl"].to_list() == pytest.approx([12, 95, 1350, 22])
    by = sp.ecl_by_branch_frame(LOANS)
    rows = {r["branch_id"]: r for r in by.iter_rows(named=True)}
    assert rows["B1"]["provision"] == pytest.approx(107) and rows["B2"]["provision"] == pytest.approx(1372)
    assert rows["total"]["coverage"] == pytest.approx(1479 / 3000)  # NPL = loan c
    assert rows["total"]["provision_ratio"] == pytest.approx(1479 / 6500)


def test_ecl_lgd_override():
    out = sp.ecl_loans(LOANS, lgd=(("credit", 1.0), ("guarantee", 0.5), ("mortgage", 0.5), ("pledge", 0.5)))
    assert out["ecl"].to_list() == pytest.approx([20, 190, 1500, 500 * 220 / 3000])


def test_app_wide_scheme_round_trip():
    assert prov.rates_of(None) == prov.PBOC_2002
    assert prov.rates_of({"preset": "mof2012"}) == prov.MOF_2012
    custom = prov.ProvisionRates(0.01, 0.05, 0.3, 0.6, 1.0)
    assert prov.scheme_of(custom) == {"preset": "custom", "rates": [0.01, 0.05, 0.3, 0.6, 1.0]}
    assert prov.rates_of(prov.scheme_of(custom)) == custom
    assert prov.scheme_of(prov.MOF_2012) == {"preset": "mof2012"}
    with pytest.raises(ValueError):
        prov.rates_of({"preset": "custom", "rates": [0.5]})
    with pytest.raises(ValueError):
        prov.rates_of({"preset": "nope"})


def test_ecl_frames_rebuild_the_baseline_total():
    """The baseline's total comes from its branch rows (a scoped cache may have dropped the "total" row)."""
    base = pl.DataFrame({"branch_id": ["B1", "B2"], "total_balance": [3000.0, 3500.0], "npl_balance": [0.0, 3000.0],
                         "provision": [50.0, 800.0]})
    out = sp.compare_ecl_frames(base, LOANS.with_columns(pl.lit("x").alias("loan_id")))
    t = out.filter(branch="total").row(0, named=True)
    assert t["provision_baseline"] == 850 and t["coverage_baseline"] == pytest.approx(850 / 3000)
    assert t["provision_scenario"] == pytest.approx(1479) and t["provision_diff"] == pytest.approx(1479 - 850)
