"""Branch reduction assessment (压降考核, DOMAIN.md §6.1, §6.3): each branch's quarter against its targets, and a
configurable scorecard (weights, caps, difficulty coefficients, peer groups, veto, tiers).

口径 [CONV] per branch and quarter (opening = the previous quarter end, closing = the quarter's last month end,
or the latest month of an incomplete quarter; branches as in ``analytics.metrics.bridge``):

- closing overdue / NPL balance against their ceilings (``targets``); reduction = opening − closing, reduction
  rate = reduction ÷ opening;
- new overdue / new NPL = the ``new`` line of the overdue / NPL bridge; new NPL against its ceiling;
- cash recovered (现金清收, on-balance) = the NPL bridge's ``repaid`` + ``cash_recovered`` lines (positive);
  post-write-off recoveries are reported beside it, not in it;
- write-off used = principal written off in the quarter (all loans of the branch) against the quota;
- NPL ratio (balance) at the closing against its ceiling; ``ratio_fall_from_growth`` flags an NPL ratio that fell
  while the NPL balance did not (the ratio fell because loans grew).

Scorecard [ILLUS] (``DEFAULT_SCHEME``, saved and versioned with ``analytics.core.config``): each component's
score is 100 × attainment, capped at ``cap``: a ``ceiling`` (closing balance) scores target ÷ actual; a
``floor`` (cash) actual ÷ target; a ``quota`` (new NPL, write-off) scores 100 up to the quota and falls
proportionally above it (0 at twice the quota). Total = Σ weight × score ÷ Σ weight of the components that have a
target, × the branch's difficulty coefficient. Tier: reward ≥ ``tiers.reward``, pass ≥ ``tiers.pass``, else
penalty; the veto (NPL ratio above its ceiling) caps the tier at ``veto_tier``. Rank within the peer group (by
closing loan size terciles, by region, or none).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import polars as pl

from analytics.core.expr import safe_div
from analytics.core.months import add_months, quarter_start
from analytics.core.schema import MONEY, TARGETS
from analytics.core.slice import list_param
from analytics.core.store import months, query
from analytics.metrics import bridge
from analytics.metrics.provisioning import ProvisionRates

# Every target column but the quarter, named (``* EXCLUDE`` has no Apache Spark spelling: analytics.core.spark).
_TARGET_COLUMNS = ", ".join(c.name for c in TARGETS.columns if c.name != "quarter")
_TARGETS_SQL = f"SELECT {_TARGET_COLUMNS} FROM targets WHERE quarter = $quarter"  # noqa: S608 (contract names)

COMPONENTS = {
    # key: (actual column, target column, kind)
    "npl_balance": ("npl_closing", "npl_balance_target", "ceiling"),
    "overdue_balance": ("overdue_closing", "overdue_balance_target", "ceiling"),
    "new_npl": ("new_npl", "new_npl_ceiling", "quota"),
    "cash_recovery": ("cash_recovered", "cash_recovery_target", "floor"),
    "writeoff": ("writeoff_used", "writeoff_quota", "quota"),
}
TIERS = ("reward", "pass", "penalty")

DEFAULT_SCHEME: dict = {
    "name": "默认方案 / default scheme",
    "weights": {"npl_balance": 25, "overdue_balance": 15, "new_npl": 20, "cash_recovery": 30, "writeoff": 10},
    "cap": 1.2,
    "difficulty": {},  # branch_id -> coefficient, default 1.0
    "peer_groups": "size",  # "size" (closing loans terciles), "region", "none"
    "tiers": {"reward": 90, "pass": 70},
    "veto": True,  # NPL ratio above its ceiling caps the tier
    "veto_tier": "penalty",
}


def window(con: duckdb.DuckDBPyConnection, quarter: dt.date) -> dict[str, object]:
    """The quarter's opening and closing snapshots (closing = the latest month present for an incomplete quarter)."""
    status = bridge.quarter_status(con, quarter=quarter)
    close = status["close_month"] if status["complete"] else status["last_month"]
    return status | {"effective_close": close}


_TOTALS_SQL = """
SELECT """ + bridge.BRANCH_SQL + """ AS branch_id, s.month, coalesce(sum(s.outstanding_principal), 0) AS total_balance,
       count(*)::BIGINT AS total_count
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.status = 'active' AND s.month IN ($open_month, $close_month)
  AND (len($products) = 0 OR list_contains($products, l.product))
GROUP BY ALL
"""  # noqa: S608 (constant SQL fragments only)

