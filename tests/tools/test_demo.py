"""The demo generator: contract, balance mechanics, collections, stories, determinism and writing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import schema, store
from analytics.core.months import from_index
from analytics.core.rules import DEFAULT_FLOOR
from analytics.tools import demo

LOANS, MONTHS, SEED, END = 3_000, 15, 42, dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return demo.generate(n_loans=LOANS, n_months=MONTHS, seed=SEED, end_month=END)


@pytest.fixture(scope="module")
def snaps(tables) -> pl.DataFrame:
    """Snapshots with the loan's attributes and the previous month's row (``prev_*``; null in a first row)."""
    prev_cols = ["outstanding_principal", "dpd", "booked_class", "restructured"]
    loans = tables["loans"].select("loan_id", "branch_id", "product", "origination_date", "principal")
    return (
        tables["snapshots"].join(loans, on="loan_id").sort("loan_id", "month")
        .with_columns(pl.col(c).shift().over("loan_id").alias(f"prev_{c}") for c in [*prev_cols, "month"])
    )


def _money_cols(table: schema.Table) -> list[str]:
    return [c.name for c in table.columns if c.dtype == schema.MONEY]


# --- contract -----------------------------------------------------------------------------------


def test_every_table_conforms_to_the_contract(tables):
    assert set(tables) == set(schema.TABLES)
    for name, table in schema.TABLES.items():
        assert tables[name].schema == table.polars_schema, name
        assert tables[name].height > 0, name


def test_keys_are_unique(tables):
    for name, table in schema.TABLES.items():
        assert not tables[name].select(table.key).is_duplicated().any(), name


def test_references_resolve(tables):
    for name, table in schema.TABLES.items():
        for column, target in table.references.items():
            ref_table, ref_column = target.split(".")
            values = tables[name][column].drop_nulls()
            assert values.is_in(tables[ref_table][ref_column].implode()).all(), (name, column)


def test_money_is_never_negative(tables):
    for name, table in schema.TABLES.items():
        for column in _money_cols(table):
            assert (tables[name][column].fill_null(0) >= 0).all(), (name, column)


def test_codes_are_allowed_and_ranges_respected(tables):
    for name, table in schema.TABLES.items():
        for c in table.columns:
            values = tables[name][c.name].drop_nulls()
            if c.allowed is not None:
                assert values.cast(pl.String).is_in([str(a) for a in c.allowed]).all(), (name, c.name)
            if c.min is not None and c.dtype != schema.MONEY:
                assert (values >= c.min).all(), (name, c.name)
            if c.max is not None:
                assert (values <= c.max).all(), (name, c.name)


def test_some_customers_hold_two_loans_at_one_branch_and_some_at_two(tables):
    per_customer = tables["loans"].group_by("customer_id").agg(pl.len(), pl.col("branch_id").n_unique())
    assert per_customer["len"].max() == 2
    pairs = per_customer.filter(pl.col("len") == 2)
    # most pairs at one branch (a card next to a mortgage); about 1 in 60 customers at two branches
    assert (pairs["branch_id"] == 1).sum() > (pairs["branch_id"] == 2).sum() > 0


def test_products_carry_consistent_terms(tables):
    loans = tables["loans"]
    housing = loans.filter(pl.col("product").is_in(["mortgage", "housing_fund"]))
    assert (housing["guarantee_type"] == "mortgage").all()
    assert housing["collateral_value"].null_count() == 0
    cards = loans.filter(pl.col("product") == "credit_card")
    assert (cards["repayment_method"] == "revolving").all() and (cards["guarantee_type"] == "credit").all()
    assert (loans.filter(pl.col("product") == "micro_sme")["repayment_method"] == "interest_only").all()
    unsecured = loans.filter(pl.col("guarantee_type").is_in(["credit", "guarantee"]))
    assert unsecured["collateral_value"].null_count() == unsecured.height


# --- balances and DPD ---------------------------------------------------------------------------


def test_overdue_principal_within_outstanding(tables):
    s = tables["snapshots"]
    assert (s["overdue_principal"] <= s["outstanding_principal"]).all()


def test_dpd_zero_exactly_when_nothing_is_overdue(tables):
    s = tables["snapshots"]
    nothing_overdue = (s["overdue_principal"] == 0) & (s["overdue_interest"] == 0)
    assert ((s["dpd"] == 0) == nothing_overdue).all()


def test_dpd_grows_by_the_month_or_falls(snaps):
    moved = snaps.filter(pl.col("prev_dpd").is_not_null()).with_columns(
        days=(pl.col("month").dt.offset_by("1mo") - pl.col("month")).dt.total_days())
    assert (moved["dpd"] <= moved["prev_dpd"] + moved["days"]).all()
    # nothing paid on an overdue loan that is not restructured: a full month more
    unpaid = moved.filter((pl.col("prev_dpd") > 0) & (pl.col("amount_paid") == 0)
                          & (pl.col("restructured") == pl.col("prev_restructured")))
    assert unpaid.height > 0
    assert (unpaid["dpd"] == unpaid["prev_dpd"] + unpaid["days"]).all()


def test_dpd_is_days_since_an_instalment_due_date(tables):
    """Month end minus DPD lands on the loan's due day (the day it was originated, at most the 25th)."""
    s = tables["snapshots"].filter(pl.col("dpd") > 0).join(tables["loans"], on="loan_id")
    oldest_due = pl.col("month").dt.month_end() - pl.duration(days=pl.col("dpd"))
    due_day = pl.min_horizontal(pl.col("origination_date").dt.day(), 25)
    assert s.select((oldest_due.dt.day() == due_day).all()).item()


