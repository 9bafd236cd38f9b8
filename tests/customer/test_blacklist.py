"""The blacklist: manual records (who, when, why; removal only with a reason), the rules, the list, screening
ids and the warning list it drives."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.core import store
from analytics.customer import blacklist as bl
from analytics.customer import grading as gr
from tests import tiny

AT = dt.datetime(2026, 11, 2, 9, 30)


def test_records_add_and_remove_need_a_reason():
    data = bl.add(bl.empty(), customer_id="K1", reason="伪造收入证明", who="steward", at=AT)
    assert data["records"] == [{"customer_id": "K1", "action": "add", "reason": "伪造收入证明", "who": "steward",
                                "at": "2026-11-02T09:30:00"}]
    with pytest.raises(bl.BlacklistError, match="already listed"):
        bl.add(data, customer_id="K1", reason="again", who="steward")
    with pytest.raises(bl.BlacklistError, match="reason"):
        bl.remove(data, customer_id="K1", reason="  ", who="steward")
    with pytest.raises(bl.BlacklistError, match="reason"):
        bl.add(bl.empty(), customer_id="K2", reason="", who="steward")
    later = bl.remove(data, customer_id="K1", reason="法院判决已履行", who="boss", at=AT)
    assert len(data["records"]) == 1 and len(later["records"]) == 2  # the old version is untouched
    assert bl.records_frame(later)["action"].to_list() == ["remove", "add"]  # newest first


def test_rule_hits():
    base = {"customer_id": "", "worst_dpd": 0, "cause": None, "refused": 0, "grade": "A"}
    f = pl.DataFrame([base | {"customer_id": "f", "cause": "fraud"},
                      base | {"customer_id": "w1", "worst_dpd": 95, "cause": "willingness"},
                      base | {"customer_id": "w2", "worst_dpd": 95, "refused": 2},
                      base | {"customer_id": "w3", "worst_dpd": 60, "refused": 5},        # not 90+ yet
                      base | {"customer_id": "d", "grade": "D"}])
    hits = bl.rule_hits(f, bl.default_rules())
    assert dict(zip(hits["customer_id"], hits["reasons"].to_list(), strict=True)) == {
        "f": ["fraud"], "w1": ["wilful"], "w2": ["wilful"]}
    with_d = bl.rule_hits(f, bl.validate({"grade_d": True, "wilful": {"min_dpd": 60}}))
    assert set(with_d["customer_id"]) == {"f", "w1", "w2", "w3", "d"}


OCT = dt.date(2026, 10, 1)


@pytest.fixture()
def con(tmp_path):
    loans = [{"loan_id": "L1", "customer_id": "K1", "branch_id": "B1"},
             {"loan_id": "L2", "customer_id": "K2", "branch_id": "B2"},
             {"loan_id": "L3", "customer_id": "K3", "branch_id": "B1"}]
    snaps = [{"month": OCT, "loan_id": "L1", "outstanding_principal": D("1000"), "dpd": 100,
              "overdue_cause": "fraud", "booked_class": 3},
             {"month": OCT, "loan_id": "L2", "outstanding_principal": D("2000"), "dpd": 120,
              "overdue_cause": "willingness", "booked_class": 3},
             {"month": OCT, "loan_id": "L3", "outstanding_principal": D("3000")}]
    tiny.write_store(tmp_path, loans, snaps)
    c = store.connect(tmp_path)
    yield c
    c.close()


def test_listing_rules_manual_and_removed(con):
    listed = bl.listing(con, month=OCT)
    assert listed.select("customer_id", "list_source", "reasons").rows() == [("K1", "rule", ["fraud"]),
                                                                         ("K2", "rule", ["wilful"])]
    data = bl.add(bl.empty(), customer_id="K3", reason="冒名贷款", who="steward", at=AT)
    data = bl.remove(data, customer_id="K2", reason="已核实为纠纷，非恶意", who="steward", at=AT)
    listed = bl.listing(con, month=OCT, records=bl.dumps_records(data))
    assert listed.select("customer_id", "list_source", "note", "listed_by").rows() == [
        ("K3", "manual", "冒名贷款", "steward"), ("K1", "rule", None, None)]
    assert bl.screening_ids(listed)["customer_id"].to_list() == ["K1", "K3"]
    # a B2 user sees neither K1 nor K3 (both at B1)
    assert bl.listing(con, month=OCT, records=bl.dumps_records(data), branches=("B2",)).is_empty()


def test_blacklist_and_grades_drive_the_warning_list(con):
    data = bl.add(bl.empty(), customer_id="K3", reason="冒名贷款", who="steward", at=AT)
    w = bl.warnings(con, month=OCT, records=bl.dumps_records(data))
    rows = {r["loan_id"]: r for r in w.iter_rows(named=True)}
    # K3's loan is current: no warning signal, but listed -> added at red with reason 'blacklisted'
    assert rows["L3"]["level"] == "red" and rows["L3"]["reasons"] == ["blacklisted"]
    assert rows["L1"]["blacklisted"] and rows["L1"]["level"] == "red" and rows["L1"]["grade"] == "D"
    assert rows["L1"]["reasons"][:2] == ["blacklisted", "grade_d"]
    assert rows["L2"]["grade"] == "C" and "grade_c" in rows["L2"]["reasons"]
    # without the grade levels the blacklist alone raises to its own level
    quiet = bl.dumps({"grade_levels": {"C": "blue", "D": "blue"}, "warning_level": "yellow"})
    w2 = bl.warnings(con, month=OCT, records=bl.dumps_records(data), blacklist_rules=quiet)
    assert dict(zip(w2["loan_id"], w2["level"], strict=True))["L3"] == "yellow"
    assert json.loads(bl.dumps({}))["warning_level"] == "red"
    assert gr.parse("")["lookback_months"] == 12