_WRITEOFF_SQL = """
SELECT """ + bridge.BRANCH_SQL + """ AS branch_id, coalesce(sum(s.disposed_principal), 0) AS writeoff_used
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.status = 'written_off' AND s.month > $open_month AND s.month <= $close_month
  AND (len($products) = 0 OR list_contains($products, l.product))
GROUP BY ALL
"""  # noqa: S608 (constant SQL fragments only)

MEASURES_SCHEMA = {
    "branch_id": pl.String, "branch_name": pl.String, "region": pl.String,
    "total_opening": MONEY, "total_closing": MONEY,
    "overdue_opening": MONEY, "overdue_closing": MONEY, "overdue_reduction": MONEY, "overdue_reduction_rate": pl.Float64,
    "npl_opening": MONEY, "npl_closing": MONEY, "npl_reduction": MONEY, "npl_reduction_rate": pl.Float64,
    "npl_ratio_opening": pl.Float64, "npl_ratio_closing": pl.Float64, "overdue_ratio_closing": pl.Float64,
    "new_overdue": MONEY, "new_npl": MONEY, "cash_recovered": MONEY, "writeoff_used": MONEY,
    "writeoff_recovered": MONEY, "ratio_fall_from_growth": pl.Boolean,
    "overdue_balance_target": MONEY, "npl_balance_target": MONEY, "npl_ratio_ceiling": pl.Float64,
    "cash_recovery_target": MONEY, "new_npl_ceiling": MONEY, "writeoff_quota": MONEY,
}


def _line(b: pl.DataFrame, line: str, name: str) -> pl.DataFrame:
    return b.filter(pl.col("line") == line).select("branch_id", pl.col("amount").alias(name))


def quarter_bridges(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
                    products: tuple[str, ...] = ()) -> dict[str, pl.DataFrame]:
    """The quarter's overdue and NPL bridges by branch (empty dict when the quarter has no opening)."""
    w = window(con, quarter)
    if w["effective_close"] is None or not w["has_opening"]:
        return {}
    return {m: bridge.bridge(con, measure=m, open_month=w["open_month"], close_month=w["effective_close"],
                             branches=branches, products=products, by_branch=True) for m in bridge.BRIDGE_MEASURES}


