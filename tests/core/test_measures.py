"""Named measures: the SQL condition and the drill-down criteria select the same loans."""

import polars as pl
import pytest

from analytics.core import measures, store
from analytics.metrics import portfolio
from analytics.metrics.drilldown import DrillSpec, loans_behind
from tests.tiny import OCT, SEP, portfolio_store


@pytest.fixture()
def con(tmp_path):
    c = store.connect(portfolio_store(tmp_path))
    yield c
    c.close()


@pytest.mark.parametrize("name", list(measures.MEASURES))
def test_drill_criteria_list_the_loans_the_measure_counts(con, name):
    by_month = portfolio.quality_by(con)
    for month in (SEP, OCT):
        row = by_month.filter(pl.col("month") == month).row(0, named=True)
        loans = loans_behind(con, DrillSpec(month=month, **measures.drill_criteria(name)))
        assert loans.height == row[f"{name}_count"], (name, month)
        assert loans["outstanding_principal"].sum() == row[f"{name}_balance"], (name, month)


def test_unknown_measure_and_basis_are_named():
    with pytest.raises(KeyError, match="known: total"):
        measures.measure("npl90")
    with pytest.raises(ValueError, match="basis"):
        measures.column("npl", "bal")
    assert measures.column("npl_ratio", "count") == "npl_ratio_count"