def test_tech_overdue_only_for_short_technical_delays(tables):
    tech = tables["snapshots"].filter("tech_overdue")
    assert tech.height > 0
    assert tech["dpd"].is_between(1, 7).all()
    assert (tech["overdue_cause"] == "technical").all()


def test_balance_identity_holds_to_the_cent(tables):
    bridge = demo.balance_bridge(tables["snapshots"], tables["loans"]).join(
        tables["loans"].select("loan_id", "product"), on="loan_id")
    assert bridge.height == tables["snapshots"].height - tables["snapshots"]["loan_id"].n_unique()
    not_cards = bridge.filter(pl.col("product") != "credit_card")
    assert (not_cards["drawings"] == 0).all()
    assert (bridge["drawings"] >= 0).all()
    assert (bridge["principal_repaid"] >= 0).all() and (bridge["interest_paid"] >= 0).all()


def test_interest_is_previous_balance_times_monthly_rate():
    assert demo.monthly_interest(np.array([1_000_000]), np.array([0.06])).tolist() == [5_000]
    assert demo.monthly_interest(np.array([333]), np.array([0.045])).tolist() == [1]  # 1.24875 cents


def test_origination_month_starts_at_the_principal(snaps, tables):
    window_start = tables["snapshots"]["month"].min()
    first = snaps.filter(pl.col("prev_month").is_null() & (pl.col("origination_date") >= window_start))
    assert first.height > 0
    assert (first["month"] == first["origination_date"].dt.truncate("1mo")).all()
    assert (first["outstanding_principal"] == first["principal"]).all()
    assert (first["amount_paid"] == 0).all()


def test_loans_appear_in_consecutive_months(snaps):
    gap = snaps.filter(pl.col("prev_month").is_not_null()).select(
        (pl.col("prev_month").dt.offset_by("1mo") != pl.col("month")).any()).item()
    assert not gap


# --- exits ---------------------------------------------------------------------------------------


def test_every_exit_status_occurs(tables):
    assert set(tables["snapshots"]["status"].unique()) == set(schema.STATUSES)


def test_exited_loans_leave_the_book(snaps):
    exits = snaps.filter(pl.col("status") != "active")
    assert exits["loan_id"].is_unique().all()
    last = snaps.group_by("loan_id").agg(pl.col("month").max().alias("last"))
    exits = exits.join(last, on="loan_id")
    assert (exits["month"] == exits["last"]).all()
    assert (exits["outstanding_principal"] == 0).all() and (exits["overdue_principal"] == 0).all()


def test_disposals_remove_the_balance_at_exit_and_keep_dpd(snaps):
    disposals = snaps.filter(pl.col("status").is_in(list(schema.DISPOSAL_STATUSES)))
    assert (disposals["disposed_principal"] == disposals["prev_outstanding_principal"]).all()
    assert (disposals["amount_paid"] == 0).all()
    assert (disposals["dpd"] > 90).all() and (disposals["booked_class"] >= 2).all()
    write_offs = disposals.filter(pl.col("status") == "written_off")
    assert (write_offs["prev_dpd"] > 180).all()
    assert not write_offs["product"].is_in(["mortgage", "housing_fund"]).any()


def test_paid_off_rows_pay_the_last_principal(snaps):
    paid_off = snaps.filter(pl.col("status") == "paid_off")
    assert (paid_off["dpd"] == 0).all() and (paid_off["disposed_principal"] == 0).all()
    assert (paid_off["amount_paid"] >= paid_off["prev_outstanding_principal"]).all()