def branch_measures(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
                    products: tuple[str, ...] = (), bridges: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """One row per branch: the quarter's measures of the module 口径 and the branch's targets (``bridges``:
    the quarter's ``quarter_bridges`` when the caller has them already)."""
    w = window(con, quarter)
    open_m, close_m = w["open_month"], w["effective_close"]
    if close_m is None or not w["has_opening"]:
        return pl.DataFrame(schema=MEASURES_SCHEMA)
    if bridges is None:
        bridges = quarter_bridges(con, quarter=quarter, branches=branches, products=products)
    od, npl = bridges["overdue"], bridges["npl"]
    totals = query(con, _TOTALS_SQL, {"open_month": open_m, "close_month": close_m, "products": list_param(products)},
                   {"branch_id": pl.String, "month": pl.Date, "total_balance": MONEY, "total_count": pl.Int64})
    tot = totals.group_by("branch_id").agg(
        pl.col("total_balance").filter(pl.col("month") == open_m).sum().cast(MONEY).alias("total_opening"),
        pl.col("total_balance").filter(pl.col("month") == close_m).sum().cast(MONEY).alias("total_closing"))
    wo = query(con, _WRITEOFF_SQL, {"open_month": open_m, "close_month": close_m, "products": list_param(products)},
               {"branch_id": pl.String, "writeoff_used": MONEY})
    rec = bridge.writeoff_recoveries(con, month_from=add_months(open_m, 1), month_to=close_m,
                                     branches=branches, products=products).select(
        "branch_id", pl.col("amount").alias("writeoff_recovered"))
    cash = npl.filter(pl.col("line").is_in(["repaid", "cash_recovered"])).group_by("branch_id").agg(
        (-pl.col("amount").sum()).cast(MONEY).alias("cash_recovered"))
    names = query(con, "SELECT branch_id, branch_name, region FROM branches",
                  schema={"branch_id": pl.String, "branch_name": pl.String, "region": pl.String})
    targets = query(con, _TARGETS_SQL, {"quarter": quarter_start(quarter)})
    keys = od.select("branch_id").unique()
    if branches:
        keys = keys.filter(pl.col("branch_id").is_in(list(branches)))
    df = keys
    for part in (_line(od, "opening", "overdue_opening"), _line(od, "closing", "overdue_closing"),
                 _line(npl, "opening", "npl_opening"), _line(npl, "closing", "npl_closing"),
                 _line(od, "new", "new_overdue"), _line(npl, "new", "new_npl"), cash, wo, rec, tot, names, targets):
        df = df.join(part, on="branch_id", how="left")
    money0 = ["overdue_opening", "overdue_closing", "npl_opening", "npl_closing", "new_overdue", "new_npl",
              "cash_recovered", "writeoff_used", "writeoff_recovered", "total_opening", "total_closing"]
    df = df.with_columns(pl.col(c).fill_null(0).cast(MONEY) for c in money0)
    for t in ("overdue_balance_target", "npl_balance_target", "cash_recovery_target", "new_npl_ceiling",
              "writeoff_quota", "npl_ratio_ceiling"):
        if t not in df.columns:
            df = df.with_columns(pl.lit(None).alias(t))
    return df.with_columns(
        (pl.col("overdue_opening") - pl.col("overdue_closing")).cast(MONEY).alias("overdue_reduction"),
        (pl.col("npl_opening") - pl.col("npl_closing")).cast(MONEY).alias("npl_reduction"),
        safe_div(pl.col("overdue_opening").cast(pl.Float64) - pl.col("overdue_closing").cast(pl.Float64),
                 "overdue_opening").alias("overdue_reduction_rate"),
        safe_div(pl.col("npl_opening").cast(pl.Float64) - pl.col("npl_closing").cast(pl.Float64),
                 "npl_opening").alias("npl_reduction_rate"),
        safe_div("npl_opening", "total_opening").alias("npl_ratio_opening"),
        safe_div("npl_closing", "total_closing").alias("npl_ratio_closing"),
        safe_div("overdue_closing", "total_closing").alias("overdue_ratio_closing"),
    ).with_columns(
        ((pl.col("npl_ratio_closing") < pl.col("npl_ratio_opening"))
         & (pl.col("npl_closing") >= pl.col("npl_opening"))).fill_null(False).alias("ratio_fall_from_growth"),
    ).select([pl.col(c).cast(t) for c, t in MEASURES_SCHEMA.items()]).sort("branch_id")


def _component_score(actual: str, target: str, kind: str, cap: float) -> pl.Expr:
    a, t = pl.col(actual).cast(pl.Float64), pl.col(target).cast(pl.Float64)
    if kind == "ceiling":
        attainment = pl.when(a <= 0).then(cap).otherwise(t / a)
    elif kind == "floor":
        attainment = pl.when(t <= 0).then(cap).otherwise(a / t)
    else:  # quota: full up to the quota, proportional deduction above it (0 at twice the quota)
        attainment = pl.when(t <= 0).then(pl.when(a <= 0).then(1.0).otherwise(0.0)).otherwise(
            1.0 - pl.max_horizontal(a - t, pl.lit(0.0)) / t)
    return (pl.when(t.is_null()).then(None).otherwise(
        pl.min_horizontal(pl.max_horizontal(attainment, pl.lit(0.0)), pl.lit(cap)) * 100.0))


def _peer_group(kind: str) -> pl.Expr:
    if kind == "region":
        return pl.col("region").fill_null("—")
    if kind == "size":
        rank = pl.col("total_closing").cast(pl.Float64).rank("ordinal", descending=True)
        n = pl.len()
        return (pl.when(rank <= (n / 3).ceil()).then(pl.lit("large"))
                .when(rank <= (2 * n / 3).ceil()).then(pl.lit("medium")).otherwise(pl.lit("small")))
    return pl.lit("all")


def scorecard(measures: pl.DataFrame, scheme: dict | None = None) -> pl.DataFrame:
    """Component scores (``score_<key>``), total, tier, veto, peer group and rank for each branch."""
    s = DEFAULT_SCHEME | (scheme or {})
    weights = {k: float(v) for k, v in s["weights"].items() if k in COMPONENTS and float(v) > 0}
    cap = float(s["cap"])
    scores = [_component_score(*COMPONENTS[k], cap).alias(f"score_{k}") for k in COMPONENTS]
    df = measures.with_columns(scores)
    num = pl.sum_horizontal([pl.col(f"score_{k}").fill_null(0) * w for k, w in weights.items()])
    den = pl.sum_horizontal([pl.when(pl.col(f"score_{k}").is_not_null()).then(w).otherwise(0.0)
                             for k, w in weights.items()])
    difficulty = pl.col("branch_id").replace_strict({k: float(v) for k, v in s["difficulty"].items()},
                                                    default=1.0, return_dtype=pl.Float64)
    veto = (pl.lit(bool(s["veto"])) & (pl.col("npl_ratio_closing") > pl.col("npl_ratio_ceiling"))).fill_null(False)
    tiers = s["tiers"]
    order = {t: i for i, t in enumerate(TIERS)}
    df = df.with_columns(difficulty.alias("difficulty"), (safe_div(num, den) * difficulty).alias("score"),
                         veto.alias("veto"), _peer_group(s["peer_groups"]).alias("peer_group"))
    raw_tier = (pl.when(pl.col("score") >= tiers["reward"]).then(pl.lit("reward"))
                .when(pl.col("score") >= tiers["pass"]).then(pl.lit("pass")).otherwise(pl.lit("penalty")))
    capped = pl.when(pl.col("veto") & (raw_tier.replace_strict(order, return_dtype=pl.Int8)
                                       < order[s["veto_tier"]])).then(pl.lit(s["veto_tier"])).otherwise(raw_tier)
    return df.with_columns(
        pl.when(pl.col("score").is_null()).then(None).otherwise(capped).alias("tier"),
        pl.col("score").rank("min", descending=True).over("peer_group").cast(pl.Int32).alias("peer_rank"),
        pl.col("score").rank("min", descending=True).cast(pl.Int32).alias("rank"),
    ).sort("rank", "branch_id", nulls_last=True)


def branch_assessment(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
                      products: tuple[str, ...] = (), scheme_json: str = "") -> pl.DataFrame:
    """``scorecard(branch_measures(...))``; the scheme as JSON text (hashable for the cache; "" = default)."""
    measures = branch_measures(con, quarter=quarter, branches=branches, products=products)
    return scorecard(measures, json.loads(scheme_json) if scheme_json else None)


def latest_quarter(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    present = months(con)
    return quarter_start(present[-1]) if present else None


TILES_SCHEMA = {"kpi": pl.String, "value": pl.Float64, "target": pl.Float64, "previous": pl.Float64,
                "kind": pl.String, "better": pl.String}


def _bank(measures: pl.DataFrame) -> dict[str, float | None]:
    if measures.is_empty():
        return {}
    s = {c: float(measures[c].cast(pl.Float64).sum()) for c in (
        "overdue_closing", "npl_closing", "total_closing", "new_npl", "cash_recovered", "overdue_balance_target",
        "npl_balance_target", "new_npl_ceiling", "cash_recovery_target")}
    weighted = measures.select((pl.col("npl_ratio_ceiling") * pl.col("total_closing").cast(pl.Float64)).sum()
                               / pl.col("total_closing").cast(pl.Float64).filter(pl.col("npl_ratio_ceiling").is_not_null()).sum())
    s["npl_ratio_ceiling"] = weighted.item() if measures["npl_ratio_ceiling"].null_count() < measures.height else None
    for t in ("overdue_balance_target", "npl_balance_target", "new_npl_ceiling", "cash_recovery_target"):
        if measures[t].null_count() == measures.height:
            s[t] = None
    total = s["total_closing"]
    s["overdue_ratio"] = s["overdue_closing"] / total if total else None
    s["npl_ratio"] = s["npl_closing"] / total if total else None
    return s


def _previous(con: duckdb.DuckDBPyConnection, measures: pl.DataFrame, quarter: dt.date, branches: tuple[str, ...],
              products: tuple[str, ...]) -> dict[str, float | None]:
    """The previous quarter's bank values: its closing is this quarter's opening; its new NPL and cash come from
    its own NPL bridge (one bridge, not the whole branch assessment)."""
    if measures.is_empty():
        return {}
    total = float(measures["total_opening"].cast(pl.Float64).sum())
    out = {"overdue_closing": float(measures["overdue_opening"].cast(pl.Float64).sum()),
           "npl_closing": float(measures["npl_opening"].cast(pl.Float64).sum())}
    out |= {"overdue_ratio": out["overdue_closing"] / total if total else None,
            "npl_ratio": out["npl_closing"] / total if total else None}
    w = window(con, quarter)
    if w["effective_close"] is not None and w["has_opening"]:
        npl = bridge.bridge(con, measure="npl", open_month=w["open_month"], close_month=w["effective_close"],
                            branches=branches, products=products)
        amount = dict(zip(npl["line"], npl["amount"].cast(pl.Float64), strict=True))
        out |= {"new_npl": amount["new"], "cash_recovered": -(amount["repaid"] + amount["cash_recovered"])}
    return out


def bank_tiles(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
               products: tuple[str, ...] = (), measures: pl.DataFrame | None = None,
               rates: ProvisionRates | None = None) -> pl.DataFrame:
    """The executive tiles for the quarter: value, target (bank = Σ branch targets; the NPL ratio ceiling
    weighted by closing loans) and the previous quarter's value. ``better`` says which way is good
    (``measures``: the quarter's ``branch_measures`` when the caller has them already; ``rates``: the provision
    scheme of the coverage tile, default the 2002 PBOC reference)."""
    from analytics.core.months import previous_quarter_end
    from analytics.metrics import portfolio
    from analytics.metrics.provisioning import PBOC_2002, add_provisions

    if measures is None:
        measures = branch_measures(con, quarter=quarter, branches=branches, products=products)
    now = _bank(measures)
    prev = _previous(con, measures, previous_quarter_end(quarter), branches, products)
    w = window(con, quarter)
    quality = add_provisions(portfolio.quality_by(con, branches=branches, products=products,
                                                  month_from=w["open_month"], month_to=w["effective_close"] or w["open_month"]),
                             rates or PBOC_2002)
    at = {r["month"]: r for r in quality.iter_rows(named=True)}
    close_q, open_q = at.get(w["effective_close"], {}), at.get(w["open_month"], {})
    rows = [
        ("overdue_balance", now.get("overdue_closing"), now.get("overdue_balance_target"), prev.get("overdue_closing"),
         "money", "lower"),
        ("overdue_ratio", now.get("overdue_ratio"), None, prev.get("overdue_ratio"), "pct", "lower"),
        ("npl_balance", now.get("npl_closing"), now.get("npl_balance_target"), prev.get("npl_closing"), "money", "lower"),
        ("npl_ratio", now.get("npl_ratio"), now.get("npl_ratio_ceiling"), prev.get("npl_ratio"), "pct", "lower"),
        ("new_npl", now.get("new_npl"), now.get("new_npl_ceiling"), prev.get("new_npl"), "money", "lower"),
        ("cash_recovered", now.get("cash_recovered"), now.get("cash_recovery_target"), prev.get("cash_recovered"),
         "money", "higher"),
        ("deviation", close_q.get("deviation_balance"), 1.0, open_q.get("deviation_balance"), "pct", "lower"),
        ("coverage", close_q.get("coverage"), None, open_q.get("coverage"), "pct", "higher"),
    ]
    return pl.DataFrame([dict(zip(TILES_SCHEMA, r, strict=True)) for r in rows], schema=TILES_SCHEMA)


def quarter_targets(con: duckdb.DuckDBPyConnection, *, quarter: dt.date) -> pl.DataFrame:
    """The targets of every branch for ``quarter`` (branches without a row get empty targets to fill in)."""
    from analytics.core.schema import TARGETS

    rows = query(con, "SELECT * FROM targets WHERE quarter = $quarter", {"quarter": quarter_start(quarter)},
                 TARGETS.polars_schema)
    ids = query(con, "SELECT branch_id FROM branches ORDER BY branch_id", schema={"branch_id": pl.String})
    return (ids.join(rows, on="branch_id", how="left")
            .with_columns(pl.lit(quarter_start(quarter)).alias("quarter"))
            .select(TARGETS.names).sort("branch_id"))


def store_months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return months(con)
