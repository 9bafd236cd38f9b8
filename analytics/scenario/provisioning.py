"""Provisioning scenarios: another rate scheme, or ECL = PD × LGD × EAD, against the app-wide scheme.

口径:
- Rates [CONV] (DOMAIN.md §1.6): provision = Σ class balance × rate (``metrics.provisioning``); presets 2002 PBOC
  1/2/25/50/100% and 2012 MoF 1.5/3/30/60/100%, or custom rates.
- ECL [ACC/CONV] (DOMAIN.md §4): single-period ECL = PD × LGD × EAD per loan, undiscounted; EAD = outstanding
  principal at the month end; stage 3 = DPD > 90 or booked NPL (PD = 1); stage 2 = DPD > 30 or 关注 (lifetime PD
  = 1 − (1 − PD12)^(T/12), T = remaining months to maturity, at least 12: a constant-hazard reading of the model's
  12-month PD); stage 1 = the rest (PD12 from the default-risk model). A loan the model could not score (and not
  in stage 3) gets the balance-weighted mean PD of the scored loans. LGD by guarantee type [ILLUS] (``LGD``).
- 拨备覆盖率 = provision ÷ NPL balance; 拨贷比 = provision ÷ total loans; regulatory bands (DOMAIN.md §1.5): coverage
  120%–150%, provision ratio 1.5%–2.5%, set bank by bank; ``band_*`` = ``below`` / ``within`` / ``above``.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.expr import safe_div
from analytics.core.schema import MONEY
from analytics.core.slice import MANAGED_SLICE_SQL, slice_params
from analytics.core.store import query
from analytics.metrics import portfolio
from analytics.metrics.provisioning import PBOC_2002, ProvisionRates, provision_expr
from analytics.scenario.compare import side_by_side

COVERAGE_BAND = (1.20, 1.50)
"""[REG] 拨备覆盖率 120%–150% (银监发〔2018〕7号)."""
PROVISION_RATIO_BAND = (0.015, 0.025)
"""[REG] 贷款拨备率 1.5%–2.5%."""
LGD = (("credit", 0.60), ("guarantee", 0.45), ("mortgage", 0.25), ("pledge", 0.35))
"""[ILLUS] LGD by guarantee type (credit = unsecured); a loan without a type is treated as unsecured."""
VALUES = ("total_balance", "npl_balance", "provision", "coverage", "provision_ratio")


def _band(col: str, band: tuple[float, float]) -> pl.Expr:
    low, high = band
    return (pl.when(pl.col(col).is_null()).then(None).when(pl.col(col) < low).then(pl.lit("below"))
            .when(pl.col(col) > high).then(pl.lit("above")).otherwise(pl.lit("within")))


def _ratios(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(safe_div("provision", "npl_balance").alias("coverage"),
                              safe_div("provision", "total_balance").alias("provision_ratio"))


def _with_total(by_branch: pl.DataFrame) -> pl.DataFrame:
    """Branch rows and a bank row (``branch_id`` = "total"), sums first, then the ratios."""
    total = by_branch.select(pl.lit("total").alias("branch_id"),
                             pl.col("total_balance", "npl_balance", "provision").sum())
    return _ratios(pl.concat([by_branch.select("branch_id", "total_balance", "npl_balance", "provision"), total]))


def rates_by_branch(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                    products: tuple[str, ...] = (), rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """Provision, coverage and provision ratio per branch and for the slice (row "total") with a rate scheme:
    the same quality cube and ``add_provisions`` as the overview and classification pages."""
    base = portfolio.quality_base(con, branches=branches, products=products, month_from=month, month_to=month)
    by_branch = portfolio.summarise(base, by=("branch_id",)).with_columns(provision_expr(rates))
    return _with_total(by_branch.with_columns(pl.col("provision").cast(pl.Float64)))


def compare_rates(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                  products: tuple[str, ...] = (), baseline: ProvisionRates = PBOC_2002,
                  scenario: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """Baseline | scenario | difference per branch and in total, with the regulatory band of each side. The key
    column is ``branch`` (a branch id, or "total" for the slice): not ``branch_id``, whose rows the app's scope filter
    would drop the total from (the slice itself is already limited to the user's branches)."""
    base = rates_by_branch(con, month=month, branches=branches, products=products, rates=baseline)
    scen = rates_by_branch(con, month=month, branches=branches, products=products, rates=scenario)
    return with_bands(side_by_side(base, scen, on=["branch_id"], values=list(VALUES))).rename({"branch_id": "branch"})


def with_bands(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        *(_band(f"coverage_{side}", COVERAGE_BAND).alias(f"coverage_band_{side}") for side in ("baseline", "scenario")),
        *(_band(f"provision_ratio_{side}", PROVISION_RATIO_BAND).alias(f"provision_ratio_band_{side}")
          for side in ("baseline", "scenario")))


# --- ECL ---------------------------------------------------------------------------------------------------

LOANS_SQL = """
SELECT s.loan_id, s.branch_id, l.product, s.outstanding_principal::DOUBLE AS balance, s.dpd, s.booked_class,
       l.guarantee_type,
       CASE WHEN l.maturity_date IS NULL THEN NULL
            ELSE (year(l.maturity_date) - year(s.month)) * 12 + month(l.maturity_date) - month(s.month) END
            ::INTEGER AS remaining_months
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month = $month AND s.status = 'active' AND """ + MANAGED_SLICE_SQL

LOANS_SCHEMA = {"loan_id": pl.String, "branch_id": pl.String, "product": pl.String, "balance": pl.Float64,
                "dpd": pl.Int32, "booked_class": pl.Int8, "guarantee_type": pl.String, "remaining_months": pl.Int32}


def stage_expr() -> pl.Expr:
    """IFRS 9 / CAS 22 stage from the backstops (DOMAIN.md §4.1) and the common class mapping [CONV]."""
    return (pl.when((pl.col("dpd") > 90) | (pl.col("booked_class") >= 3)).then(3)
            .when((pl.col("dpd") > 30) | (pl.col("booked_class") == 2)).then(2).otherwise(1).cast(pl.Int8)
            .alias("stage"))


def ecl_loans(loans: pl.DataFrame, *, lgd: tuple[tuple[str, float], ...] = LGD) -> pl.DataFrame:
    """Per loan: stage, PD used (12-month, lifetime or 1), LGD and ECL = PD × LGD × EAD.

    ``loans``: balance, dpd, booked_class, guarantee_type, remaining_months and ``pd`` (the model's 12-month PD;
    null when the loan was not scored)."""
    lgd_map = dict(lgd)
    scored = loans.filter(pl.col("pd").is_not_null())
    mean_pd = (scored["pd"] * scored["balance"]).sum() / scored["balance"].sum() if scored.height else 0.0
    pd12 = pl.col("pd").fill_null(mean_pd)
    years = pl.max_horizontal(pl.col("remaining_months").fill_null(12), pl.lit(12)).cast(pl.Float64) / 12
    return loans.with_columns(stage_expr()).with_columns(
        pl.when(pl.col("stage") == 3).then(1.0)
        .when(pl.col("stage") == 2).then(1.0 - (1.0 - pd12).pow(years))
        .otherwise(pd12).alias("pd_used"),
        pl.col("guarantee_type").fill_null("credit").replace_strict(lgd_map, default=lgd_map["credit"],
                                                                    return_dtype=pl.Float64).alias("lgd"),
    ).with_columns((pl.col("pd_used") * pl.col("lgd") * pl.col("balance")).alias("ecl"))


def ecl_by_branch_frame(loans: pl.DataFrame, *, lgd: tuple[tuple[str, float], ...] = LGD) -> pl.DataFrame:
    """ECL per branch and in total as ``provision``, with coverage and provision ratio."""
    per = ecl_loans(loans, lgd=lgd)
    by_branch = per.group_by("branch_id").agg(
        pl.col("balance").sum().alias("total_balance"),
        pl.col("balance").filter(pl.col("booked_class") >= 3).sum().alias("npl_balance"),
        pl.col("ecl").sum().round(2).alias("provision")).sort("branch_id")
    return _with_total(by_branch)


def ecl_inputs(con: duckdb.DuckDBPyConnection, *, model, month: dt.date, branches: tuple[str, ...] = (),
               products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The on-book loans of the slice at ``month`` with the model's 12-month PD (null when not scored): the slow
    part of ECL (scoring), read once per month and slice (through ``app_data.run_model``)."""
    from analytics.model import scoring

    return ecl_inputs_of(con, scoring.book_scores(con, month=month, model=model), month=month, branches=branches,
                         products=products)


def ecl_inputs_of(con: duckdb.DuckDBPyConnection, book: pl.DataFrame, *, month: dt.date,
                  branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """``ecl_inputs`` from the month's scored book (``scoring.book_scores``, the whole book: a loan managed in
    the slice gets its PD wherever it was booked)."""
    loans = query(con, LOANS_SQL, {"month": month, **slice_params(branches, products)}, LOANS_SCHEMA)
    return loans.join(book.select("loan_id", "pd"), on="loan_id", how="left")


def compare_ecl_frames(baseline: pl.DataFrame, inputs: pl.DataFrame, *,
                       lgd: tuple[tuple[str, float], ...] = LGD) -> pl.DataFrame:
    """Baseline (``rates_by_branch``) | scenario (ECL of ``ecl_inputs``) | difference, per branch and total: pure,
    so an LGD change costs no scoring."""
    scen = ecl_by_branch_frame(inputs, lgd=lgd)
    # the total again from the branch rows: a scoped caller's cache layer drops rows whose branch_id is not a branch
    baseline = _with_total(baseline.filter(pl.col("branch_id") != "total"))
    return with_bands(side_by_side(baseline, scen, on=["branch_id"], values=list(VALUES))).rename(
        {"branch_id": "branch"})


def compare_ecl(con: duckdb.DuckDBPyConnection, *, model, month: dt.date, branches: tuple[str, ...] = (),
                products: tuple[str, ...] = (), baseline: ProvisionRates = PBOC_2002,
                lgd: tuple[tuple[str, float], ...] = LGD) -> pl.DataFrame:
    """Baseline (the rate scheme) | scenario (ECL from the default-risk model) | difference, in one call."""
    s = {"month": month, "branches": branches, "products": products}
    return compare_ecl_frames(rates_by_branch(con, rates=baseline, **s), ecl_inputs(con, model=model, **s), lgd=lgd)


def ecl_stages(loans: pl.DataFrame, *, lgd: tuple[tuple[str, float], ...] = LGD) -> pl.DataFrame:
    """Balance, ECL and loans per stage (the 口径 table next to the ECL result)."""
    return (ecl_loans(loans, lgd=lgd).group_by("stage")
            .agg(pl.len().cast(pl.Int64).alias("total_count"), pl.col("balance").sum().alias("total_balance"),
                 pl.col("ecl").sum().alias("provision")).sort("stage")
            .with_columns(safe_div("provision", "total_balance").alias("provision_ratio"))
            .with_columns(pl.col("total_balance", "provision").round(2).cast(MONEY)))