def test_active_rows_dispose_nothing(tables):
    active = tables["snapshots"].filter(pl.col("status") == "active")
    assert (active["disposed_principal"] == 0).all()


# --- causes, collectors and collection actions ----------------------------------------------------


def test_cause_and_collector_exactly_when_overdue(tables):
    s = tables["snapshots"]
    overdue = s["dpd"] > 0
    assert (s["overdue_cause"].is_not_null() == overdue).all()
    assert (s["collector_id"].is_not_null() == overdue).all()


def test_collector_belongs_to_the_loan_branch(tables):
    s = (tables["snapshots"].drop_nulls("collector_id").drop("branch_id")  # the origination branch's collectors
         .join(tables["loans"].select("loan_id", "branch_id"), on="loan_id")
         .join(tables["collectors"].select("collector_id", collector_branch="branch_id"), on="collector_id"))
    assert (s["branch_id"] == s["collector_branch"]).all()


def test_cause_is_kept_while_overdue(snaps):
    still = snaps.filter((pl.col("prev_dpd") > 0) & (pl.col("dpd") > 0)).with_columns(
        prev_cause=pl.col("overdue_cause"))
    prev = snaps.select("loan_id", month=pl.col("month").dt.offset_by("1mo"), prev_cause=pl.col("overdue_cause"))
    joined = still.drop("prev_cause").join(prev, on=["loan_id", "month"])
    assert (joined["overdue_cause"] == joined["prev_cause"]).all()


def test_causes_follow_the_product(tables):
    s = tables["snapshots"].filter(pl.col("dpd") > 0).join(tables["loans"].select("loan_id", "product"), on="loan_id")
    share = s.group_by(business=pl.col("product").is_in(["personal_business", "micro_sme"])).agg(
        (pl.col("overdue_cause") == "business_difficulty").mean().alias("share"))
    by_kind = dict(zip(share["business"], share["share"], strict=True))
    assert by_kind[True] > 3 * by_kind[False]


def test_collected_cash_equals_amount_paid(snaps, tables):
    """Per loan-month overdue at the previous month end; the first month's previous month is burn-in."""
    first = snaps["month"].min()
    overdue_before = snaps.filter((pl.col("prev_dpd") > 0) | (pl.col("month") == first)).select(
        "month", "loan_id", "amount_paid", worked=pl.col("prev_dpd") > 0)
    collected = tables["collection_actions"].group_by("month", "loan_id").agg(pl.col("amount_collected").sum())
    joined = overdue_before.join(collected, on=["month", "loan_id"], how="full", coalesce=True)
    assert joined["amount_paid"].null_count() == 0  # no actions on loans current at the previous month end
    worked = joined.filter("worked")
    unworked = worked.filter(pl.col("amount_collected").is_null())
    assert (unworked["amount_paid"] == 0).all()  # every overdue loan that paid is worked
    assert 0 < unworked.height < .15 * worked.height  # a few non-paying cases get no action in a month
    actioned = joined.drop_nulls("amount_collected")
    assert actioned.height > 0 and (actioned["amount_paid"] == actioned["amount_collected"]).all()


def test_actions_are_dated_inside_their_month(tables):
    a = tables["collection_actions"]
    assert (a["action_date"].dt.truncate("1mo") == a["month"]).all()
    cash = a.filter(pl.col("amount_collected") > 0)
    assert cash["outcome"].is_in(["partial_payment", "full_payment"]).all()
    promises = a.filter(pl.col("outcome") == "ptp")
    assert promises["promised_amount"].null_count() == 0 and (promises["promised_date"] > promises["action_date"]).all()
    assert a.filter(pl.col("outcome") != "ptp")["promised_amount"].null_count() == a.height - promises.height


def test_collectors_per_branch(tables):
    per_branch = tables["collectors"].group_by("branch_id").len()
    assert per_branch.height == len(demo.BRANCHES)
    assert per_branch["len"].is_between(4, 8).all()


def test_targets_cover_every_branch_and_quarter(tables):
    t = tables["targets"]
    months = tables["snapshots"]["month"]
    quarters = {dt.date(m.year, m.month - (m.month - 1) % 3, 1) for m in (months.min(), months.max())}
    assert t.height == t["quarter"].n_unique() * len(demo.BRANCHES)
    assert quarters <= set(t["quarter"])
    assert (t["npl_ratio_ceiling"] > 0).all() and (t["npl_ratio_ceiling"] < .1).all()


# --- classification and stories -------------------------------------------------------------------


