"""The before/after check: a dump compares equal to itself and a changed number is reported."""

from __future__ import annotations

import polars as pl

from analytics.tools import results_check


def test_dump_compares_equal_and_a_changed_number_is_caught(demo_root, tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    filters = results_check.default_filters(demo_root)
    n = results_check.dump(demo_root, before, filters)
    assert n > 50 and results_check.dump(demo_root, after, filters) == n
    assert results_check.compare(before, after) == []
    victim = sorted(after.glob("*roll_rates*.parquet"))[0]
    frame = pl.read_parquet(victim)
    frame.with_columns(pl.col("num_count") + 1).write_parquet(victim)
    (after / sorted(p.name for p in after.glob("*.parquet"))[0]).unlink()
    bad = results_check.compare(before, after)
    assert any(victim.name in b for b in bad) and any("only in" in b for b in bad)


def test_browserbench_names_the_apps_analysis_pages():
    import app
    import browserbench

    titles = {path: zh for path, zh, *_ in app.PAGES}
    assert all(titles[path] == title for path, title in browserbench.PAGES.items())
