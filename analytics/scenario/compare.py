"""Baseline | scenario | difference, the one shape every scenario returns."""

from __future__ import annotations

import polars as pl


def side_by_side(baseline: pl.DataFrame, scenario: pl.DataFrame, *, on: list[str], values: list[str]) -> pl.DataFrame:
    """Join the two frames on ``on``; for each value ``v``: ``v_baseline``, ``v_scenario``, ``v_diff`` (scenario −
    baseline; null when either side is null)."""
    b = baseline.select(*on, *(pl.col(v).cast(pl.Float64).alias(f"{v}_baseline") for v in values))
    s = scenario.select(*on, *(pl.col(v).cast(pl.Float64).alias(f"{v}_scenario") for v in values))
    joined = b.join(s, on=on, how="full", coalesce=True, maintain_order="left")
    return joined.select(*on, *(c for v in values for c in (
        pl.col(f"{v}_baseline"), pl.col(f"{v}_scenario"),
        (pl.col(f"{v}_scenario") - pl.col(f"{v}_baseline")).alias(f"{v}_diff"))))