def _floor(s: pl.DataFrame) -> pl.Series:
    return pl.Series(DEFAULT_FLOOR.classify(s["dpd"].to_numpy(), s["tech_overdue"].to_numpy()))


def test_booked_below_the_floor_only_in_the_misclassifying_branch(snaps):
    below = snaps.filter(pl.Series(snaps["booked_class"].to_numpy() < _floor(snaps).to_numpy()))
    assert below.height > 0
    assert set(below["branch_id"]) == {demo.MISCLASSIFYING_BRANCH}
    assert (below["dpd"] > 90).all() and (below["booked_class"] == 2).all()


def test_deviation_above_100_percent_only_in_that_branch(snaps):
    active = snaps.filter(pl.col("status") == "active")
    balances = active.group_by("branch_id", "month").agg(
        dpd90=pl.col("outstanding_principal").filter(pl.col("dpd") > 90).sum(),
        npl=pl.col("outstanding_principal").filter(pl.col("booked_class") >= 3).sum())
    above = balances.filter(pl.col("dpd90") > pl.col("npl"))
    assert set(above["branch_id"]) == {demo.MISCLASSIFYING_BRANCH}


def test_restructured_loans_capitalise_arrears_and_stay_special_mention(snaps):
    first = snaps.filter(pl.col("restructured") & ~pl.col("prev_restructured"))
    assert first.height > 0
    assert (first["dpd"] == 0).all() and (first["prev_dpd"] > 0).all()
    assert (first["outstanding_principal"] > first["prev_outstanding_principal"]).all()
    observed = snaps.join(first.select("loan_id", start=pl.col("month")), on="loan_id").filter(
        pl.col("month").is_between(pl.col("start"), pl.col("start").dt.offset_by("11mo")))
    assert (observed["booked_class"] >= 2).all()  # the observation period lasts a year


def test_cured_npl_loans_stay_npl_for_six_months(snaps):
    cured = snaps.filter((pl.col("dpd") == 0) & (pl.col("prev_dpd") > 0) & (pl.col("prev_booked_class") >= 3)
                         & (pl.col("status") == "active") & ~pl.col("restructured"))
    assert cured.height > 0
    assert (cured["booked_class"] >= 3).all()


def test_the_bad_vintage_is_worse_at_six_months_on_book(snaps):
    """Ever-30+ by MOB 6 of the quarterly cohorts originated in the window and observed that long."""
    story = demo.stories(MONTHS, END)
    index = lambda c: pl.col(c).dt.year() * 12 + pl.col(c).dt.month() - 1  # noqa: E731 - demo.month_index
    s = snaps.with_columns(orig=index("origination_date"), now=index("month"))
    first, last = s["now"].min(), s["now"].max()
    ever30 = (s.filter(pl.col("orig").is_between(first, last - 6) & (pl.col("now") - pl.col("orig") <= 6))
              .group_by("loan_id", "orig").agg((pl.col("dpd") > 30).any().alias("ever30"))
              .group_by(quarter=pl.col("orig") - pl.col("orig") % 3).agg(pl.col("ever30").mean()))
    bad = ever30.filter(pl.col("quarter") == story.bad_vintage[0])["ever30"].item()
    others = ever30.filter(pl.col("quarter") != story.bad_vintage[0])["ever30"]
    assert bad > 1.5 * others.median()


def test_stories_sit_inside_the_window():
    story = demo.stories(36, END)
    assert [from_index(m) for m in story.bad_vintage] == [dt.date(2024, 10, 1), dt.date(2024, 11, 1),
                                                                 dt.date(2024, 12, 1)]
    assert from_index(story.shock[0]) == dt.date(2025, 5, 1) and len(story.shock) == 6


# --- determinism, writing and the command line ------------------------------------------------------


def test_same_seed_same_book_other_seed_other_book(tables):
    again = demo.generate(n_loans=LOANS, n_months=MONTHS, seed=SEED, end_month=END)
    for name in schema.TABLES:
        assert_frame_equal(again[name], tables[name])
    other = demo.generate(n_loans=LOANS, n_months=MONTHS, seed=SEED + 1, end_month=END)
    assert not other["snapshots"].equals(tables["snapshots"])


def test_write_demo_writes_the_store_layout(tables, tmp_path):
    root = demo.write_demo(tmp_path / "data", tables)
    assert store.has_data(root)
    months = sorted(p.name for p in (root / "snapshots").iterdir())
    assert months[0] == "month=2025-08-01" and len(months) == MONTHS
    assert (root / "collection_actions" / "month=2026-10-01" / "part-0.parquet").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left behind
    con = store.connect(root)
    try:
        count = store.query(con, "SELECT count(*)::BIGINT AS n FROM snapshots")["n"].item()
    finally:
        con.close()
    assert count == tables["snapshots"].height


