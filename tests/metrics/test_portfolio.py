from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import labels
from analytics.core import store
from analytics.metrics import portfolio, provisioning
from tests.tiny import OCT, SEP, portfolio_store


@pytest.fixture()
def con(tmp_path):
    c = store.connect(portfolio_store(tmp_path))
    yield c
    c.close()


def test_monthly_balances_and_ratios(con):
    df = portfolio.quality_by(con, by=("month",))
    sep, oct_ = df.row(0, named=True), df.row(1, named=True)
    assert (sep["month"], oct_["month"]) == (SEP, OCT)
    assert sep["total_balance"] == Decimal("10000.00") and sep["total_count"] == 4
    assert sep["overdue_balance"] == Decimal("5000.00") and sep["overdue_ratio_balance"] == pytest.approx(0.5)
    assert sep["overdue_ratio_count"] == pytest.approx(0.5)
    assert sep["npl_ratio_balance"] == pytest.approx(0.3) and sep["npl_ratio_count"] == pytest.approx(0.25)
    assert sep["deviation_balance"] == pytest.approx(1.0)
    # The written-off loan has left the book; L4 is 95 DPD but booked 关注, so NPL is zero.
    assert oct_["total_balance"] == Decimal("6800.00") and oct_["total_count"] == 3
    assert oct_["overdue_ratio_balance"] == pytest.approx(5900 / 6800)
    assert oct_["npl_balance"] == Decimal("0.00") and oct_["npl_ratio_balance"] == 0.0
    assert oct_["dpd90_balance"] == Decimal("3900.00")
    assert oct_["deviation_balance"] is None  # 90+ / 0 NPL: undefined, not infinite
    assert oct_["special_mention_ratio_balance"] == pytest.approx(5900 / 6800)


def test_branch_ratios_sum_numerators_not_average(con):
    by_branch = portfolio.quality_by(con, by=("month", "branch_id"), month_from=SEP, month_to=SEP)
    assert by_branch["overdue_ratio_balance"].to_list() == pytest.approx([2000 / 3000, 3000 / 7000])
    total = portfolio.quality_by(con, by=("month",), month_from=SEP, month_to=SEP)
    assert total["overdue_ratio_balance"][0] == pytest.approx(0.5)  # not the mean of branch ratios (0.548)


def test_filters_restrict_branches_and_products(con):
    b2 = portfolio.quality_by(con, by=("month",), branches=("B2",))
    assert b2["total_balance"].to_list() == [Decimal("7000.00"), Decimal("3900.00")]
    mortgage = portfolio.quality_by(con, by=("month",), products=("mortgage",))
    assert mortgage["total_balance"].to_list() == [Decimal("2000.00"), Decimal("2000.00")]
    none = portfolio.quality_by(con, by=("month",), branches=("NOPE",))
    assert none.is_empty()


def test_kpi_tiles_changes(con):
    tiles = portfolio.kpi_tiles(con, month=OCT)
    row = {r["kpi"]: r for r in tiles.iter_rows(named=True)}
    assert row["total_balance"]["value"] == 6800 and row["total_balance"]["change_mom"] == -3200
    assert row["overdue_ratio_balance"]["change_mom"] == pytest.approx(5900 / 6800 - 0.5)
    # October's previous quarter end is September.
    assert row["npl_ratio_balance"]["prev_quarter"] == pytest.approx(0.3)
    assert row["deviation_balance"]["value"] is None and row["deviation_balance"]["change_mom"] is None


def test_dimensions(con):
    dims = portfolio.dimensions(con)
    assert dims["months"] == [SEP, OCT]
    assert dims["branches"] == [("B1", "B1支行"), ("B2", "B2支行")]
    assert dims["products"] == ["consumer", "mortgage"]


