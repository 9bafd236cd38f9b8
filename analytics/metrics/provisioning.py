"""Simplified regulatory-style provisioning: Σ class balance × rate per class [CONV] (DOMAIN.md §1.6).

Not the bank's ECL allowance. 拨备覆盖率 ``coverage`` = provision ÷ NPL balance; 贷款拨备率
``provision_ratio`` = provision ÷ total loans (balance only: there is no count variant of money set aside).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.core.expr import safe_div
from analytics.core.schema import CLASSES, MONEY


@dataclass(frozen=True)
class ProvisionRates:
    """Provision rate per booked class (decimal)."""

    normal: float = 0.01
    special_mention: float = 0.02
    substandard: float = 0.25
    doubtful: float = 0.50
    loss: float = 1.00

    def by_class(self) -> dict[int, float]:
        return dict(zip(CLASSES, (self.normal, self.special_mention, self.substandard, self.doubtful, self.loss),
                        strict=True))


PBOC_2002 = ProvisionRates()
"""2002 PBOC reference schedule [CONV]: 1% general on 正常, 2 / 25 / 50 / 100% specific."""
MOF_2012 = ProvisionRates(0.015, 0.03, 0.30, 0.60, 1.00)
"""2012 MoF standard-method risk coefficients (一般准备), offered as an alternative preset."""
PROVISION_PRESETS = {"pboc2002": PBOC_2002, "mof2012": MOF_2012}


def provision_expr(rates: ProvisionRates = PBOC_2002) -> pl.Expr:
    """Σ class balance × rate, rounded to the fen, as MONEY (needs ``class1_balance`` … ``class5_balance``)."""
    total = pl.sum_horizontal(pl.col(f"class{c}_balance").cast(pl.Float64) * rate
                              for c, rate in rates.by_class().items())
    return total.round(2).cast(MONEY).alias("provision")


def add_provisions(summary: pl.DataFrame, rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """Add ``provision``, ``coverage`` and ``provision_ratio`` to a frame summed by ``portfolio.summarise``."""
    return summary.with_columns(provision_expr(rates)).with_columns(
        safe_div("provision", "npl_balance").alias("coverage"),
        safe_div("provision", "total_balance").alias("provision_ratio"),
    )


# --- the app-wide scheme ---------------------------------------------------------------------------------
# Saved by the scenario page as the versioned configuration ``provision_scheme`` (analytics.core.config); every
# page showing 拨备覆盖率 / 拨贷比 (overview, classification, executive summary and its pack) reads it, so the
# same coverage is shown everywhere. Until one is saved the 2002 PBOC reference rates apply.
SCHEME_CONFIG = "provision_scheme"
DEFAULT_SCHEME = {"preset": "pboc2002"}


def rates_of(scheme: dict | None) -> ProvisionRates:
    """The rates of a saved scheme: ``{"preset": "pboc2002" | "mof2012"}`` or ``{"preset": "custom",
    "rates": [normal, special_mention, substandard, doubtful, loss]}`` (decimals)."""
    scheme = scheme or DEFAULT_SCHEME
    preset = scheme.get("preset", "pboc2002")
    if preset == "custom":
        values = [float(v) for v in scheme.get("rates", ())]
        if len(values) != len(CLASSES) or any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError("a custom scheme needs 5 rates between 0 and 1")
        return ProvisionRates(*values)
    if preset not in PROVISION_PRESETS:
        raise ValueError(f"unknown provision preset {preset!r}")
    return PROVISION_PRESETS[preset]


def scheme_of(rates: ProvisionRates) -> dict:
    """The saved form of ``rates`` (a preset's name when it is one)."""
    for name, preset in PROVISION_PRESETS.items():
        if preset == rates:
            return {"preset": name}
    return {"preset": "custom", "rates": list(rates.by_class().values())}
