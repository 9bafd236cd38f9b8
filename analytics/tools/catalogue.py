"""The query catalogue: every analytics call a page makes through ``app_data.run`` / ``run_model``, by name,
with example arguments built from the store (its latest month and quarter, a loan with history).

It makes "every query" checkable: ``tests/core/test_spark_parity.py`` runs each entry on DuckDB and on
Spark ``local[2]`` over the same store and compares the results, records the SQL each engine ran
(``engine.recording``) and fails when a page calls a function that is not catalogued here (a scan of
``pages/*.py``). The benchmark (``analytics.tools.benchmark``) times the same calls per page.

``CALLS`` maps "module.function" (the page's call target; "module.function#variant" for other widget values
that run other SQL) to a function of the context returning the
keyword arguments (a ``DrillSpec`` goes in as ``spec``: ``loans_behind`` takes it positionally).
Functions that need a trained model are catalogued by the SQL they run (``model.features``): the
scoring around it is Python on the features frame.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from analytics.core import months as mo
from analytics.core import store

PageCall = Callable[["Context"], dict]


@dataclass(frozen=True)
class Context:
    month: dt.date
    first: dt.date  # the 36-month window's first month (what the pages default to)
    quarter: dt.date | None
    open_month: dt.date | None
    close_month: dt.date | None
    loan_id: str
    customer_id: str = ""
    branches: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


def context(con, *, sliced: bool = False) -> Context:
    """Example arguments from the store: its latest month, the latest complete quarter, an overdue loan; with
    ``sliced`` the sidebar filters set to the three largest branches and the largest product (bound list
    parameters, non-empty)."""
    from analytics.metrics import assessment

    month = store.months(con)[-1]
    quarter = assessment.latest_quarter(con)
    win = assessment.window(con, quarter) if quarter is not None else {}
    branches = products = ()
    if sliced:
        by = "SELECT {0}, count(*) AS n FROM loans GROUP BY {0} ORDER BY n DESC, {0} LIMIT {1}"
        branches = tuple(store.query(con, by.format("branch_id", 3))["branch_id"])
        products = tuple(store.query(con, by.format("product", 1))["product"])
    loan = store.query(con, "SELECT min(loan_id) AS loan_id FROM snapshots WHERE month = $month AND dpd > 0",
                       {"month": month})["loan_id"][0]
    customer = store.query(con, "SELECT customer_id FROM loans WHERE loan_id = $loan", {"loan": loan})["customer_id"][0]
    return Context(month=month, first=mo.window_start(month), quarter=quarter, open_month=win.get("open_month"),
                   close_month=win.get("effective_close"), loan_id=loan, customer_id=customer, branches=branches,
                   products=products)


_EMPTY = Context(month=dt.date(2026, 1, 1), first=dt.date(2023, 2, 1), quarter=dt.date(2026, 1, 1),
                 open_month=dt.date(2025, 12, 1), close_month=dt.date(2026, 3, 1), loan_id="")


def _s(c: Context) -> dict:
    return {"branches": c.branches, "products": c.products}


def _span(c: Context) -> dict:
    return {"month_from": c.first, "month_to": c.month, **_s(c)}


def _rates():
    from analytics.metrics.provisioning import ProvisionRates

    return ProvisionRates(normal=0.015, special_mention=0.03, substandard=0.3, doubtful=0.6, loss=1.0)


def _drill(c: Context) -> dict:
    from analytics.metrics.drilldown import DrillSpec

    return {"spec": DrillSpec(month=c.month, branches=c.branches, products=c.products, dpd_min=1)}


CALLS: dict[str, PageCall] = {
    # overview
    "analytics.metrics.portfolio.dimensions": lambda c: {},
    "analytics.metrics.portfolio.kpi_tiles": lambda c: {"month": c.month, **_s(c)},
    "analytics.metrics.portfolio.quality_by": lambda c: {"by": ("month",), **_span(c)},
    "analytics.metrics.coverage.not_provided": lambda c: {"month_from": c.first, "month_to": c.month},
    # classification
    "analytics.metrics.classification.quality_views": lambda c: {"month": c.month, **_s(c)},
    "analytics.metrics.classification.below_floor_by_branch": lambda c: {"month": c.month, **_s(c)},
    "analytics.metrics.classification.transition_base": lambda c: {
        "start_month": mo.add_months(c.month, -3), "end_month": c.month, **_s(c)},
    # aging
    "analytics.metrics.aging.aging_base": lambda c: {**_s(c), "month_from": c.month, "month_to": c.month},
    "analytics.metrics.aging.aging_trend_base": lambda c: _span(c),
    "analytics.metrics.aging.aging_report": lambda c: {"month": c.month, "scheme": "m", **_s(c)},
    # vintage, roll rates, trends, causes
    "analytics.metrics.vintage.vintage_curves": lambda c: {"grain": "month", "measure": "ever", "threshold": 30,
                                                           **_s(c)},
    "analytics.metrics.rollrate.roll_rates": lambda c: _s(c),
    "analytics.metrics.rollrate.roll_matrix": lambda c: {"month": c.month, **_s(c)},
    "analytics.metrics.trends.trend_series": lambda c: {"dimension": "total", **_span(c)},
    "analytics.metrics.causes.pareto": lambda c: {"month": c.month, "basis": "balance", **_s(c)},
    "analytics.metrics.causes.mix_over_time": lambda c: _span(c),
    "analytics.metrics.causes.cross_table": lambda c: {"month": c.month, "dimension": "branch", "basis": "balance",
                                                       **_s(c)},
    "analytics.metrics.causes.cause_qoq": lambda c: {"month": c.month, **_s(c)},
    # drill-down
    "analytics.metrics.drilldown.loans_behind": _drill,
    "analytics.metrics.drilldown.loan_history": lambda c: {"loan_id": c.loan_id},
    # executive summary (bridge, assessment, programme, collections review inside content.summary)
    "analytics.metrics.bridge.available_quarters": lambda c: {},
    "analytics.pack.content.summary": lambda c: {"quarter": c.quarter, **_s(c), "scheme_json": ""},
    "analytics.pack.content.collection_review": lambda c: {"quarter": c.quarter, **_s(c)},
    "analytics.metrics.bridge.bridge_loans": lambda c: {"measure": "npl", "open_month": c.open_month,
                                                        "close_month": c.close_month, **_s(c)},
    "analytics.metrics.assessment.quarter_targets": lambda c: {"quarter": c.quarter},
    "analytics.metrics.assessment.store_months": lambda c: {},
    # collections
    "analytics.metrics.collections.collectors": lambda c: {},
    "analytics.metrics.collections.action_months": lambda c: {},
    "analytics.metrics.collections.collection_kpis": lambda c: {"month_from": mo.add_months(c.month, -11),
                                                                "month_to": c.month, **_s(c)},
    "analytics.metrics.collections.recovery_by_bucket": lambda c: {"month_from": mo.add_months(c.month, -11),
                                                                   "month_to": c.month, **_s(c)},
    "analytics.metrics.collections.legal_vs_nonlegal": lambda c: {"month_from": mo.add_months(c.month, -11),
                                                                  "month_to": c.month, **_s(c)},
    "analytics.metrics.collections.resolution_times": lambda c: {"month_from": mo.add_months(c.month, -11),
                                                                 "month_to": c.month, **_s(c)},
    "analytics.metrics.collections.drill_actions": lambda c: {"month_from": mo.add_months(c.month, -2),
                                                              "month_to": c.month, **_s(c)},
    "analytics.metrics.collections.drill_cases": lambda c: {"month_from": mo.add_months(c.month, -2),
                                                            "month_to": c.month, **_s(c)},
    "analytics.metrics.collection_scorecard.collector_scorecard": lambda c: {
        "month_from": mo.add_months(c.month, -2), "month_to": c.month, **_s(c)},
    "analytics.metrics.collection_scorecard.target_attainment": lambda c: {
        "month_from": mo.add_months(c.month, -2), "month_to": c.month, **_s(c)},
    # early warning (without a model: the PD signals are the model's features, catalogued below)
    "analytics.warning.signals.centre": lambda c: {"month": c.month, **_s(c)},
    "analytics.warning.signals.warnings": lambda c: {"month": c.month, **_s(c)},
    "analytics.warning.signals.handling_status": lambda c: {"month": c.month, **_s(c)},
    "analytics.warning.signals.portfolio_limits": lambda c: {"month": c.month, **_s(c)},
    "analytics.warning.signals.crossing_calendar": lambda c: {"month": c.month, **_s(c)},
    "analytics.warning.report.loan_report_data": lambda c: {"month": c.month, "loan_id": c.loan_id},
    "analytics.warning.backtest.backtest": lambda c: {"horizon": 3, "months": 6, **_s(c)},
    "analytics.warning.notices.notice_batch": lambda c: {"month": c.month, "loan_ids": (c.loan_id,),
                                                         "templates": json.dumps({}), **_s(c)},
    # scenarios (the analysts' what-ifs; the ECL inputs need a model: MODEL_CALLS)
    "analytics.scenario.provisioning.rates_by_branch": lambda c: {"month": c.month, **_s(c)},
    "analytics.scenario.provisioning.compare_rates": lambda c: {"month": c.month, "scenario": _rates(), **_s(c)},
    "analytics.scenario.classification.compare": lambda c: {"month": c.month, "npl_dpd": 60,
                                                            "product_dpd": (("credit_card", 30),), **_s(c)},
    "analytics.scenario.projection.compare": lambda c: {"month": c.month, "quarters": 2, "cure_pp": 0.05,
                                                        "current_m1_cut": 0.1, "writeoff_rate": 0.2,
                                                        "new_lending": 0.01, **_s(c)},
    "analytics.scenario.projection.by_branch": lambda c: {"month": c.month, "quarters": 2, **_s(c)},
    "analytics.scenario.projection.backtest": lambda c: {"horizon": 2, "origins": 3, **_s(c)},
    "analytics.scenario.warning.trade_off": lambda c: {"months": 6, **_s(c)},
    "analytics.scenario.capacity.compare": lambda c: {"month": c.month, "collectors": ((2, 1.0),), **_s(c)},
    "analytics.scenario.disposal.secured_npls": lambda c: {"month": c.month, **_s(c)},
    "analytics.scenario.disposal.observed_cure": lambda c: {"month": c.month, **_s(c)},
    # customer view (grading, blacklist, penalty interest, credit reporting, visits) on the default rules
    "analytics.customer.grading.grades": lambda c: {"month": c.month, **_s(c)},
    "analytics.customer.blacklist.listing": lambda c: {"month": c.month, **_s(c)},
    "analytics.customer.blacklist.warnings": lambda c: {"month": c.month, **_s(c)},
    "analytics.customer.penalty.owed": lambda c: {"month": c.month, **_s(c)},
    "analytics.customer.penalty.by_month": lambda c: {"month_from": mo.add_months(c.month, -11), "month_to": c.month,
                                                      **_s(c)},
    "analytics.customer.penalty.loan_months": lambda c: {"month_from": mo.add_months(c.month, -11),
                                                         "month_to": c.month, "loan_ids": (c.loan_id,), **_s(c)},
    "analytics.customer.credit_report.reportable_events": lambda c: {"month": c.month, **_s(c)},
    "analytics.customer.credit_report.histories": lambda c: {"month": c.month, "only_overdue": True, **_s(c)},
    "analytics.customer.view.find_customers": lambda c: {"text": c.customer_id[:-1], "month": c.month,
                                                         "branches": c.branches},
    "analytics.customer.view.customer_loans_with_pd": lambda c: {"customer_id": c.customer_id, "month": c.month,
                                                                 "branches": c.branches},
    "analytics.customer.view.customer_actions": lambda c: {"customer_id": c.customer_id, "month": c.month,
                                                           "branches": c.branches},
    "analytics.customer.view.customer_notices": lambda c: {"customer_id": c.customer_id, "month": c.month,
                                                           "branches": c.branches},
    "analytics.customer.view.customer_visits": lambda c: {"customer_id": c.customer_id, "month": c.month,
                                                          "branches": c.branches},
    "analytics.metrics.satisfaction.by_branch_quarter": lambda c: {"quarter_from": mo.add_months(c.quarter, -9),
                                                                   "quarter_to": c.quarter, "branches": c.branches},
    # other widget values that run other SQL (name#variant)
    "analytics.metrics.vintage.vintage_curves#pit": lambda c: {"grain": "quarter", "measure": "pit", "threshold": 90,
                                                               **_s(c)},
    "analytics.metrics.portfolio.quality_by#branch": lambda c: {"by": ("month", "branch_id", "product"), **_span(c)},
    "analytics.metrics.trends.trend_series#branch": lambda c: {"dimension": "branch", **_span(c)},
    "analytics.metrics.causes.cross_table#product": lambda c: {"month": c.month, "dimension": "product",
                                                               "basis": "count", **_s(c)},
    "analytics.metrics.collections.collection_kpis#team": lambda c: {"month_from": mo.add_months(c.month, -11),
                                                                     "month_to": c.month, "by": "team",
                                                                     "freq": "month", **_s(c)},
    # the default-risk model: its SQL (point-in-time features, targets); scoring is Python on these frames
    "analytics.model.features.features": lambda c: {"months": (mo.add_months(c.month, -1), c.month)},
    "analytics.model.features.targets": lambda c: {"months": (mo.add_months(c.month, -4),), "horizon": 3},
    # training (the model page's button): the sample size query (the sample itself: see docs/spark.md)
    "analytics.model.training.keep_per_mille": lambda c: {"months": [mo.add_months(c.month, -i) for i in range(3)],
                                                          "max_rows": 1000},
}

# Page calls that need a trained model: catalogued through the SQL they run (the features above).
MODEL_CALLS = {
    "analytics.model.scoring.pd_for_loans": "analytics.model.features.features",
    "analytics.model.scoring.pd_history": "analytics.model.features.features",
    "analytics.model.scoring.book_by_branch": "analytics.model.features.features",
    "analytics.model.scoring.expected_defaults_by_branch": "analytics.model.features.features",
    "analytics.scenario.provisioning.ecl_inputs": "analytics.model.features.features",
    # run_book: the month's scored book (the features above), then SQL of their own over the slice
    "analytics.model.scoring.book_frames": "analytics.model.features.features",
    "analytics.model.scoring.expected_defaults": "analytics.model.features.features",
    "analytics.scenario.provisioning.ecl_inputs_of": "analytics.model.features.features",
    "analytics.scenario.warning.pd_backtest": "analytics.model.features.features",  # and the backtest's DPD90_SQL
}


def function(name: str) -> Callable:
    module, _, attr = name.partition("#")[0].rpartition(".")
    return getattr(importlib.import_module(module), attr)


def sliceable(name: str) -> bool:
    """Whether the entry takes the sidebar's branch/product filters (a second parity run with them set)."""
    return "branches" in CALLS[name](_EMPTY) or "spec" in CALLS[name](_EMPTY)


def call(con, name: str, ctx: Context):
    """Run catalogue entry ``name`` on ``con`` with the context's example arguments."""
    kwargs = CALLS[name](ctx)
    spec = kwargs.pop("spec", None)
    fn = function(name)
    return fn(con, spec, **kwargs) if spec is not None else fn(con, **kwargs)
