"""Disposal of secured NPLs: per loan and in total, the expected recovery (present value) of auction,
restructuring and transfer, and the best route per loan under the analyst's assumptions.

口径 [ILLUS] (every assumption is a parameter with the default named here; amounts in 元, discounting monthly at the
annual rate ``discount_rate``: PV = amount ÷ (1 + r)^(months / 12)):
- loans: on book at ``month``, booked NPL (次级/可疑/损失), guarantee type mortgage or pledge; collateral value = the
  snapshot's current value, else the value at origination; claim = outstanding principal.
- auction: net proceeds = collateral × (1 − haircut) − collateral × cost share, capped at the claim and floored at 0,
  received after ``auction_months``.
- restructuring: with probability p the loan cures and the claim is repaid over ``restructure_months`` (taken as
  received then); otherwise it is auctioned after that: PV = p × claim ÷ DF(T_r) + (1 − p) × auction proceeds ÷
  DF(T_r + T_a). p = observed: restructured NPL loans back to 正常/关注 with DPD 0 within 12 months of their first
  restructured NPL month (loans whose 12 months are complete), else ``cure_default`` when fewer than ``MIN_N`` were
  observed.
- transfer (批量转让): price = ``transfer_price`` × claim, received now.
- best route = the largest present value (ties: transfer, then auction, then restructuring: the quickest).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from analytics.core.schema import NPL_CLASSES
from analytics.core.slice import MANAGED_SLICE_SQL, slice_params
from analytics.core.store import query
from analytics.scenario.compare import side_by_side

ROUTES = ("transfer", "auction", "restructure")
MIN_N = 30  # [CONV] fewest restructured loans for the observed cure rate to be used


@dataclass(frozen=True)
class Assumptions:
    haircut: float = 0.30          # [ILLUS] auction discount to the collateral value
    cost_share: float = 0.05       # [ILLUS] legal, auction and tax costs, share of the collateral value
    auction_months: int = 18       # [ILLUS] months from now to the sale proceeds
    restructure_months: int = 12   # [ILLUS] months until a restructured loan has repaid / is known to fail
    cure_default: float = 0.30     # [ILLUS] cure probability when too few restructurings were observed
    transfer_price: float = 0.45   # [ILLUS] transfer price, share of the claim
    discount_rate: float = 0.05    # [ILLUS] annual discount rate


LOANS_SQL = """
SELECT s.loan_id, s.branch_id, l.product, l.guarantee_type, s.outstanding_principal::DOUBLE AS balance, s.dpd,
       coalesce(s.collateral_value, l.collateral_value)::DOUBLE AS collateral_value
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month = $month AND s.status = 'active' AND s.booked_class >= $npl_from
  AND l.guarantee_type IN ('mortgage', 'pledge') AND """ + MANAGED_SLICE_SQL + " ORDER BY s.loan_id"
LOANS_SCHEMA = {"loan_id": pl.String, "branch_id": pl.String, "product": pl.String, "guarantee_type": pl.String,
                "balance": pl.Float64, "dpd": pl.Int32, "collateral_value": pl.Float64}

CURE_SQL = """
WITH r AS (
    SELECT s.loan_id, min(s.month) AS m0 FROM snapshots s JOIN loans l USING (loan_id)
    WHERE s.restructured AND s.booked_class >= $npl_from AND """ + MANAGED_SLICE_SQL + """
    GROUP BY s.loan_id HAVING min(s.month) <= $last_start
)
SELECT count(DISTINCT r.loan_id)::BIGINT AS restructured,
       count(DISTINCT CASE WHEN c.loan_id IS NOT NULL THEN r.loan_id END)::BIGINT AS cured
FROM r LEFT JOIN snapshots c ON c.loan_id = r.loan_id AND c.month > r.m0
  AND c.month <= CAST(r.m0 + INTERVAL 12 MONTH AS DATE) AND c.status = 'active' AND c.dpd = 0 AND c.booked_class <= 2
