"""Warning signals, levels, level changes, crossing dates and calendar, handling status: tiny stores by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import schema, store
from analytics.warning import rules as R
from analytics.warning import signals as S
from tests import tiny

MAY, JUN, JUL, AUG, SEP, OCT = (dt.date(2026, m, 1) for m in range(5, 11))


# --- crossing dates (hand-computed) ---------------------------------------------------------------------------

@pytest.mark.parametrize(("month", "dpd", "threshold", "days", "date"), [
    (OCT, 90, 91, 1, dt.date(2026, 11, 1)),       # 90 -> 91 tomorrow
    (OCT, 91, 271, 180, dt.date(2027, 4, 29)),    # Oct 31 + 180: Nov 30 (+30) Dec 31 (+61) ... Mar 31 (+151)
    (OCT, 270, 271, 1, dt.date(2026, 11, 1)),
    (OCT, 271, 361, 90, dt.date(2027, 1, 29)),    # Oct 31 + 90: Nov 30 (+30), Dec 31 (+61), Jan 29 (+90)
    (OCT, 360, 361, 1, dt.date(2026, 11, 1)),
    (OCT, 1, 91, 90, dt.date(2027, 1, 29)),
    (dt.date(2024, 1, 1), 62, 91, 29, dt.date(2024, 2, 29)),  # leap year: Jan 31 + 29 = Feb 29
    (dt.date(2025, 1, 1), 62, 91, 29, dt.date(2025, 3, 1)),   # not a leap year
    (dt.date(2024, 2, 1), 85, 91, 6, dt.date(2024, 3, 6)),    # from Feb 29
    (dt.date(2023, 2, 1), 85, 91, 6, dt.date(2023, 3, 6)),    # from Feb 28
    (dt.date(2024, 2, 1), 240, 271, 31, dt.date(2024, 3, 31)),
    (dt.date(2026, 4, 1), 61, 91, 30, dt.date(2026, 5, 30)),  # a 30-day month end
])
def test_crossing(month, dpd, threshold, days, date):
    out = S.with_crossing(pl.DataFrame({"month": [month], "dpd": [dpd]}, schema={"month": pl.Date, "dpd": pl.Int32}))
    assert out.row(0, named=True) | {} == {"month": month, "dpd": dpd, "next_threshold": threshold,
                                          "days_to_next": days, "crossing_date": date}
    assert S.crossing_date(month, dpd) == date


@pytest.mark.parametrize("dpd", [0, 361, 500])
def test_no_next_threshold(dpd):
    assert S.crossing_date(OCT, dpd) is None


# --- a tiny book -----------------------------------------------------------------------------------------------
#   A: Sep 0 -> Oct 20, due 100 paid 0            -> roll_c_m1 + missed_payment: yellow (new)
#   B: Aug 0, Sep 20 -> Oct 50                      -> Sep roll_c_m1 yellow; Oct roll_m1_m2 orange (escalated)
#   C: Aug 25, Sep 55 -> Oct 85                     -> Sep roll_m1_m2 orange; Oct cross_91_soon (6 days) red (escalated)
#   D: Aug 0?, Sep 85 -> Oct 70                     -> Sep cross_91_soon red; Oct cross_91 (21 days) orange (de-escalated)
#   E: Oct balance 900, collateral 1000            -> ltv 0.9 > 0.8: orange (new)
#   F: restructured Sep and Oct                     -> yellow (unchanged)
#   G: due 100 every month May-Oct, paid 100,100,100,0,0,100 -> pay ratio Aug-Oct 1/3 vs May-Jul 1: blue
#      (Aug, Sep: paid 0 of 100 -> missed_payment yellow; Oct blue: de-escalated)
#   H: clean                                        -> no warning
#   J: restructured in Sep, paid off in Oct         -> closed
LOANS = [{"loan_id": x, "branch_id": "B1" if x in "ABCDE" else "B2",
          "product": "consumer" if x in "ABCFG" else "mortgage"} for x in "ABCDEFGHJ"]


def _snap(month, loan, **kw):
    return {"month": month, "loan_id": loan, "outstanding_principal": D("1000"), **kw}


SNAPS = [
    _snap(AUG, "A"), _snap(SEP, "A"), _snap(OCT, "A", dpd=20, amount_due=D("100"), collector_id=None),
    _snap(AUG, "B"), _snap(SEP, "B", dpd=20), _snap(OCT, "B", dpd=50),
    _snap(AUG, "C", dpd=25), _snap(SEP, "C", dpd=55), _snap(OCT, "C", dpd=85),
    _snap(AUG, "D"), _snap(SEP, "D", dpd=85), _snap(OCT, "D", dpd=70),
    _snap(AUG, "E"), _snap(SEP, "E"), _snap(OCT, "E", outstanding_principal=D("900"), collateral_value=D("1000")),
    _snap(AUG, "F"), _snap(SEP, "F", restructured=True), _snap(OCT, "F", restructured=True),
    *[_snap(m, "G", amount_due=D("100"), amount_paid=D(p))
      for m, p in zip((MAY, JUN, JUL, AUG, SEP, OCT), ("100", "100", "100", "0", "0", "100"), strict=True)],
    _snap(AUG, "H"), _snap(SEP, "H"), _snap(OCT, "H", amount_due=D("100"), amount_paid=D("100")),
    _snap(AUG, "J"), _snap(SEP, "J", restructured=True),
    _snap(OCT, "J", status="paid_off", outstanding_principal=D("0")),
]


@pytest.fixture()
def con(tmp_path):
    root = tiny.write_store(tmp_path / "data", LOANS, SNAPS)
    c = store.connect(root)
    yield c
    c.close()


def test_levels_and_reasons(con):
    w = S.warnings(con, month=OCT)
    got = w.select("loan_id", "level", "reasons", "days_to_next", "crossing_date").sort("loan_id")
    expected = pl.DataFrame({
        "loan_id": ["A", "B", "C", "D", "E", "F", "G"],
        "level": ["yellow", "orange", "red", "orange", "orange", "yellow", "blue"],
        "reasons": [["roll_c_m1", "missed_payment"], ["roll_m1_m2"], ["cross_91_soon"], ["cross_91"], ["ltv_high"],
                    ["restructured"], ["pay_ratio_fall"]],
        "days_to_next": [71, 41, 6, 21, None, None, None],
        "crossing_date": [dt.date(2027, 1, 10), dt.date(2026, 12, 11), dt.date(2026, 11, 6), dt.date(2026, 11, 21),
                          None, None, None],
    }, schema_overrides={"days_to_next": pl.Int32})
    assert_frame_equal(got, expected)
    g = w.filter(pl.col("loan_id") == "G").row(0, named=True)
    assert g["pay_ratio_3"] == pytest.approx(1 / 3) and g["pay_ratio_prior"] == pytest.approx(1.0)
    assert w.filter(pl.col("loan_id") == "E")["ltv"][0] == pytest.approx(0.9)
    assert w["loan_id"][0] == "C"  # most severe first
    assert w["pd"].is_null().all()  # no model


def test_rule_table_changes_levels(con):
    rules = R.default_rules()
    rules["signals"]["restructured"]["enabled"] = False
    rules["signals"]["missed_payment"]["level"] = "red"
    rules["signals"]["ltv_high"]["limit"] = 0.95
    w = S.warnings(con, month=OCT, rules=R.dumps(rules)).sort("loan_id")
    assert w["loan_id"].to_list() == ["A", "B", "C", "D", "G"]
    assert w.filter(pl.col("loan_id") == "A")["reasons"][0].to_list() == ["missed_payment", "roll_c_m1"]
    assert w.filter(pl.col("loan_id") == "A")["level"][0] == "red"


def test_slice(con):
    w = S.warnings(con, month=OCT, branches=("B2",))
    assert sorted(w["loan_id"]) == ["F", "G"]
    w = S.warnings(con, month=OCT, products=("mortgage",))
    assert sorted(w["loan_id"]) == ["D", "E"]


def test_centre_changes(con):
    c = S.centre(con, month=OCT)
    got = c["list"].select("loan_id", "prev_level", "change").sort("loan_id")
    expected = pl.DataFrame({"loan_id": list("ABCDEFG"),
                             "prev_level": [None, "yellow", "orange", "red", None, "yellow", "yellow"],
                             "change": ["new", "escalated", "escalated", "de_escalated", "new", "unchanged",
                                        "de_escalated"]})
    assert_frame_equal(got, expected)
    assert c["closed"]["loan_id"].to_list() == ["J"]
    assert dict(c["changes"].iter_rows()) == {"new": 2, "escalated": 2, "unchanged": 1, "de_escalated": 2,
                                              "closed": 1}
    assert_frame_equal(c["by_level"], pl.DataFrame(
        {"level": ["red", "orange", "yellow", "blue"], "level_rank": [1, 2, 3, 4], "loans": [1, 3, 2, 1],
         "balance": [1000.0, 2900.0, 2000.0, 1000.0]}, schema_overrides={"level_rank": pl.Int8}))
    wide = S.by_branch_wide(c["by_branch"])
    assert wide.rows() == [("B1", 1, 3, 1, 0, 5), ("B2", 0, 0, 1, 1, 2)]
    wide = S.by_branch_wide(c["by_product"], "balance", group="product")
    assert wide.rows() == [("consumer", 1000.0, 1000.0, 2000.0, 1000.0, 5000.0), ("mortgage", 0.0, 1900.0, 0.0, 0.0,
                                                                                 1900.0)]


def test_calendar(tmp_path):
    dpds = {"c60": 60, "c61": 61, "c90": 90, "c91": 91, "c240": 240, "c241": 241, "c270": 270, "c271": 271,
            "c330": 330, "c331": 331, "c360": 360, "c361": 361, "c0": 0}
    loans = [{"loan_id": k, "branch_id": "B1" if i % 2 else "B2"} for i, k in enumerate(dpds)]
    snaps = [{"month": dt.date(2024, 2, 1), "loan_id": k, "outstanding_principal": D("10"), "dpd": v}
             for k, v in dpds.items()]
    con = store.connect(tiny.write_store(tmp_path / "d", loans, snaps))
    cal = S.crossing_calendar(con, month=dt.date(2024, 2, 1), horizon_days=30)
    got = cal.select("loan_id", "next_threshold", "days_to_next", "crossing_date").sort("crossing_date", "loan_id")
    expected = pl.DataFrame({
        "loan_id": ["c270", "c360", "c90", "c241", "c331", "c61"],
        "next_threshold": [271, 361, 91, 271, 361, 91],
        "days_to_next": [1, 1, 1, 30, 30, 30],
        # Feb 29 2024 (leap) + 1 = Mar 1; + 30 = Mar 30
        "crossing_date": [dt.date(2024, 3, 1)] * 3 + [dt.date(2024, 3, 30)] * 3,
    }, schema_overrides={"next_threshold": pl.Int32, "days_to_next": pl.Int32})
    assert_frame_equal(got, expected)
    daily = S.calendar_by_day(cal)
    assert daily.filter(pl.col("crossing_date") == dt.date(2024, 3, 1))["loans"].sum() == 3
    wide = S.calendar_wide(cal)
    assert wide.columns[0] == "crossing_date" and wide.height == 2
    assert S.crossing_calendar(con, month=dt.date(2024, 2, 1), horizon_days=29).height == 3
    con.close()


def test_handling(tmp_path):
    # B warned Sep + Oct (raised Sep 30, orange: respond 3 / escalate 15), action Sep 15 (before: ignored), Oct 2
    # C warned Sep + Oct (red: respond 1 / escalate 7), first action after Sep 30 on Oct 5 -> late
    # D warned Sep + Oct, no action -> overdue; A new in Oct -> pending (age 0)
    # G warned Aug-Oct (blue: 15 / 60), raised Aug 31, age 61 -> overdue and escalation due
    root = tiny.write_store(tmp_path / "data", LOANS, SNAPS)
    actions = pl.DataFrame([
        {"month": m.replace(day=1), "action_id": f"X{i}", "loan_id": loan, "collector_id": "K1", "action_date": m,
         "channel": "phone", "outcome": "rpc", "promised_amount": None, "promised_date": None,
         "amount_collected": D("0"), "cost": D("1")}
        for i, (loan, m) in enumerate([("B", dt.date(2026, 9, 15)), ("B", dt.date(2026, 10, 2)),
                                       ("B", dt.date(2026, 10, 20)), ("C", dt.date(2026, 10, 5))])],
        schema=schema.COLLECTION_ACTIONS.polars_schema)
    store.write_table(root, "collection_actions", actions)
    con = store.connect(root)
    h = S.handling_status(con, month=OCT).sort("loan_id")
    got = h.select("loan_id", "level", "raised_date", "first_action", "actions", "age_days", "handling",
                   "escalation_due")
    expected = pl.DataFrame({
        "loan_id": list("ABCDEFG"),
        "level": ["yellow", "orange", "red", "orange", "orange", "yellow", "blue"],
        "raised_date": [dt.date(2026, 10, 31), dt.date(2026, 9, 30), dt.date(2026, 9, 30), dt.date(2026, 9, 30),
                        dt.date(2026, 10, 31), dt.date(2026, 9, 30), dt.date(2026, 8, 31)],
        "first_action": [None, dt.date(2026, 10, 2), dt.date(2026, 10, 5), None, None, None, None],
        "actions": [0, 2, 1, 0, 0, 0, 0],
        "age_days": [0, 31, 31, 31, 0, 31, 61],
        "handling": ["pending", "handled_on_time", "handled_late", "overdue", "pending", "overdue", "overdue"],
        "escalation_due": [False, True, True, True, False, True, True],
    })
    assert_frame_equal(got, expected)
    summary = S.handling_summary(h)
    assert summary.filter(pl.col("level") == "orange").row(0, named=True) == {
        "level": "orange", "level_rank": 2, "warnings": 3, "handled_on_time": 1, "handled_late": 0, "overdue": 1,
        "pending": 1, "escalation_due": 2}
    con.close()


def test_portfolio_limits(con):
    lim = S.portfolio_limits(con, month=OCT)
    assert lim["code"].to_list() == ["npl_ratio", "deviation", "coverage", "roll_c_m1", "roll_m1_m2", "vintage_30"]
    row = dict(zip(lim["code"], lim["value"], strict=True))
    assert row["npl_ratio"] == 0.0  # every booked class is 正常 in the fixture
    # C->M1 in Oct: A (1000) of the current loans in Sep: A,D? no — current in Sep: A,E,F,G,H,J (6000) -> 1000/6000
    assert row["roll_c_m1"] == pytest.approx(1000 / 6000)
    # M1->M2: B (1000) of Sep's M1 loans: B (1000) -> 1.0, above Sep's (C: 1000 of Aug M1 = C) -> 1.0: not above
    assert row["roll_m1_m2"] == pytest.approx(1.0)
    assert lim.filter(pl.col("code") == "roll_m1_m2")["breached"][0] is False


def test_pd_signals_by_hand():
    # pd_high: PD >= 0.20; pd_up: PD >= 2 x last month's PD and PD >= 0.05
    rules = R.default_rules()
    base = {c: False for c in S.SQL_SIGNALS}
    rows = [("P1", 0.25, 0.24), ("P2", 0.10, 0.04), ("P3", 0.04, 0.01), ("P4", 0.10, None), ("P5", 0.10, 0.06)]
    df = pl.DataFrame([{"month": OCT, "loan_id": k, "pd": p, "pd_prev": q, "dpd": 0, "rule_rank": None,
                        "collateral_value": None, "balance": 1.0, "due_3": None, "paid_3": None, "due_prior": None,
                        "paid_prior": None, **{f"f_{c}": v for c, v in base.items()}} for k, p, q in rows],
                      schema_overrides={"rule_rank": pl.Int8, "dpd": pl.Int32, "collateral_value": pl.Float64,
                                        "due_3": pl.Float64, "paid_3": pl.Float64, "due_prior": pl.Float64,
                                        "paid_prior": pl.Float64, "pd_prev": pl.Float64})
    out = S.finish(df, rules, with_pd=True).sort("loan_id")
    assert out.select("loan_id", "level").rows() == [("P1", "orange"), ("P2", "yellow")]
    assert out["reasons"].to_list() == [["pd_high"], ["pd_up"]]
    rules["signals"]["pd_high"]["threshold"] = 0.1
    out = S.finish(df, rules, with_pd=True).sort("loan_id")
    assert out["loan_id"].to_list() == ["P1", "P2", "P4", "P5"]
    assert out.filter(pl.col("loan_id") == "P2")["reasons"][0].to_list() == ["pd_high", "pd_up"]


def test_loan_ids_restrict(con):
    full = S.warnings(con, month=OCT).filter(pl.col("loan_id").is_in(["C", "G"])).sort("loan_id")
    some = S.warnings(con, month=OCT, loan_ids=("G", "C", "H")).sort("loan_id")
    assert_frame_equal(some, full)
