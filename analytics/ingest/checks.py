"""Checks of one table against the data contract: strict parsing, per-column, key, reference, date and
snapshot-consistency rules, and ``validate_table``.

Every rule is vectorised Polars and reports each offending cell into a problems frame
(``analytics.ingest.problems``). ``problems_frame`` returns every problem (the importer uses it to
quarantine rows); ``validate_table`` returns a list of ``Problem`` capped per rule, with one summary line
giving the total when a rule breaks on more rows than shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import polars as pl

from analytics.core import schema
from analytics.core.contract_doc import dtype_text
from analytics.core.months import month_start_expr
from analytics.core.schema import TABLES, Column, Table
from analytics.ingest.problems import (
    MAX_ROWS_PER_RULE,
    ROW,
    Problem,
    cap,
    column_problem,
    dtype_names,
    has_columns,
    hits,
    message,
    no_problems,
    to_problems,
    value_text,
    with_row_file,
)

# --- strict parsing of text cells ------------------------------------------------

_TRUE = ("true", "1", "y", "yes", "t", "是")
_FALSE = ("false", "0", "n", "no", "f", "否")


def parse_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Strictly parse canonical text (ISO dates, plain numbers, true/false) to ``dtype``; failures are null.

    Canonical means what the importer produces after applying a mapping profile: no thousands
    separators, no units, ISO dates. Anything else stays unparsed and is reported, never guessed.
    """
    s = expr.str.strip_chars()
    if dtype == pl.String:
        return expr
    if dtype == pl.Date:
        ok = s.str.contains(r"^\d{4}-\d{2}-\d{2}$")
        return pl.when(ok).then(s.str.to_date("%Y-%m-%d", strict=False))
    if dtype == pl.Boolean:
        low = s.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
    if isinstance(dtype, pl.Decimal):
        ok = s.str.contains(rf"^-?\d+(\.\d{{1,{dtype.scale}}})?$")
        return pl.when(ok).then(s.cast(dtype, strict=False))
    if dtype.is_integer():
        ok = s.str.contains(r"^-?\d+$")
        return pl.when(ok).then(s.cast(dtype, strict=False))
    if dtype.is_float():
        ok = s.str.contains(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
        value = s.cast(dtype, strict=False)
        # 1e-400 is not 0 and 1e400 is not infinite: a value a float cannot hold is reported, not stored
        zero_text = s.str.contains(r"^-?(0*\.?0*)([eE][-+]?\d+)?$")
        fits = value.is_finite() & ((value != 0) | zero_text)
        return pl.when(ok & fits).then(value)
    return s.cast(dtype, strict=False)


# --- the checks ----------------------------------------------------------------------


def _coerce(df: pl.DataFrame, table: Table, file: str | None) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Cast present columns to their contract dtype, reporting parse failures and dtype mismatches."""
    out: list[pl.DataFrame] = []
    exprs = []
    for c in table.columns:
        if c.name not in df.columns or df.schema[c.name] == c.dtype:
            continue
        names = dtype_names(c.dtype)
        if df.schema[c.name] == pl.Null:  # an all-empty column: nothing to parse
            exprs.append(pl.col(c.name).cast(c.dtype))
        elif df.schema[c.name] == pl.String:
            parsed = parse_text(pl.col(c.name), c.dtype)
            blank = pl.col(c.name).str.strip_chars().eq("")
            failed = pl.col(c.name).is_not_null() & ~blank & parsed.is_null()
            out.append(hits(df, table, failed, "parse", c.name, pl.col(c.name), names))
            exprs.append(pl.when(blank).then(None).otherwise(parsed).cast(c.dtype).alias(c.name))
        else:
            expected = dtype_text(c.dtype)
            out.append(column_problem(table, file, "dtype", c.name, dtype_text(df.schema[c.name]),
                                       (expected, expected)))
            cast = pl.col(c.name).cast(c.dtype, strict=False)
            failed = pl.col(c.name).is_not_null() & cast.is_null()
            out.append(hits(df, table, failed, "parse", c.name, pl.col(c.name), names))
            exprs.append(cast)
    # Remember which cells were null in the source so a parse failure is not also reported as empty.
    nulls = [pl.col(c.name).is_null().alias(f"__null__{c.name}") for c in table.columns if c.name in df.columns]
    return df.with_columns(nulls).with_columns(exprs), out


def _column_rules(df: pl.DataFrame, table: Table, c: Column) -> list[pl.DataFrame]:
    col = pl.col(c.name)
    out = []
    if not c.nullable:
        out.append(hits(df, table, pl.col(f"__null__{c.name}"), "null", c.name, col))
    if c.allowed is not None:
        shown = "/".join(str(a) for a in c.allowed)
        out.append(hits(df, table, col.is_not_null() & ~col.is_in(list(c.allowed)), "allowed", c.name, col,
                         (shown, shown)))
    if c.min is not None:
        out.append(hits(df, table, col < c.min, "min", c.name, col, (f"{c.min:g}", f"{c.min:g}")))
    if c.max is not None:
        out.append(hits(df, table, col > c.max, "max", c.name, col, (f"{c.max:g}", f"{c.max:g}")))
    return out


def _key_rule(df: pl.DataFrame, table: Table) -> list[pl.DataFrame]:
    if not all(k in df.columns for k in table.key):
        return []
    key = list(table.key)
    dup = pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    value = pl.concat_str([value_text(pl.col(k)) for k in key], separator="|")
    zh = ",".join(table.column(k).zh for k in key)
    label = ",".join(key)
    frame = hits(df, table, dup, "duplicate_key", label, value)
    z, e = message("duplicate_key", zh, label)
    return [frame.with_columns(message_zh=pl.lit(z), message_en=pl.lit(e))]


def _reference_rules(df: pl.DataFrame, table: Table, known_keys: Mapping[str, object]) -> list[pl.DataFrame]:
    out = []
    for column, target in table.references.items():
        if column not in df.columns or target not in known_keys:
            continue
        known = known_keys[target]
        known = known if isinstance(known, pl.Series) else pl.Series(list(known), dtype=pl.String)
        t_name = target.split(".")[0]
        extra = (f"{TABLES[t_name].zh}（{t_name}）", t_name)
        col = pl.col(column)
        out.append(hits(df, table, col.is_not_null() & ~col.is_in(known.implode()), "reference", column, col, extra))
    return out


# [CONV] plausible snapshot / action months: not before MONTH_FLOOR, not after the current month (a month-end
# extract cannot be of a month that has not begun). 2999-12 would become the default month of every page.
MONTH_FLOOR = dt.date(1990, 1, 1)


def month_ceiling(today: dt.date | None = None) -> dt.date:
    return (today or dt.date.today()).replace(day=1)


def plausible_month(month: dt.date, today: dt.date | None = None) -> bool:
    return MONTH_FLOOR <= month <= month_ceiling(today)


# [CONV] relative to the data: months of a file and of the store form runs where consecutive months are at most
# MONTH_GAP months apart; the run holding the store's latest month (with an empty store: the run with most of the
# file's rows) is the data, and a file month in another run is implausible (a typo such as 2014-03 in a 2024 file,
# or 2026-10 loaded onto a store that ends 2024-06, or a back-dated 2015 block onto a 2024 store).
MONTH_GAP = 12


def _month_number(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def outlier_months(file_months: Mapping[dt.date, int], store_months: Iterable[dt.date] = (),
                   ) -> tuple[set[dt.date], tuple[dt.date, dt.date] | None]:
    """The file months (month -> rows) far from the data (see MONTH_GAP) and the first and last month of the
    data's run (None with no months). Only first-of-month dates in the absolute plausible range take part
    (the others are already row problems)."""
    ok = {m: n for m, n in file_months.items() if m.day == 1 and plausible_month(m)}
    stored = {m for m in store_months if m.day == 1 and plausible_month(m)}
    every = sorted(set(ok) | stored)
    if not every:
        return set(), None
    runs = [[every[0]]]
    for m in every[1:]:
        if _month_number(m) - _month_number(runs[-1][-1]) > MONTH_GAP:
            runs.append([m])
        else:
            runs[-1].append(m)
    if stored:
        latest = max(stored)
        main = next(run for run in runs if latest in run)
    else:
        main = max(runs, key=lambda run: (sum(ok.get(m, 0) for m in run), run[-1]))
    return {m for run in runs if run is not main for m in run if m in ok}, (main[0], main[-1])


def _date_rules(df: pl.DataFrame, table: Table, store_months: tuple[dt.date, ...] = ()) -> list[pl.DataFrame]:
    out = []
    if has_columns(df, "month"):
        m = pl.col("month")
        out.append(hits(df, table, m.dt.day() != 1, "month_not_first", "month", m))
        low, high = MONTH_FLOOR, month_ceiling()
        out.append(hits(df, table, (m < low) | (m > high), "month_range", "month", m,
                        (f"{low:%Y-%m} 至 {high:%Y-%m}（当前月份）", f"{low:%Y-%m} to {high:%Y-%m}, the current month")))
        if df.schema["month"] == pl.Date:
            counts = df.group_by("month").len().drop_nulls("month")
            far, run = outlier_months(dict(zip(counts["month"].to_list(), counts["len"].to_list(), strict=True)),
                                      store_months)
            if far:
                where_zh, where_en = ("库中与本文件", "the store and this file") if store_months else ("本文件", "this file")
                out.append(hits(df, table, m.is_in(sorted(far)), "month_outlier", "month", m.dt.strftime("%Y-%m"), (
                    f"{MONTH_GAP} 个月（{where_zh}的月份为 {run[0]:%Y-%m} 至 {run[1]:%Y-%m}）",
                    f"{MONTH_GAP} months away from the other months (those of {where_en} run from {run[0]:%Y-%m} "
                    f"to {run[1]:%Y-%m})")))
    if table.name == "targets" and has_columns(df, "quarter"):
        q = pl.col("quarter")
        out.append(hits(df, table, (q.dt.day() != 1) | ~q.dt.month().is_in([1, 4, 7, 10]), "quarter_not_first",
                         "quarter", q))
    if table.name == "loans" and has_columns(df, "origination_date", "maturity_date"):
        mask = pl.col("maturity_date") < pl.col("origination_date")
        value = pl.format("{} < {}", pl.col("maturity_date"), pl.col("origination_date"))
        out.append(hits(df, table, mask, "maturity_before_origination", "maturity_date", value))
    if table.name == "collection_actions" and has_columns(df, "month", "action_date"):
        mask = month_start_expr(pl.col("action_date")) != pl.col("month")
        out.append(hits(df, table, mask, "action_outside_month", "action_date", pl.col("action_date")))
    if table.name == "return_visits" and has_columns(df, "month", "visit_date"):
        mask = month_start_expr(pl.col("visit_date")) != pl.col("month")
        out.append(hits(df, table, mask, "visit_outside_month", "visit_date", pl.col("visit_date")))
    return out


def _snapshot_rules(df: pl.DataFrame, table: Table) -> list[pl.DataFrame]:
    if table.name != "snapshots":
        return []
    dpd, status = pl.col("dpd"), pl.col("status")
    op, oi, out_p, disp = (pl.col(n) for n in ("overdue_principal", "overdue_interest", "outstanding_principal",
                                                 "disposed_principal"))

    def fmt(*names: str) -> pl.Expr:
        return pl.concat_str([pl.lit(f"{n}=") + value_text(pl.col(n)) for n in names], separator=", ")

    checks = [
        (("dpd", "overdue_principal", "overdue_interest"), (dpd == 0) != ((op == 0) & (oi == 0)),
         "dpd_overdue_mismatch", "dpd"),
        (("overdue_principal", "outstanding_principal"), op > out_p, "overdue_exceeds_outstanding",
         "overdue_principal"),
        (("status", "dpd", "outstanding_principal"), (status == "paid_off") & ((dpd != 0) | (out_p != 0)),
         "paid_off_open", "status"),
        (("status", "outstanding_principal"), status.is_in(list(schema.EXIT_STATUSES)) & (out_p != 0),
         "exit_outstanding", "outstanding_principal"),
        (("status", "disposed_principal"), status.is_in(list(schema.DISPOSAL_STATUSES)) & ~(disp > 0).fill_null(False),
         "disposal_without_principal", "disposed_principal"),
        (("status", "disposed_principal"), (status == "active") & (disp != 0), "active_disposed",
         "disposed_principal"),
        (("tech_overdue", "dpd"), pl.col("tech_overdue") & ((dpd < 1) | (dpd > 7)), "tech_overdue_dpd",
         "tech_overdue"),
    ]
    return [hits(df, table, mask, rule, column, fmt(*cols)) for cols, mask, rule, column in checks if has_columns(df, *cols)]


def problems_frame(table_name: str, df: pl.DataFrame, *, file: str | None = None,
                   known_keys: Mapping[str, Iterable | pl.Series] | None = None,
                   store_months: Iterable[dt.date] = ()) -> pl.DataFrame:
    """Every problem of ``df`` against the contract of ``table_name`` (uncapped), as a frame.

    ``known_keys`` maps a referenced key ("branches.branch_id", "loans.loan_id",
    "collectors.collector_id") to the values that exist; references to keys not given are not checked.
    ``store_months`` are the table's months already in the store (the month plausibility is relative to them).
    """
    store_months = tuple(store_months)
    table = TABLES[table_name]
    df = with_row_file(df, file)
    missing = [c for c in table.columns if c.required and c.name not in df.columns]
    parts = [column_problem(table, file, "missing_column", c.name, None) for c in missing]
    df, parse_problems = _coerce(df, table, file)
    parts += parse_problems
    for c in table.columns:
        if c.name in df.columns:
            parts += _column_rules(df, table, c)
    parts += _key_rule(df, table)
    parts += _reference_rules(df, table, known_keys or {})
    parts += _date_rules(df, table, store_months)
    parts += _snapshot_rules(df, table)
    return pl.concat([no_problems(), *parts], how="vertical").sort(
        "rule", "column", "file", "row", nulls_last=False, maintain_order=True)


def typed(table_name: str, df: pl.DataFrame) -> pl.DataFrame:
    """``df`` cast to the contract dtypes exactly as the validator reads it (unparseable cells are null).

    Keeps the contract columns present and ``__row__``; used to load the rows that passed.
    """
    table = TABLES[table_name]
    out, _ = _coerce(with_row_file(df, None), table, None)
    return out.select([c for c in table.names if c in out.columns] + [ROW])


def validate_table(table_name: str, df: pl.DataFrame, *, file: str | None = None,
                   known_keys: Mapping[str, Iterable | pl.Series] | None = None,
                   max_rows_per_rule: int = MAX_ROWS_PER_RULE, store_months: Iterable[dt.date] = ()) -> list[Problem]:
    """Problems of one table (capped per rule; a ``too_many`` line carries the total)."""
    return to_problems(cap(problems_frame(table_name, df, file=file, known_keys=known_keys, store_months=store_months),
                           max_rows_per_rule))
