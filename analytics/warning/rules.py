"""The warning rule table: which signal gives which level (红 / 橙 / 黄 / 蓝), its parameters, and the escalation
time nodes of each level. Saved as versioned configuration ``warning_rules`` (``analytics.core.config``).

Levels follow the public warning colours (DOMAIN.md §7 [CONV]): red = most severe (rank 1), then orange, yellow,
blue (rank 4). A loan's level is the most severe level among its signals that fired; its reasons are those
signals, most severe first. All thresholds below are [ILLUS] defaults a bank replaces with its own.
"""

from __future__ import annotations

import copy
import json

LEVELS = ("red", "orange", "yellow", "blue")
RANK = {level: i + 1 for i, level in enumerate(LEVELS)}

THRESHOLDS = (91, 271, 361)
"""[REG] DOMAIN.md §1.2: DPD > 90 -> at least 次级, > 270 -> at least 可疑, > 360 -> 损失. Day 91 is the first NPL day."""

CONFIG_NAME = "warning_rules"

# signal -> its parameters (name -> default); the order is the order reasons are listed in at equal level.
SIGNALS: dict[str, dict[str, float]] = {
    "cross_91_soon": {"days": 7},       # DPD will reach 91 within `days` days if nothing is paid
    "cross_91": {"days": 30},           # ... within `days` days (and later than cross_91_soon's days)
    "cross_271": {"days": 30},          # DPD will reach 271 within `days` days
    "cross_361": {"days": 30},          # DPD will reach 361 within `days` days
    "roll_m1_m2": {},                   # M1 (DPD 1-30) last month -> M2 (31-60) this month
    "roll_c_m1": {},                    # current (DPD 0) last month -> M1 this month
    "missed_payment": {},               # amount paid < amount due this month (with something due)
    "ltv_high": {"limit": 0.8},         # outstanding / current collateral value > limit
    "restructured": {},                 # restructured flag set
    "pay_ratio_fall": {"drop": 0.2},    # paid/due of the last 3 months <= paid/due of the 3 before - drop
    "pd_high": {"threshold": 0.2},      # model PD >= threshold (only with a trained model)
    "pd_up": {"factor": 2.0, "min_pd": 0.05},  # PD >= factor x last month's PD and PD >= min_pd
}
MODEL_SIGNALS = ("pd_high", "pd_up")

DEFAULT_LEVELS = {
    "cross_91_soon": "red", "cross_91": "orange", "cross_271": "orange", "cross_361": "yellow",
    "roll_m1_m2": "orange", "roll_c_m1": "yellow", "missed_payment": "yellow", "ltv_high": "orange",
    "restructured": "yellow", "pay_ratio_fall": "blue", "pd_high": "orange", "pd_up": "yellow",
}

DEFAULT_TIME_NODES = {
    # respond_days: the first collection action is due within this many days of the warning;
    # escalate_days: a warning still open this many days after it was raised is due for escalation.
    "red": {"respond_days": 1, "escalate_days": 7},
    "orange": {"respond_days": 3, "escalate_days": 15},
    "yellow": {"respond_days": 7, "escalate_days": 30},
    "blue": {"respond_days": 15, "escalate_days": 60},
}

DEFAULT_PORTFOLIO = {
    "npl_ratio_max": 0.05,      # [REG] 2005 core indicator: NPL ratio <= 5%
    "deviation_max": 1.0,       # [REG-derived] 90+ DPD / NPL <= 100%
    "coverage_min": 1.5,        # [REG] 120%-150% set bank by bank; 150% = the top of the band (pre-2018 base)
    "range_months": 6,          # a roll rate / vintage rate above the max of the previous N months (cohorts)
    "vintage_mob": 6,           # vintage: ever 30+ rate at this MOB of the newest cohort reaching it
}


def default_rules() -> dict:
    return {
        "signals": {code: {"enabled": True, "level": DEFAULT_LEVELS[code], **params}
                    for code, params in SIGNALS.items()},
        "time_nodes": copy.deepcopy(DEFAULT_TIME_NODES),
        "portfolio": dict(DEFAULT_PORTFOLIO),
    }


class RuleError(ValueError):
    """A rule table that cannot be used; the message names the field."""


def _number(value: object, where: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleError(f"{where}: a number is required, got {value!r}")
    if value < minimum:
        raise RuleError(f"{where}: must be >= {minimum}, got {value!r}")
    return float(value)


def validate(rules: dict) -> dict:
    """The rule table completed with defaults for missing entries and checked; raises ``RuleError``."""
    if not isinstance(rules, dict):
        raise RuleError("the rule table must be an object")
    out = default_rules()
    for code, entry in (rules.get("signals") or {}).items():
        if code not in SIGNALS:
            raise RuleError(f"unknown signal {code!r}")
        if not isinstance(entry, dict):
            raise RuleError(f"signals.{code}: must be an object")
        merged = out["signals"][code] | entry
        if merged["level"] not in LEVELS:
            raise RuleError(f"signals.{code}.level: one of {LEVELS}, got {merged['level']!r}")
        merged["enabled"] = bool(merged["enabled"])
        for name in SIGNALS[code]:
            merged[name] = _number(merged[name], f"signals.{code}.{name}")
        unknown = set(merged) - {"enabled", "level", *SIGNALS[code]}
        if unknown:
            raise RuleError(f"signals.{code}: unknown parameter {sorted(unknown)[0]!r}")
        out["signals"][code] = merged
    for level, nodes in (rules.get("time_nodes") or {}).items():
        if level not in LEVELS:
            raise RuleError(f"time_nodes: unknown level {level!r}")
        merged = out["time_nodes"][level] | dict(nodes)
        for name in ("respond_days", "escalate_days"):
            merged[name] = int(_number(merged[name], f"time_nodes.{level}.{name}"))
        if merged["escalate_days"] < merged["respond_days"]:
            raise RuleError(f"time_nodes.{level}: escalate_days must be >= respond_days")
        out["time_nodes"][level] = merged
    for name, value in (rules.get("portfolio") or {}).items():
        if name not in DEFAULT_PORTFOLIO:
            raise RuleError(f"portfolio: unknown limit {name!r}")
        out["portfolio"][name] = _number(value, f"portfolio.{name}")
    for name in ("range_months", "vintage_mob"):
        out["portfolio"][name] = max(1, int(out["portfolio"][name]))
    return out


def parse(rules: str | dict | None) -> dict:
    """A rule table from JSON text (what the cached page calls pass), a dict, or None / "" (the defaults)."""
    if rules is None or rules == "":
        return default_rules()
    if isinstance(rules, str):
        try:
            rules = json.loads(rules)
        except ValueError as exc:
            raise RuleError(f"not valid JSON: {exc}") from exc
    return validate(rules)


def dumps(rules: dict) -> str:
    """Canonical JSON text of a rule table (hashable argument for cached calls)."""
    return json.dumps(validate(rules), sort_keys=True, ensure_ascii=False)


def rank(rules: dict, code: str) -> int | None:
    """The level rank a signal gives (None when the signal is disabled)."""
    entry = rules["signals"][code]
    return RANK[entry["level"]] if entry["enabled"] else None
