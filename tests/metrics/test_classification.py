"""Five-tier classification: floor check, ratios, provisioning, supervisory migration (hand-computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import labels
from analytics.core import schema, store
from analytics.metrics import classification as cl
from analytics.metrics import provisioning
from analytics.metrics.drilldown import DrillSpec, loans_behind

JUN, JUL, AUG, SEP = (dt.date(2024, m, 1) for m in (6, 7, 8, 9))


def D(x) -> Decimal:  # noqa: N802 - short constructor for money literals
    return Decimal(str(x)).quantize(Decimal("0.01"))


def make_store(tmp_path, snaps: list[tuple], loans: list[tuple]):
    """snaps: (month, loan_id, balance, dpd, class, status[, tech_overdue]); loans: (loan_id, branch, product)."""
    rows = []
    branch_of = {lid: br for lid, br, _ in loans}  # the managing branch is the loan's branch
    for s in snaps:
        month, loan_id, bal, dpd, cls, status, *rest = s
        rows.append({
            "month": month, "loan_id": loan_id, "branch_id": branch_of.get(loan_id, "B1"), "outstanding_principal": D(bal), "overdue_principal": D(0),
            "overdue_interest": D(0), "dpd": dpd, "booked_class": cls, "status": status,
            "tech_overdue": bool(rest and rest[0]), "overdue_cause": "income_drop" if dpd else None,
            "collector_id": None, "restructured": False, "collateral_value": None, "amount_due": D(0),
            "amount_paid": D(0), "disposed_principal": D(0),
        })
    snap_df = schema.conform(pl.DataFrame(rows, infer_schema_length=None), schema.SNAPSHOTS)
    loan_df = schema.conform(pl.DataFrame([{
        "loan_id": lid, "customer_id": "C" + lid, "branch_id": br, "product": prod,
        "origination_date": dt.date(2023, 1, 15), "maturity_date": dt.date(2033, 1, 15), "principal": D(100000),
        "annual_rate": 0.05, "term_months": 120, "repayment_method": "annuity", "guarantee_type": "credit",
        "collateral_value": None, "borrower_age": 40, "annual_income": None, "industry": None,
        "internal_rating": None} for lid, br, prod in loans], infer_schema_length=None), schema.LOANS)
    branches = pl.DataFrame({"branch_id": ["B1", "B2"], "branch_name": ["一支行", "二支行"], "region": ["R", "R"]})
    store.write_table(tmp_path, "snapshots", snap_df)
    store.write_table(tmp_path, "loans", loan_df)
    store.write_table(tmp_path, "branches", branches)
    return store.connect(tmp_path)


# --- ratios & provisioning fixture (one month) ---------------------------------------------------

RATIO_SNAPS = [
    (JUN, "L1", 10000, 0, 1, "active"),
    (JUN, "L2", 2000, 15, 2, "active"),
    (JUN, "L3", 1000, 100, 3, "active"),
    (JUN, "L4", 500, 300, 4, "active"),
    (JUN, "L5", 300, 400, 5, "active"),
    (JUN, "L6", 200, 95, 1, "active"),  # 90+ but booked 正常: below the floor
    (JUN, "L7", 0, 0, 1, "paid_off"),  # off book: not counted
]
RATIO_LOANS = [("L1", "B1", "mortgage"), ("L2", "B1", "mortgage"), ("L3", "B1", "consumer"),
               ("L4", "B2", "consumer"), ("L5", "B2", "consumer"), ("L6", "B2", "mortgage"),
               ("L7", "B2", "mortgage")]


@pytest.fixture()
def ratio_con(tmp_path):
    con = make_store(tmp_path, RATIO_SNAPS, RATIO_LOANS)
    yield con
    con.close()


def test_ratios_count_and_balance(ratio_con):
    row = cl.quality_views(ratio_con, month=JUN)["trend"].row(0, named=True)
    assert (row["total_count"], row["total_balance"]) == (6, D(14000))
    expected = {  # name: (balance ratio, count ratio)
        "overdue_ratio": (4000 / 14000, 5 / 6),
        "dpd90_ratio": (2000 / 14000, 4 / 6),
        "special_mention_ratio": (2000 / 14000, 1 / 6),
        "npl_ratio": (1800 / 14000, 3 / 6),
        "deviation": (2000 / 1800, 4 / 3),
    }
    for name, (bal, cnt) in expected.items():
        assert row[f"{name}_balance"] == pytest.approx(bal), name
        assert row[f"{name}_count"] == pytest.approx(cnt), name


def test_provision_pboc_2002(ratio_con):
    # 10,200 x 1% + 2,000 x 2% + 1,000 x 25% + 500 x 50% + 300 x 100% = 102 + 40 + 250 + 250 + 300
    df = cl.provision_ratios(ratio_con, by=("month",), month_from=JUN, month_to=JUN)
    assert df["provision"].to_list() == [D(942)]
    assert df["coverage"][0] == pytest.approx(942 / 1800)
    assert df["provision_ratio"][0] == pytest.approx(942 / 14000)


def test_provision_mof_2012(ratio_con):
    # 10,200 x 1.5% + 2,000 x 3% + 1,000 x 30% + 500 x 60% + 300 x 100% = 153 + 60 + 300 + 300 + 300
    df = cl.provision_ratios(ratio_con, by=("month",), rates=provisioning.MOF_2012)
    assert df["provision"].to_list() == [D(1113)]
    assert df["coverage"][0] == pytest.approx(1113 / 1800)


def test_provision_by_branch_and_custom_rates(ratio_con):
    df = cl.quality_views(ratio_con, month=JUN)["branch"].sort("branch_id")
    # B1: 10,000 x 1% + 2,000 x 2% + 1,000 x 25% = 390; B2: 200 x 1% + 500 x 50% + 300 = 552
    assert df["provision"].to_list() == [D(390), D(552)]
    assert df["coverage"].to_list() == pytest.approx([390 / 1000, 552 / 800])
    assert df["branch_name"].to_list() == ["一支行", "二支行"]
    custom = provisioning.ProvisionRates(0, 0, 0.5, 0.5, 0.5)
    df = cl.provision_ratios(ratio_con, by=("product",), rates=custom)
    # consumer: (1,000 + 500 + 300) x 50%; mortgage: no NPL -> coverage undefined
    assert df["provision"].to_list() == [D(900), D(0)]
    assert df["coverage"].to_list() == [0.5, None]


def test_provision_of_empty_npl_is_null_not_error():
    summary = pl.DataFrame({f"class{c}_balance": [D(0)] for c in range(1, 6)} | {"npl_balance": [D(0)], "total_balance": [D(0)]},
                           schema_overrides={f"class{c}_balance": schema.MONEY for c in range(1, 6)}
                           | {"npl_balance": schema.MONEY, "total_balance": schema.MONEY})
    out = provisioning.add_provisions(summary)
    assert out["coverage"].to_list() == [None] and out["provision_ratio"].to_list() == [None]


def test_below_floor_by_branch(ratio_con):
    df = cl.below_floor_by_branch(ratio_con, month=JUN)
    expected = pl.DataFrame({
        "branch_id": ["B2", "B1"], "branch_name": ["二支行", "一支行"], "total_count": [3, 3],
        "total_balance": [D(1000), D(13000)], "below_count": [1, 0], "below_balance": [D(200), D(0)],
        "tech_exempt_count": [0, 0], "tech_exempt_balance": [D(0), D(0)],
        "below_share_balance": [0.2, 0.0], "below_share_count": [1 / 3, 0.0],
    }, schema_overrides=cl.BELOW_FLOOR_SCHEMA)
    assert_frame_equal(df, expected)
    only_b1 = cl.below_floor_by_branch(ratio_con, month=JUN, branches=("B1",))
    assert only_b1["branch_id"].to_list() == ["B1"]


# --- floor boundaries ----------------------------------------------------------------------------

BOUNDARY = [  # loan, dpd, tech_overdue, expected floor
    ("F00", 0, False, 1), ("F07T", 7, True, 1), ("F07", 7, False, 2), ("F08T", 8, True, 2), ("F01", 1, False, 2),
    ("F90", 90, False, 2), ("F91", 91, False, 3), ("F270", 270, False, 3), ("F271", 271, False, 4),
    ("F360", 360, False, 4), ("F361", 361, False, 5),
]


@pytest.fixture()
def floor_con(tmp_path):
    snaps = [(JUN, lid, 100 + i, dpd, 1, "active", tech) for i, (lid, dpd, tech, _) in enumerate(BOUNDARY)]
    con = make_store(tmp_path, snaps, [(lid, "B1", "consumer") for lid, *_ in BOUNDARY])
    yield con
    con.close()


def test_floor_boundaries(floor_con):
    listed = loans_behind(floor_con, DrillSpec(month=JUN))
    got = dict(zip(listed["loan_id"], listed["floor_class"], strict=True))
    assert got == {lid: floor for lid, _, _, floor in BOUNDARY}
    below = loans_behind(floor_con, DrillSpec(month=JUN, below_floor=True))
    assert sorted(below["loan_id"]) == sorted(lid for lid, _, _, floor in BOUNDARY if floor > 1)


def test_floor_vs_booked_and_tech_exception(floor_con):
    df = cl.floor_vs_booked(floor_con, month=JUN)
    # balances are 100 + position in BOUNDARY
    expected = pl.DataFrame({
        "booked_class": [1, 1, 1, 1, 1], "floor_class": [1, 2, 3, 4, 5], "total_count": [2, 4, 2, 2, 1],
        "total_balance": [D(100 + 101), D(102 + 103 + 104 + 105), D(106 + 107), D(108 + 109), D(110)],
    }, schema_overrides=cl.FLOOR_MATRIX_SCHEMA)
    assert_frame_equal(df, expected)
    by_branch = cl.below_floor_by_branch(floor_con, month=JUN).row(0, named=True)
    assert (by_branch["below_count"], by_branch["tech_exempt_count"], by_branch["tech_exempt_balance"]) == (9, 1, D(101))


# --- supervisory migration -------------------------------------------------------------------------


def test_period_start():
    assert cl.period_start(SEP, "quarter") == JUN
    assert cl.period_start(AUG, "quarter") == JUN
    assert cl.period_start(SEP, "month") == AUG
    assert cl.period_start(SEP, "ytd") == dt.date(2023, 12, 1)
    assert cl.period_start(dt.date(2024, 3, 1), "quarter") == dt.date(2023, 12, 1)
    with pytest.raises(ValueError):
        cl.period_start(SEP, "week")


def test_worked_example_domain_1_7(tmp_path):
    # 期初关注 4,500; 600 of it is NPL at period end; 1,000 collected -> 600 / (4,500 - 1,000) = 17.1%
    snaps = [
        (JUN, "A", 600, 40, 2, "active"), (SEP, "A", 600, 130, 3, "active"),
        (JUN, "B", 2900, 10, 2, "active"), (SEP, "B", 2900, 10, 2, "active"),
        (JUN, "C", 1000, 10, 2, "active"), (AUG, "C", 0, 0, 2, "paid_off"),
        (AUG, "N", 800, 0, 1, "active"), (SEP, "N", 800, 100, 3, "active"),  # originated in the period
    ]
    con = make_store(tmp_path, snaps, [(x, "B1", "consumer") for x in "ABCN"])
    rates = cl.supervisory_migration(con, month=SEP, period="quarter")
    row = rates.filter(pl.col("rate") == "class2").row(0, named=True)
    assert (row["start_balance"], row["reduction_balance"], row["denominator_balance"], row["migrated_balance"]) == (
        D(4500), D(1000), D(3500), D(600))
    assert round(row["migration_rate_balance"], 3) == 0.171
    assert row["migration_rate_balance"] == pytest.approx(600 / 3500)
    assert (row["start_count"], row["exit_count"], row["denominator_count"], row["migrated_count"]) == (3, 1, 2, 1)
    assert row["migration_rate_count"] == 0.5
    con.close()


MIGRATION_SNAPS = [
    (JUN, "P1", 1000, 0, 1, "active"), (SEP, "P1", 900, 0, 1, "active"),
    (JUN, "P2", 500, 0, 1, "active"), (SEP, "P2", 500, 20, 2, "active"),
    (JUN, "P3", 300, 0, 1, "active"), (SEP, "P3", 280, 95, 3, "active"),
    (JUN, "P4", 200, 0, 1, "active"), (SEP, "P4", 0, 200, 3, "written_off"),
    (JUN, "M1", 70, 0, 1, "active"),  # disappears without an exit row
    (JUN, "S1", 400, 20, 2, "active"), (SEP, "S1", 400, 280, 4, "active"),
    (JUN, "S2", 100, 20, 2, "active"), (SEP, "S2", 100, 0, 1, "active"),
    (JUN, "U1", 800, 100, 3, "active"), (SEP, "U1", 700, 400, 5, "active"),
    (JUN, "U2", 200, 100, 3, "active"), (JUL, "U2", 0, 130, 3, "transferred"),
    (JUN, "D1", 600, 280, 4, "active"), (SEP, "D1", 600, 370, 5, "active"),
    (JUN, "D2", 150, 280, 4, "active"), (SEP, "D2", 150, 300, 4, "active"),
    (JUN, "X1", 50, 400, 5, "active"), (AUG, "X1", 0, 460, 5, "foreclosed"),
    (JUL, "N1", 999, 0, 1, "active"), (SEP, "N1", 999, 20, 2, "active"),  # originated in the period
]


@pytest.fixture()
def migration_con(tmp_path):
    ids = sorted({s[1] for s in MIGRATION_SNAPS})
    con = make_store(tmp_path, MIGRATION_SNAPS, [(x, "B1" if x < "P" else "B2", "consumer") for x in ids])
    yield con
    con.close()


def test_migration_rates(migration_con):
    df = cl.supervisory_migration(migration_con, month=SEP, period="quarter")
    expected = pl.DataFrame({
        "rate": ["class1", "class2", "class3", "class4", "performing"],
        "start_balance": [D(2070), D(500), D(1000), D(750), D(2570)],
        # 期间减少: P1 100 + P3 20 + P4 200 + M1 70; U1 100 + U2 200
        "reduction_balance": [D(390), D(0), D(300), D(0), D(390)],
        "denominator_balance": [D(1680), D(500), D(700), D(750), D(2180)],
        "migrated_balance": [D(780), D(400), D(700), D(600), D(680)],
        "migration_rate_balance": [780 / 1680, 0.8, 1.0, 0.8, 680 / 2180],
        "start_count": [5, 2, 2, 2, 7], "exit_count": [2, 0, 1, 0, 2], "denominator_count": [3, 2, 1, 2, 5],
        "migrated_count": [2, 1, 1, 1, 2], "migration_rate_count": [2 / 3, 0.5, 1.0, 0.5, 0.4],
    }, schema_overrides={c: schema.MONEY for c in ("start_balance", "reduction_balance", "denominator_balance", "migrated_balance")})
    assert_frame_equal(df, expected)


def test_migration_filters_and_empty_start(migration_con):
    b1 = cl.supervisory_migration(migration_con, month=SEP, period="quarter", branches=("B1",))  # D1, D2, M1 only
    assert b1["start_balance"].to_list() == [D(70), D(0), D(0), D(750), D(70)]
    assert b1["migration_rate_balance"].to_list()[:3] == [None, None, None]
    none = cl.supervisory_migration(migration_con, month=SEP, period="ytd")  # no December snapshot
    assert none["start_count"].to_list() == [0] * 5


def test_transition_matrix_balance_count_share(migration_con):
    base = cl.transition_base(migration_con, start_month=JUN, end_month=SEP)
    states = ["1", "2", "3", "4", "5", "paid_off", "written_off", "transferred", "foreclosed", "missing"]
    bal = cl.migration_matrix(base, basis="balance")
    assert bal.columns == ["start_class", *states, "total"]
    rows = {  # start class: {end state: start balance}
        1: {"1": 1000, "2": 500, "3": 300, "written_off": 200, "missing": 70},
        2: {"1": 100, "4": 400},
        3: {"5": 800, "transferred": 200},
        4: {"4": 150, "5": 600},
        5: {"foreclosed": 50},
    }
    expected = pl.DataFrame(
        [{"start_class": k, **{s: float(v.get(s, 0)) for s in states}, "total": float(sum(v.values()))}
         for k, v in rows.items()], schema_overrides={"start_class": pl.Int8})
    assert_frame_equal(bal, expected)
    n = cl.migration_matrix(base, basis="count")
    assert n.row(0, named=True)["total"] == 5.0 and n.row(0, named=True)["missing"] == 1.0
    share = cl.migration_matrix(base, basis="balance", share=True)
    assert share.row(2, named=True)["5"] == 0.8 and share["total"].to_list() == [1.0] * 5


def test_transition_matrix_without_missing_column(migration_con):
    base = cl.transition_base(migration_con, start_month=JUN, end_month=SEP, branches=("B2",))
    assert cl.MISSING not in cl.migration_matrix(base).columns


def test_drill_into_matrix_cells(migration_con):
    def ids(**kw):
        spec = DrillSpec(month=SEP, prev_month=JUN, **kw)
        return sorted(loans_behind(migration_con, spec)["loan_id"])

    assert ids(**cl.matrix_cell_spec_args(3, "5")) == ["U1"]
    assert ids(**cl.matrix_cell_spec_args(1, "1")) == ["P1"]
    assert ids(**cl.matrix_cell_spec_args(3, "transferred"), rows="first_exit") == ["U2"]
    assert ids(**cl.matrix_cell_spec_args(1, "written_off"), rows="first_exit") == ["P4"]  # exit at end month
    assert ids(prev_classes=(1, 2, 3, 4, 5), statuses=schema.EXIT_STATUSES, rows="first_exit") == [
        "P4", "U2", "X1"]
    exited = loans_behind(migration_con, DrillSpec(month=SEP, prev_month=JUN, statuses=("transferred",),
                                                   rows="first_exit"))
    assert exited.row(0, named=True)["prev_outstanding"] == D(200)
    # migration-rate drill: start 关注, now NPL
    assert ids(prev_classes=(2,), classes=(3, 4, 5)) == ["S1"]


def test_quality_views_trend_and_current(migration_con):
    views = cl.quality_views(migration_con, month=SEP, branches=("B1",))
    assert views["trend"]["month"].to_list() == [JUN, JUL, SEP]  # B1 = D1, D2, M1, N1: no August rows
    assert views["current"]["total_balance"].to_list() == [D(600 + 150 + 999)]


def test_migration_rate_names_in_both_languages():
    assert list(labels.label_map("migration", "en").values()) == [
        "Pass migration rate", "Special-mention migration rate", "Substandard migration rate",
        "Doubtful migration rate", "Performing-loan migration rate"]
    assert labels.label("migration", "performing", "zh") == "正常贷款迁徙率"