"""  # noqa: S608 (constant fragments)


def observed_cure(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                  products: tuple[str, ...] = ()) -> dict[str, int]:
    """Restructured NPL loans (12 months complete by ``month``) and how many cured within 12 months."""
    from analytics.core.months import add_months

    row = query(con, CURE_SQL, {"npl_from": min(NPL_CLASSES), "last_start": add_months(month, -12),
                                **slice_params(branches, products)},
                {"restructured": pl.Int64, "cured": pl.Int64}).row(0, named=True)
    return {"restructured": row["restructured"] or 0, "cured": row["cured"] or 0}


def cure_probability(observed: dict[str, int], a: Assumptions) -> float:
    n = observed["restructured"]
    return observed["cured"] / n if n >= MIN_N else a.cure_default


def routes(loans: pl.DataFrame, a: Assumptions, *, cure: float) -> pl.DataFrame:
    """Per loan: auction proceeds, the present value of each route, and the best route."""
    def df(months: float) -> float:
        return (1 + a.discount_rate) ** (months / 12)

    proceeds = (pl.col("collateral_value").fill_null(0.0) * (1 - a.haircut - a.cost_share)).clip(lower_bound=0.0)
    proceeds = pl.min_horizontal(proceeds, pl.col("balance"))
    out = loans.with_columns(proceeds.alias("auction_proceeds")).with_columns(
        (pl.col("balance") * a.transfer_price).alias("pv_transfer"),
        (pl.col("auction_proceeds") / df(a.auction_months)).alias("pv_auction"),
        (cure * pl.col("balance") / df(a.restructure_months)
         + (1 - cure) * pl.col("auction_proceeds") / df(a.restructure_months + a.auction_months))
        .alias("pv_restructure"))
    best = pl.concat_list([pl.col(f"pv_{r}") for r in ROUTES]).list.arg_max()
    return out.with_columns(best.replace_strict(dict(enumerate(ROUTES)), return_dtype=pl.String).alias("best_route"),
                            pl.max_horizontal(*(pl.col(f"pv_{r}") for r in ROUTES)).alias("pv_best"))


def totals(per_loan: pl.DataFrame) -> pl.DataFrame:
    """One row per route (and "best": each loan by its best route): loans, claim, present value, recovery rate."""
    rows = [per_loan.select(pl.lit(r).alias("route"), pl.len().cast(pl.Int64).alias("total_count"),
                            pl.col("balance").sum().alias("total_balance"), pl.col(f"pv_{r}").sum().alias("pv"))
            for r in ROUTES]
    rows.append(per_loan.select(pl.lit("best").alias("route"), pl.len().cast(pl.Int64).alias("total_count"),
                                pl.col("balance").sum().alias("total_balance"), pl.col("pv_best").sum().alias("pv")))
    return pl.concat(rows).with_columns(
        pl.when(pl.col("total_balance") > 0).then(pl.col("pv") / pl.col("total_balance")).alias("recovery_rate"))


def secured_npls(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                 products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The secured NPL loans of the slice at ``month`` (claim, collateral value)."""
    return query(con, LOANS_SQL, {"month": month, "npl_from": min(NPL_CLASSES), **slice_params(branches, products)},
                 LOANS_SCHEMA)


def evaluate(loans: pl.DataFrame, seen: dict[str, int], assumptions: Assumptions = Assumptions()
             ) -> dict[str, pl.DataFrame]:
    """``totals``: per route, default assumptions (baseline) | the analyst's (scenario) | difference; ``loans``: per
    loan under the analyst's assumptions; ``best_mix``; ``cure``: the observed restructuring cure (n and cured).
    Pure: the page reads the loans and the observed cure once per slice and re-evaluates on every change."""
    base_a = Assumptions()
    base = totals(routes(loans, base_a, cure=cure_probability(seen, base_a)))
    per_loan = routes(loans, assumptions, cure=cure_probability(seen, assumptions))
    table = side_by_side(base, totals(per_loan), on=["route"], values=["pv", "recovery_rate"]).join(
        base.select("route", "total_count", "total_balance"), on="route")
    mix = per_loan.group_by("best_route").agg(pl.len().cast(pl.Int64).alias("total_count"),
                                             pl.col("balance").sum().alias("total_balance"))
    return {"totals": table, "loans": per_loan, "best_mix": mix.sort("best_route"),
            "cure": pl.DataFrame([{"restructured_count": seen["restructured"], "cured_count": seen["cured"],
                                   "cure_probability": cure_probability(seen, assumptions)}])}


def compare(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
            products: tuple[str, ...] = (), assumptions: Assumptions = Assumptions()) -> dict[str, pl.DataFrame]:
    """``evaluate`` on the slice's secured NPLs and observed cure (one call)."""
    s = {"month": month, "branches": branches, "products": products}
    return evaluate(secured_npls(con, **s), observed_cure(con, **s), assumptions)
