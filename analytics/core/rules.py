"""Shared rules: the regulatory floor by DPD and the DPD bucket schemes.

Each rule exists once, as SQL text with bound parameters (for DuckDB/Spark queries) and as a
Polars expression (for frames already in memory). Tests check that both agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class FloorRule:
    """2023 rule (DOMAIN.md §1.2): > 90 DPD ≥ 次级, > 270 ≥ 可疑, > 360 损失, any overdue ≥ 关注
    except a short (≤ 7 days) technical overdue. Thresholds are [REG]; they stay parameters only
    because the DPD count basis (day 0 vs day 1) differs by bank."""

    substandard_after: int = 90
    doubtful_after: int = 270
    loss_after: int = 360
    tech_grace_days: int = 7

    def params(self) -> dict[str, int]:
        return {f"floor_{k}": v for k, v in asdict(self).items()}

    def classify(self, dpd: np.ndarray, tech_overdue: np.ndarray) -> np.ndarray:
        """The floor class of each (dpd, tech_overdue) pair, for arrays (the demo generator's spelling)."""
        exempt = tech_overdue & (dpd <= self.tech_grace_days)
        return np.select([dpd > self.loss_after, dpd > self.doubtful_after, dpd > self.substandard_after,
                          (dpd >= 1) & ~exempt], [5, 4, 3, 2], 1).astype(np.int8)


DEFAULT_FLOOR = FloorRule()

# Needs columns dpd, tech_overdue; parameters from FloorRule.params(). A tech_overdue not provided (null) grants
# no exemption.
FLOOR_SQL = """CASE
    WHEN dpd > $floor_loss_after THEN 5
    WHEN dpd > $floor_doubtful_after THEN 4
    WHEN dpd > $floor_substandard_after THEN 3
    WHEN dpd >= 1 AND NOT (coalesce(tech_overdue, FALSE) AND dpd <= $floor_tech_grace_days) THEN 2
    ELSE 1 END"""


def floor_expr(rule: FloorRule = DEFAULT_FLOOR) -> pl.Expr:
    dpd = pl.col("dpd")
    return (
        pl.when(dpd > rule.loss_after).then(5)
        .when(dpd > rule.doubtful_after).then(4)
        .when(dpd > rule.substandard_after).then(3)
        .when((dpd >= 1) & ~(pl.col("tech_overdue").fill_null(False) & (dpd <= rule.tech_grace_days))).then(2)
        .otherwise(1)
        .cast(pl.Int8)
        .alias("floor_class")
    )


# Collection M-buckets (DOMAIN.md §2.2, [CONV]): 0 = M0/current, 1..6 = M1..M6 (30-day steps), 7 = M7+.
M_BUCKET_EDGES = (0, 30, 60, 90, 120, 150, 180)
M_BUCKET_LABELS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")
M_BUCKET_DPD = {0: "0", 1: "1-30", 2: "31-60", 3: "61-90", 4: "91-120", 5: "121-150", 6: "151-180", 7: ">180"}

M_BUCKET_SQL = """CASE
    WHEN dpd <= 0 THEN 0 WHEN dpd <= 30 THEN 1 WHEN dpd <= 60 THEN 2 WHEN dpd <= 90 THEN 3
    WHEN dpd <= 120 THEN 4 WHEN dpd <= 150 THEN 5 WHEN dpd <= 180 THEN 6 ELSE 7 END"""

# Regulatory aging bands of the 1104 S71 report (DOMAIN.md §2.3, [RPT]); 0 = not overdue.
REG_BAND_EDGES = (0, 30, 60, 90, 180, 270, 360)
REG_BAND_LABELS = ("未逾期", "≤30", "31-60", "61-90", "91-180", "181-270", "271-360", ">360")
REG_BAND_LABELS_EN = ("Current", "≤30", "31-60", "61-90", "91-180", "181-270", "271-360", ">360")

# Where a loan of a migration start month ended up (one rule for the migration cube and its inline fallback):
# its class at the end month if still on the book, else its first exit status in between ("missing" if it just
# disappeared); its end balance, and the part of its start balance that was reduced (all of it when it left).
# Columns used: st.start_bal, f.end_class, f.end_bal, x.exit_status.
MIGRATION_END_SQL = """CASE WHEN f.end_class IS NOT NULL THEN CAST(f.end_class AS VARCHAR)
                ELSE coalesce(x.exit_status, 'missing') END AS end_state,
           st.start_bal,
           coalesce(f.end_bal, 0) AS end_bal,
           CASE WHEN f.end_class IS NOT NULL THEN greatest(st.start_bal - f.end_bal, 0)
                ELSE st.start_bal END AS reduction_bal"""

REG_BAND_SQL = """CASE
    WHEN dpd <= 0 THEN 0 WHEN dpd <= 30 THEN 1 WHEN dpd <= 60 THEN 2 WHEN dpd <= 90 THEN 3
    WHEN dpd <= 180 THEN 4 WHEN dpd <= 270 THEN 5 WHEN dpd <= 360 THEN 6 ELSE 7 END"""


def bucket_expr(edges: tuple[int, ...], name: str) -> pl.Expr:
    """Index 0..len(edges) of the first edge that dpd does not exceed (len(edges) beyond the last)."""
    expr = pl.lit(len(edges), dtype=pl.Int8)
    for i, edge in reversed(list(enumerate(edges))):
        expr = pl.when(pl.col("dpd") <= edge).then(pl.lit(i, dtype=pl.Int8)).otherwise(expr)
    return expr.alias(name)


def m_bucket_expr() -> pl.Expr:
    return bucket_expr(M_BUCKET_EDGES, "m_bucket")


def reg_band_expr() -> pl.Expr:
    return bucket_expr(REG_BAND_EDGES, "reg_band")


def bucket_bounds(edges: tuple[int, ...], index: int) -> tuple[int, int | None]:
    """(dpd_min, dpd_max) of bucket ``index``; dpd_max None means open-ended."""
    if index == 0:
        return 0, 0
    low = edges[index - 1] + 1
    high = edges[index] if index < len(edges) else None
    return low, high