def test_summarise_empty_base_keeps_columns(con):
    empty = portfolio.quality_base(con, branches=("NOPE",))
    out = portfolio.summarise(empty)
    assert out.is_empty() and "npl_ratio_balance" in out.columns
    assert_frame_equal(out, out.clear())
    assert out.schema["npl_ratio_balance"] == pl.Float64


def test_derived_cube_gives_the_same_numbers(tmp_path):
    from analytics import derived

    root = portfolio_store(tmp_path)
    con = store.connect(root)
    raw = [portfolio.quality_by(con, by=by, branches=b) for by in (("month",), ("month", "branch_id")) for b in ((), ("B2",))]
    con.close()
    derived.build(root)
    con = store.connect(root)
    assert store.has_view(con, "quality_cube")
    cubed = [portfolio.quality_by(con, by=by, branches=b) for by in (("month",), ("month", "branch_id")) for b in ((), ("B2",))]
    for a, b in zip(raw, cubed, strict=True):
        assert_frame_equal(a, b)


def test_kpi_tiles_provisioning_by_hand(con):
    # Sep: 正常 5000 x 1% + 关注 2000 x 2% + 次级 3000 x 25% = 840; Oct: 900 x 1% + 5900 x 2% = 127.
    row = {r["kpi"]: r for r in portfolio.kpi_tiles(con, month=OCT).iter_rows(named=True)}
    assert row["coverage"]["prev_month"] == pytest.approx(840 / 3000)
    assert row["provision_ratio"]["prev_month"] == pytest.approx(840 / 10000)
    assert row["provision_ratio"]["value"] == pytest.approx(127 / 6800)
    assert row["coverage"]["value"] is None  # no NPL in October
    mof = {r["kpi"]: r for r in portfolio.kpi_tiles(con, month=OCT, rates=provisioning.MOF_2012).iter_rows(named=True)}
    assert mof["provision_ratio"]["value"] == pytest.approx((900 * 0.015 + 5900 * 0.03) / 6800)


def test_with_labels_maps_named_and_extra_columns():
    df = pl.DataFrame({"product": ["mortgage", "x"], "to_state": ["paid_off", "M1"]})
    out = labels.with_code_labels(df, "en", {"to_state": "status"})
    assert out["product"].to_list() == ["Residential mortgage", "x"]
    assert out["to_state"].to_list() == ["Paid off", "M1"]


def test_dpd_boundaries_and_provision_identity(tmp_path):
    # DPD 0 current; 1 overdue; 30 not 30+; 31 is 30+; 90 not 90+; 91 is 90+ (DOMAIN §1.2: "> 90", day 91 first).
    from tests.tiny import write_store

    dpds = (0, 1, 30, 31, 90, 91)
    rows = [{"month": SEP, "loan_id": f"L{d}", "outstanding_principal": Decimal(100 + d), "dpd": d,
             "booked_class": 3 if d > 90 else (2 if d else 1)} for d in dpds]
    con = store.connect(write_store(tmp_path, [{"loan_id": f"L{d}"} for d in dpds], rows))
    row = portfolio.quality_by(con).row(0, named=True)
    assert (row["overdue_count"], row["dpd30_count"], row["dpd60_count"], row["dpd90_count"]) == (5, 3, 2, 1)
    assert row["dpd90_balance"] == Decimal("191.00") and row["npl_balance"] == Decimal("191.00")
    assert row["deviation_balance"] == 1.0
    # provision 1% x 100 + 2% x (101 + 130 + 131 + 190) + 25% x 191 = 1 + 11.04 + 47.75 = 59.79
    prov = provisioning.add_provisions(portfolio.quality_by(con)).row(0, named=True)
    assert prov["provision"] == Decimal("59.79")
    # DOMAIN §1.5 identity: 贷款拨备率 = 拨备覆盖率 × 不良贷款率
    assert prov["provision_ratio"] == pytest.approx(prov["coverage"] * prov["npl_ratio_balance"])
    assert prov["provision_ratio"] == pytest.approx(59.79 / 843)  # total 100+101+130+131+190+191
    con.close()
