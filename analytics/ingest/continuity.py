"""Month-to-month continuity of snapshots: loans that vanish and rows after a loan's exit.

These are warnings on import (the rows still load; see ``analytics.ingest.preparing``) and problems of a
stored book (``analytics.ingest.store_check``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from analytics.core import schema
from analytics.core.months import add_months_expr
from analytics.ingest.problems import FILE, ROW, has_columns, no_problems, templated, with_row_file


def continuity_problems(df: pl.DataFrame, months: Iterable[dt.date] | None = None) -> pl.DataFrame:
    """Snapshot rows that break month-to-month continuity, as a problems frame (uncapped).

    A loan leaves the book with exactly one exit row (status in ``schema.EXIT_STATUSES``) and has no
    rows after it. ``vanished``: a loan ``active`` at month t-1 with no row at month t, for consecutive
    months both present in ``df`` (row = the t-1 row). ``after_exit``: every row of a loan at a month
    later than its first exit row. With ``months``, only problems involving one of those months are
    reported (the importer passes the months of a file checked against its stored neighbours).
    ``df`` holds ``month``, ``loan_id``, ``status`` and optionally ``__row__`` / ``__file__``.
    """
    if df.is_empty() or not has_columns(df, "month", "loan_id", "status"):
        return no_problems()
    table = schema.SNAPSHOTS
    m = pl.col("month")
    df = with_row_file(df, None).select("month", "loan_id", "status", ROW, FILE).drop_nulls(
        ["month", "loan_id", "status"]).filter(m.dt.day() == 1)
    present = df["month"].unique()
    only = None if months is None else pl.Series(list(months), dtype=pl.Date).implode()
    ym = "%Y-%m"

    nxt = add_months_expr(m, 1)
    vanished = df.filter((pl.col("status") == "active") & nxt.is_in(present.implode())).join(
        df.select("loan_id", add_months_expr(m, -1)), on=["loan_id", "month"], how="anti")
    if only is not None:
        vanished = vanished.filter(m.is_in(only) | nxt.is_in(only))
    vanished = vanished.with_columns(
        message_zh=templated("vanished", m.dt.strftime(ym), nxt.dt.strftime(ym), "zh"),
        message_en=templated("vanished", m.dt.strftime(ym), nxt.dt.strftime(ym), "en"))

    exits = df.filter(pl.col("status").is_in(list(schema.EXIT_STATUSES))).sort("month").group_by("loan_id").agg(
        pl.col("month").first().alias("__exit"), pl.col("status").first().alias("__exit_status"))
    after = df.join(exits, on="loan_id").filter(m > pl.col("__exit"))
    if only is not None:
        after = after.filter(m.is_in(only) | pl.col("__exit").is_in(only))
    status = pl.col("__exit_status")
    after = after.with_columns(
        message_zh=templated("after_exit", pl.col("__exit").dt.strftime(ym),
                             status.replace_strict(schema.label_map("status", "zh"), default=status), "zh"),
        message_en=templated("after_exit", pl.col("__exit").dt.strftime(ym),
                             status.replace_strict(schema.label_map("status", "en"), default=status), "en"))

    def frame(hits: pl.DataFrame, rule: str) -> pl.DataFrame:
        return hits.select(
            pl.col(FILE).cast(pl.String).alias("file"), pl.lit(table.name).alias("table"),
            pl.col(ROW).cast(pl.Int64).alias("row"), pl.lit("loan_id").alias("column"),
            pl.col("loan_id").cast(pl.String).alias("value"), pl.lit(rule).alias("rule"), "message_zh", "message_en")

    return pl.concat([no_problems(), frame(vanished, "vanished"), frame(after, "after_exit")],
                     how="vertical").sort("rule", "file", "row", nulls_last=False, maintain_order=True)
