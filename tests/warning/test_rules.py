"""The warning rule table: defaults, validation errors naming the field, versioned saving."""

from __future__ import annotations

import json

import pytest

from analytics.core import config
from analytics.warning import rules as R


def test_defaults_complete():
    d = R.default_rules()
    assert list(d["signals"]) == list(R.SIGNALS)
    assert d["signals"]["cross_91_soon"] == {"enabled": True, "level": "red", "days": 7}
    assert R.validate({}) == d and R.parse("") == d and R.parse(None) == d
    assert R.rank(d, "cross_91_soon") == 1 and R.rank(d, "pay_ratio_fall") == 4
    assert R.parse(R.dumps(d)) == d


def test_partial_table_is_completed():
    r = R.validate({"signals": {"ltv_high": {"limit": 0.7}}, "portfolio": {"range_months": 3.7}})
    assert r["signals"]["ltv_high"] == {"enabled": True, "level": "orange", "limit": 0.7}
    assert r["portfolio"]["range_months"] == 3
    r = R.validate({"signals": {"restructured": {"enabled": False}}})
    assert R.rank(r, "restructured") is None


@pytest.mark.parametrize(("rules", "message"), [
    ({"signals": {"nope": {}}}, "unknown signal 'nope'"),
    ({"signals": {"ltv_high": {"level": "purple"}}}, "signals.ltv_high.level"),
    ({"signals": {"ltv_high": {"limit": "high"}}}, "signals.ltv_high.limit"),
    ({"signals": {"ltv_high": {"limit": -1}}}, "signals.ltv_high.limit"),
    ({"signals": {"ltv_high": {"cap": 1}}}, "unknown parameter 'cap'"),
    ({"time_nodes": {"red": {"respond_days": 9, "escalate_days": 3}}}, "escalate_days must be >="),
    ({"time_nodes": {"green": {}}}, "unknown level 'green'"),
    ({"portfolio": {"npl_max": 0.1}}, "unknown limit 'npl_max'"),
])
def test_errors_name_the_field(rules, message):
    with pytest.raises(R.RuleError, match=message):
        R.validate(rules)


def test_bad_json():
    with pytest.raises(R.RuleError, match="JSON"):
        R.parse("{not json")


def test_saved_versions(tmp_path):
    r = R.default_rules()
    assert config.save(tmp_path, R.CONFIG_NAME, r, note="defaults") == 1
    r["signals"]["missed_payment"]["level"] = "orange"
    assert config.save(tmp_path, R.CONFIG_NAME, R.validate(r), note="stricter") == 2
    version, data = config.load(tmp_path, R.CONFIG_NAME, {})
    assert version == 2 and R.validate(data)["signals"]["missed_payment"]["level"] == "orange"
    assert [h["note"] for h in config.history(tmp_path, R.CONFIG_NAME)] == ["stricter", "defaults"]
    assert (tmp_path / "_meta" / "config" / "warning_rules" / "v0001.json").exists()
    assert json.loads((tmp_path / "_meta/config/warning_rules/v0001.json").read_text())["data"] == R.default_rules()
