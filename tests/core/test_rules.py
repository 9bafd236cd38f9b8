import duckdb
import polars as pl
import pytest

from analytics.core import rules

# (dpd, tech_overdue) -> floor class under the 2023 rule
FLOOR_CASES = [
    (0, False, 1), (1, False, 2), (7, True, 1), (8, True, 2), (7, False, 2), (30, False, 2),
    (90, False, 2), (91, False, 3), (270, False, 3), (271, False, 4), (360, False, 4), (361, False, 5),
]


@pytest.mark.parametrize(("dpd", "tech", "expected"), FLOOR_CASES)
def test_floor_polars(dpd, tech, expected):
    df = pl.DataFrame({"dpd": [dpd], "tech_overdue": [tech]}).select(rules.floor_expr())
    assert df["floor_class"][0] == expected


def test_floor_sql_agrees_with_polars():
    frame = pl.DataFrame({"dpd": [c[0] for c in FLOOR_CASES], "tech_overdue": [c[1] for c in FLOOR_CASES]})
    con = duckdb.connect()
    con.register("t", frame.to_arrow())
    sql_floor = con.sql("SELECT " + rules.FLOOR_SQL + " AS f FROM t", params=rules.DEFAULT_FLOOR.params()).pl()["f"]  # noqa: S608
    assert sql_floor.to_list() == [c[2] for c in FLOOR_CASES]


def test_floor_thresholds_are_parameters():
    rule = rules.FloorRule(substandard_after=60)
    df = pl.DataFrame({"dpd": [61], "tech_overdue": [False]}).select(rules.floor_expr(rule))
    assert df["floor_class"][0] == 3


BUCKET_DPD = [0, 1, 30, 31, 60, 61, 90, 91, 120, 121, 150, 151, 180, 181, 270, 271, 360, 361]


def _sql(expr: str) -> list[int]:
    con = duckdb.connect()
    con.register("t", pl.DataFrame({"dpd": BUCKET_DPD}).to_arrow())
    return con.sql("SELECT " + expr + " AS b FROM t").pl()["b"].to_list()  # noqa: S608


def test_m_buckets_boundaries():
    expected = [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 7, 7, 7]
    assert pl.DataFrame({"dpd": BUCKET_DPD}).select(rules.m_bucket_expr())["m_bucket"].to_list() == expected
    assert _sql(rules.M_BUCKET_SQL) == expected


def test_regulatory_bands_boundaries():
    expected = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 6, 6, 7]
    assert pl.DataFrame({"dpd": BUCKET_DPD}).select(rules.reg_band_expr())["reg_band"].to_list() == expected
    assert _sql(rules.REG_BAND_SQL) == expected


def test_bucket_bounds():
    assert rules.bucket_bounds(rules.M_BUCKET_EDGES, 0) == (0, 0)
    assert rules.bucket_bounds(rules.M_BUCKET_EDGES, 1) == (1, 30)
    assert rules.bucket_bounds(rules.M_BUCKET_EDGES, 7) == (181, None)
    assert rules.bucket_bounds(rules.REG_BAND_EDGES, 4) == (91, 180)


def test_tech_overdue_not_provided_grants_no_exemption():
    """A bank export without the technical-overdue flag (null): the floor comes from DPD alone (2 at DPD 3)."""
    from analytics.core.rules import DEFAULT_FLOOR, FLOOR_SQL, floor_expr

    df = pl.DataFrame({"dpd": [3, 3, 0], "tech_overdue": [None, True, None]}, schema={"dpd": pl.Int32,
                                                                                     "tech_overdue": pl.Boolean})
    assert df.select(floor_expr())["floor_class"].to_list() == [2, 1, 1]
    con = duckdb.connect()
    con.register("t", df.to_arrow())
    got = con.execute("SELECT " + FLOOR_SQL + " AS f FROM t", DEFAULT_FLOOR.params()).fetchall()  # noqa: S608
    assert [r[0] for r in got] == [2, 1, 1]