def test_streamed_store_has_the_same_files_as_the_in_memory_one(tables, tmp_path):
    """write_streamed (month by month, bounded memory) writes byte-identical base files to
    write_demo(generate(...)) for the same arguments, and the same derived tables."""
    import hashlib

    whole = demo.write_demo(tmp_path / "whole", tables)
    streamed = tmp_path / "streamed"
    rows = demo.write_streamed(streamed, n_loans=LOANS, n_months=MONTHS, seed=SEED, end_month=END)
    assert rows == {name: tables[name].height for name in schema.TABLES}

    def base_files(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in root.rglob("*.parquet") if p.relative_to(root).parts[0] not in store.BOOKKEEPING}

    assert base_files(whole) == base_files(streamed)
    assert len(base_files(whole)) == 4 + 3 * MONTHS  # 4 small tables; snapshots, actions, visits by month
    for name, spec in store.current_manifest(whole)["derived"].items():
        other = store.current_manifest(streamed)["derived"][name]
        assert len(spec["files"]) == len(other["files"])
        for a, b in zip(spec["files"], other["files"], strict=True):
            left, right = pl.read_parquet(whole / a), pl.read_parquet(streamed / b)
            assert_frame_equal(left.sort(pl.all()), right.sort(pl.all()))  # row order within a file is free


def test_write_demo_refuses_existing_data_unless_forced(tables, tmp_path):
    root = demo.write_demo(tmp_path / "data", tables)
    (root / "README.md").write_text("notes")
    with pytest.raises(FileExistsError):
        demo.write_demo(root, tables)
    demo.write_demo(root, tables, force=True)
    assert store.has_data(root) and (root / "README.md").read_text() == "notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_command_line_writes_and_reports(tmp_path, capsys):
    out = tmp_path / "store"
    assert demo.main(["--loans", "400", "--months", "4", "--seed", "3", "--end-month", "2025-06",
                      "--output", str(out)]) == 0
    assert "snapshots" in capsys.readouterr().out
    loaded = pl.read_parquet(out / "snapshots" / "**" / "*.parquet", hive_partitioning=True)
    assert loaded["month"].max() == dt.date(2025, 6, 1)
    assert demo.main(["--loans", "400", "--months", "4", "--output", str(out)]) == 1  # refuses without --force


def test_written_store_passes_the_validator(tables, tmp_path):
    from analytics.ingest.store_check import validate_store

    root = demo.write_demo(tmp_path / "data", tables)
    assert validate_store(root) == []


def test_demo_never_replaces_imported_data(tmp_path):
    root = tmp_path / "data"
    (root / "_meta").mkdir(parents=True)
    (root / "_meta" / "import_log.jsonl").write_text('{"change_id": "x"}\n')
    tables = demo.generate(n_loans=200, n_months=3, seed=1)
    with pytest.raises(FileExistsError, match="imported"):
        demo.write_demo(root, tables, force=True)
    assert demo.main(["--loans", "200", "--months", "3", "--output", str(root), "--force"]) == 1
    assert sorted(p.name for p in root.rglob("*")) == ["_meta", "import_log.jsonl"]


def test_managing_branch_is_the_loan_branch_except_moves_to_special_assets(tables):
    """The snapshot's managing branch is the loan's branch, or B99 for large NPL loans moved there, from the
    month after they first qualified and until they leave the book."""
    s = tables["snapshots"].join(tables["loans"].select("loan_id", origination="branch_id"), on="loan_id")
    assert set(tables["branches"]["branch_id"]) >= set(s["branch_id"])
    moved = s.filter(pl.col("branch_id") != pl.col("origination"))
    assert not moved.is_empty() and (moved["branch_id"] == demo.SPECIAL_ASSETS[0]).all()
    assert "B99" not in set(tables["loans"]["branch_id"])
    for loan_id in moved["loan_id"].unique().to_list():
        path = s.filter(pl.col("loan_id") == loan_id).sort("month")
        at = path["branch_id"].to_list()
        first = at.index("B99")
        assert all(b == "B99" for b in at[first:])  # managed there afterwards
        if first > 0:  # moved inside the window: the month before it was NPL with at least 50万元
            before = path.row(first - 1, named=True)
            assert before["booked_class"] >= 3
            assert before["outstanding_principal"] * 100 >= demo.SPECIAL_ASSETS_MIN_BALANCE
