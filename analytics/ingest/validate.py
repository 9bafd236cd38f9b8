"""One validation entry point: a table (or a whole store) checked against the data contract.

Every rule is vectorised Polars and reports each offending cell with its file, table, row,
column, value, rule code and a Chinese and English message. ``problems_frame`` returns every
problem (the importer uses it to quarantine rows); ``validate_table`` / ``validate_store``
return a list of ``Problem`` capped per rule, with one summary line giving the total when a
rule breaks on more rows than shown.

Rows are 1-based data rows (the first row under the header is row 1). A frame may carry its
own row numbers in a ``__row__`` column and its source file in ``__file__``.

``python -m analytics.ingest.validate [--data DIR]`` checks a store; ``--doc`` prints the contract
document (docs/data-contract.md is generated from it so it cannot drift from ``schema.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics.core import schema, store
from analytics.core.schema import TABLES, Column, Table

ROW = "__row__"
FILE = "__file__"
MAX_ROWS_PER_RULE = 200

PROBLEM_SCHEMA = pl.Schema({
    "file": pl.String,
    "table": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "rule": pl.String,
    "message_zh": pl.String,
    "message_en": pl.String,
})


@dataclass(frozen=True)
class Problem:
    file: str | None
    table: str
    row: int | None  # 1-based data row in the source; None for file- or column-level problems
    column: str | None
    value: str | None
    rule: str
    message_zh: str
    message_en: str


# rule code -> (zh, en) description; messages may use {col_zh} {col_en} {extra_zh} {extra_en}
RULES: dict[str, tuple[str, str]] = {
    "missing_column": ("缺少必需列「{col_zh}」", "Required column {col_en} is missing"),
    "dtype": ("列「{col_zh}」的数据类型不符，应为 {extra_zh}", "Column {col_en} has the wrong data type; expected {extra_en}"),
    "parse": ("「{col_zh}」无法识别为{extra_zh}", "{col_en} cannot be read as {extra_en}"),
    "null": ("必填项「{col_zh}」为空", "Required value {col_en} is empty"),
    "allowed": ("「{col_zh}」不是允许的取值（{extra_zh}）", "{col_en} is not an allowed value ({extra_en})"),
    "min": ("「{col_zh}」小于下限 {extra_zh}", "{col_en} is below the minimum {extra_en}"),
    "max": ("「{col_zh}」大于上限 {extra_zh}", "{col_en} is above the maximum {extra_en}"),
    "duplicate_key": ("主键（{col_zh}）重复：同一键值出现在多行", "Duplicate key ({col_en}): the same key is on several rows"),
    "reference": ("「{col_zh}」在{extra_zh}中不存在", "{col_en} is not found in {extra_en}"),
    "month_not_first": ("「{col_zh}」应为当月1日", "{col_en} must be the first day of a month"),
    "quarter_not_first": ("「{col_zh}」应为季度首日（1/4/7/10月1日）", "{col_en} must be the first day of a quarter"),
    "dpd_overdue_mismatch": ("逾期天数与逾期金额不一致：逾期天数为0当且仅当逾期本金和逾期利息均为0",
                             "DPD and overdue amounts disagree: DPD is 0 exactly when overdue principal and interest are 0"),
    "overdue_exceeds_outstanding": ("逾期本金大于本金余额", "Overdue principal exceeds outstanding principal"),
    "paid_off_open": ("状态为结清，但逾期天数或本金余额不为0", "Status is paid off but DPD or outstanding principal is not 0"),
    "exit_outstanding": ("已退出状态（结清/核销/转让/以物抵债）的本金余额应为0",
                         "An exited loan (paid off, written off, transferred, foreclosed) must have 0 outstanding principal"),
    "disposal_without_principal": ("核销/转让/以物抵债状态的处置本金应大于0",
                                   "A written-off, transferred or foreclosed loan must have disposed principal > 0"),
    "active_disposed": ("正常存续状态的处置本金应为0", "An active loan must have 0 disposed principal"),
    "tech_overdue_dpd": ("技术性短期逾期要求逾期天数在1至7天之间", "Technical short overdue requires 1 <= DPD <= 7"),
    "maturity_before_origination": ("到期日期早于放款日期", "Maturity date is before the origination date"),
    "action_outside_month": ("催收日期不在数据月份内", "Action date is outside the record's month"),
    "vanished": ("借据在 {col_zh} 为正常状态，{extra_zh} 却没有记录，也没有退出记录（结清/核销/转让/以物抵债）",
                 "The loan is active in {col_en} but has no row in {extra_en} and no exit row "
                 "(paid off, written off, transferred, foreclosed)"),
    "after_exit": ("借据已在 {col_zh} 退出（{extra_zh}），之后不应再有记录",
                   "The loan exited in {col_en} ({extra_en}) and must have no later rows"),
    "too_many": ("此规则共有 {extra_zh} 行不符，仅列出前 {col_zh} 行", "{extra_en} rows break this rule; only the first {col_en} are listed"),
}

_DTYPE_NAMES = {
    "String": ("文本", "text"),
    "Date": ("日期", "a date"),
    "Int32": ("整数", "an integer"),
    "Int8": ("整数", "an integer"),
    "Float64": ("数值", "a number"),
    "Boolean": ("是/否", "true/false"),
    "Decimal": ("金额（最多两位小数）", "an amount (at most 2 decimals)"),
}


def dtype_text(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.precision},{dtype.scale})"
    return str(dtype)


def dtype_names(dtype: pl.DataType) -> tuple[str, str]:
    return _DTYPE_NAMES.get(dtype.base_type().__name__, (str(dtype), str(dtype)))


def _message(rule: str, col_zh: str = "", col_en: str = "", extra_zh: str = "", extra_en: str = "") -> tuple[str, str]:
    zh, en = RULES[rule]
    kw = {"col_zh": col_zh, "col_en": col_en, "extra_zh": extra_zh, "extra_en": extra_en}
    return zh.format(**kw), en.format(**kw)


def _col_names(table: Table, name: str) -> tuple[str, str]:
    if name in table.names:
        c = table.column(name)
        return f"{c.zh}({name})", name
    return name, name


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
        return pl.when(ok).then(s.cast(dtype, strict=False))
    return s.cast(dtype, strict=False)


# --- the checks ----------------------------------------------------------------------


def _value_text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("")


def _hits(df: pl.DataFrame, table: Table, mask: pl.Expr, rule: str, column: str, value: pl.Expr,
          extra: tuple[str, str] = ("", "")) -> pl.DataFrame:
    zh, en = _message(rule, *_col_names(table, column), *extra)
    return df.filter(mask.fill_null(False)).select(
        pl.col(FILE).cast(pl.String).alias("file"),
        pl.lit(table.name).alias("table"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        _value_text(value).alias("value"),
        pl.lit(rule).alias("rule"),
        pl.lit(zh).alias("message_zh"),
        pl.lit(en).alias("message_en"),
    )


def _column_problem(table: Table, file: str | None, rule: str, column: str, value: str | None,
                    extra: tuple[str, str] = ("", "")) -> pl.DataFrame:
    zh, en = _message(rule, *_col_names(table, column), *extra)
    return pl.DataFrame([{"file": file, "table": table.name, "row": None, "column": column, "value": value,
                          "rule": rule, "message_zh": zh, "message_en": en}], schema=PROBLEM_SCHEMA)


def _prepare(df: pl.DataFrame, file: str | None) -> pl.DataFrame:
    if ROW not in df.columns:
        df = df.with_row_index(ROW, offset=1)
    if FILE not in df.columns:
        df = df.with_columns(pl.lit(file, dtype=pl.String).alias(FILE))
    return df


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
            out.append(_hits(df, table, failed, "parse", c.name, pl.col(c.name), names))
            exprs.append(pl.when(blank).then(None).otherwise(parsed).cast(c.dtype).alias(c.name))
        else:
            expected = dtype_text(c.dtype)
            out.append(_column_problem(table, file, "dtype", c.name, dtype_text(df.schema[c.name]),
                                       (expected, expected)))
            cast = pl.col(c.name).cast(c.dtype, strict=False)
            failed = pl.col(c.name).is_not_null() & cast.is_null()
            out.append(_hits(df, table, failed, "parse", c.name, pl.col(c.name), names))
            exprs.append(cast)
    # Remember which cells were null in the source so a parse failure is not also reported as empty.
    nulls = [pl.col(c.name).is_null().alias(f"__null__{c.name}") for c in table.columns if c.name in df.columns]
    return df.with_columns(nulls).with_columns(exprs), out


def _column_rules(df: pl.DataFrame, table: Table, c: Column) -> list[pl.DataFrame]:
    col = pl.col(c.name)
    out = []
    if not c.nullable:
        out.append(_hits(df, table, pl.col(f"__null__{c.name}"), "null", c.name, col))
    if c.allowed is not None:
        shown = "/".join(str(a) for a in c.allowed)
        out.append(_hits(df, table, col.is_not_null() & ~col.is_in(list(c.allowed)), "allowed", c.name, col,
                         (shown, shown)))
    if c.min is not None:
        out.append(_hits(df, table, col < c.min, "min", c.name, col, (f"{c.min:g}", f"{c.min:g}")))
    if c.max is not None:
        out.append(_hits(df, table, col > c.max, "max", c.name, col, (f"{c.max:g}", f"{c.max:g}")))
    return out


def _key_rule(df: pl.DataFrame, table: Table) -> list[pl.DataFrame]:
    if not all(k in df.columns for k in table.key):
        return []
    key = list(table.key)
    dup = pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    value = pl.concat_str([_value_text(pl.col(k)) for k in key], separator="|")
    zh = ",".join(table.column(k).zh for k in key)
    label = ",".join(key)
    frame = _hits(df, table, dup, "duplicate_key", label, value)
    z, e = _message("duplicate_key", zh, label)
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
        out.append(_hits(df, table, col.is_not_null() & ~col.is_in(known.implode()), "reference", column, col, extra))
    return out


def _has(df: pl.DataFrame, *names: str) -> bool:
    return all(n in df.columns for n in names)


def _date_rules(df: pl.DataFrame, table: Table) -> list[pl.DataFrame]:
    out = []
    if _has(df, "month"):
        m = pl.col("month")
        out.append(_hits(df, table, m.dt.day() != 1, "month_not_first", "month", m))
    if table.name == "targets" and _has(df, "quarter"):
        q = pl.col("quarter")
        out.append(_hits(df, table, (q.dt.day() != 1) | ~q.dt.month().is_in([1, 4, 7, 10]), "quarter_not_first",
                         "quarter", q))
    if table.name == "loans" and _has(df, "origination_date", "maturity_date"):
        mask = pl.col("maturity_date") < pl.col("origination_date")
        value = pl.format("{} < {}", pl.col("maturity_date"), pl.col("origination_date"))
        out.append(_hits(df, table, mask, "maturity_before_origination", "maturity_date", value))
    if table.name == "collection_actions" and _has(df, "month", "action_date"):
        mask = pl.col("action_date").dt.truncate("1mo") != pl.col("month")
        out.append(_hits(df, table, mask, "action_outside_month", "action_date", pl.col("action_date")))
    return out


def _snapshot_rules(df: pl.DataFrame, table: Table) -> list[pl.DataFrame]:
    if table.name != "snapshots":
        return []
    dpd, status = pl.col("dpd"), pl.col("status")
    op, oi, out_p, disp = (pl.col(n) for n in ("overdue_principal", "overdue_interest", "outstanding_principal",
                                                 "disposed_principal"))

    def fmt(*names: str) -> pl.Expr:
        return pl.concat_str([pl.lit(f"{n}=") + _value_text(pl.col(n)) for n in names], separator=", ")

    checks = [
        (("dpd", "overdue_principal", "overdue_interest"), (dpd == 0) != ((op == 0) & (oi == 0)),
         "dpd_overdue_mismatch", "dpd"),
        (("overdue_principal", "outstanding_principal"), op > out_p, "overdue_exceeds_outstanding",
         "overdue_principal"),
        (("status", "dpd", "outstanding_principal"), (status == "paid_off") & ((dpd != 0) | (out_p != 0)),
         "paid_off_open", "status"),
        (("status", "outstanding_principal"), status.is_in(list(schema.EXIT_STATUSES)) & (out_p != 0),
         "exit_outstanding", "outstanding_principal"),
        (("status", "disposed_principal"), status.is_in(list(schema.DISPOSAL_STATUSES)) & ~(disp > 0),
         "disposal_without_principal", "disposed_principal"),
        (("status", "disposed_principal"), (status == "active") & (disp != 0), "active_disposed",
         "disposed_principal"),
        (("tech_overdue", "dpd"), pl.col("tech_overdue") & ((dpd < 1) | (dpd > 7)), "tech_overdue_dpd",
         "tech_overdue"),
    ]
    return [_hits(df, table, mask, rule, column, fmt(*cols)) for cols, mask, rule, column in checks if _has(df, *cols)]


def _templated(rule: str, first: pl.Expr, second: pl.Expr, lang: str) -> pl.Expr:
    """A rule's message with per-row texts in place of its placeholders ({col_*} then {extra_*})."""
    text = RULES[rule][0 if lang == "zh" else 1]
    a, b = ("{col_zh}", "{extra_zh}") if lang == "zh" else ("{col_en}", "{extra_en}")
    return pl.format(text.replace(a, "{}").replace(b, "{}"), first, second)


def continuity_problems(df: pl.DataFrame, months: Iterable[dt.date] | None = None) -> pl.DataFrame:
    """Snapshot rows that break month-to-month continuity, as a problems frame (uncapped).

    A loan leaves the book with exactly one exit row (status in ``schema.EXIT_STATUSES``) and has no
    rows after it. ``vanished``: a loan ``active`` at month t-1 with no row at month t, for consecutive
    months both present in ``df`` (row = the t-1 row). ``after_exit``: every row of a loan at a month
    later than its first exit row. With ``months``, only problems involving one of those months are
    reported (the importer passes the months of a file checked against its stored neighbours).
    ``df`` holds ``month``, ``loan_id``, ``status`` and optionally ``__row__`` / ``__file__``.
    """
    if df.is_empty() or not _has(df, "month", "loan_id", "status"):
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    table = schema.SNAPSHOTS
    m = pl.col("month")
    df = _prepare(df, None).select("month", "loan_id", "status", ROW, FILE).drop_nulls(
        ["month", "loan_id", "status"]).filter(m.dt.day() == 1)
    present = df["month"].unique()
    only = None if months is None else pl.Series(list(months), dtype=pl.Date).implode()
    ym = "%Y-%m"

    nxt = m.dt.offset_by("1mo")
    vanished = df.filter((pl.col("status") == "active") & nxt.is_in(present.implode())).join(
        df.select("loan_id", m.dt.offset_by("-1mo")), on=["loan_id", "month"], how="anti")
    if only is not None:
        vanished = vanished.filter(m.is_in(only) | nxt.is_in(only))
    vanished = vanished.with_columns(
        message_zh=_templated("vanished", m.dt.strftime(ym), nxt.dt.strftime(ym), "zh"),
        message_en=_templated("vanished", m.dt.strftime(ym), nxt.dt.strftime(ym), "en"))

    exits = df.filter(pl.col("status").is_in(list(schema.EXIT_STATUSES))).sort("month").group_by("loan_id").agg(
        pl.col("month").first().alias("__exit"), pl.col("status").first().alias("__exit_status"))
    after = df.join(exits, on="loan_id").filter(m > pl.col("__exit"))
    if only is not None:
        after = after.filter(m.is_in(only) | pl.col("__exit").is_in(only))
    status = pl.col("__exit_status")
    after = after.with_columns(
        message_zh=_templated("after_exit", pl.col("__exit").dt.strftime(ym),
                              status.replace_strict(schema.label_map("status", "zh"), default=status), "zh"),
        message_en=_templated("after_exit", pl.col("__exit").dt.strftime(ym),
                              status.replace_strict(schema.label_map("status", "en"), default=status), "en"))

    def frame(hits: pl.DataFrame, rule: str) -> pl.DataFrame:
        return hits.select(
            pl.col(FILE).cast(pl.String).alias("file"), pl.lit(table.name).alias("table"),
            pl.col(ROW).cast(pl.Int64).alias("row"), pl.lit("loan_id").alias("column"),
            pl.col("loan_id").cast(pl.String).alias("value"), pl.lit(rule).alias("rule"), "message_zh", "message_en")

    return pl.concat([pl.DataFrame(schema=PROBLEM_SCHEMA), frame(vanished, "vanished"), frame(after, "after_exit")],
                     how="vertical").sort("rule", "file", "row", nulls_last=False, maintain_order=True)


def problems_frame(table_name: str, df: pl.DataFrame, *, file: str | None = None,
                   known_keys: Mapping[str, Iterable | pl.Series] | None = None) -> pl.DataFrame:
    """Every problem of ``df`` against the contract of ``table_name`` (uncapped), as a frame.

    ``known_keys`` maps a referenced key ("branches.branch_id", "loans.loan_id",
    "collectors.collector_id") to the values that exist; references to keys not given are not checked.
    """
    table = TABLES[table_name]
    df = _prepare(df, file)
    missing = [c for c in table.columns if c.required and c.name not in df.columns]
    parts = [_column_problem(table, file, "missing_column", c.name, None) for c in missing]
    df, parse_problems = _coerce(df, table, file)
    parts += parse_problems
    for c in table.columns:
        if c.name in df.columns:
            parts += _column_rules(df, table, c)
    parts += _key_rule(df, table)
    parts += _reference_rules(df, table, known_keys or {})
    parts += _date_rules(df, table)
    parts += _snapshot_rules(df, table)
    return pl.concat([pl.DataFrame(schema=PROBLEM_SCHEMA), *parts], how="vertical").sort(
        "rule", "column", "file", "row", nulls_last=False, maintain_order=True)


def typed(table_name: str, df: pl.DataFrame) -> pl.DataFrame:
    """``df`` cast to the contract dtypes exactly as the validator reads it (unparseable cells are null).

    Keeps the contract columns present and ``__row__``; used to load the rows that passed.
    """
    table = TABLES[table_name]
    out, _ = _coerce(_prepare(df, None), table, None)
    return out.select([c for c in table.names if c in out.columns] + [ROW])


def cap(problems: pl.DataFrame, max_rows_per_rule: int = MAX_ROWS_PER_RULE) -> pl.DataFrame:
    """At most ``max_rows_per_rule`` rows per (table, rule, column), plus a line with the total when cut."""
    group = ["table", "rule", "column"]
    counted = problems.with_columns(
        pl.len().over(group).alias("__n"), pl.int_range(pl.len()).over(group).alias("__i"))
    kept = counted.filter(pl.col("__i") < max_rows_per_rule)
    cut = counted.filter(pl.col("__i") == max_rows_per_rule).with_columns(
        pl.lit(None, pl.Int64).alias("row"),
        pl.col("__n").cast(pl.String).alias("value"),
        pl.lit("too_many").alias("rule"),
        pl.format(RULES["too_many"][0].replace("{extra_zh}", "{}").replace("{col_zh}", "{}"),
                  pl.col("__n"), pl.lit(max_rows_per_rule)).alias("message_zh"),
        pl.format(RULES["too_many"][1].replace("{extra_en}", "{}").replace("{col_en}", "{}"),
                  pl.col("__n"), pl.lit(max_rows_per_rule)).alias("message_en"),
    )
    return pl.concat([kept, cut]).drop("__n", "__i")


def to_problems(frame: pl.DataFrame) -> list[Problem]:
    return [Problem(**row) for row in frame.select(PROBLEM_SCHEMA.names()).to_dicts()]


def validate_table(table_name: str, df: pl.DataFrame, *, file: str | None = None,
                   known_keys: Mapping[str, Iterable | pl.Series] | None = None,
                   max_rows_per_rule: int = MAX_ROWS_PER_RULE) -> list[Problem]:
    """Problems of one table (capped per rule; a ``too_many`` line carries the total)."""
    return to_problems(cap(problems_frame(table_name, df, file=file, known_keys=known_keys), max_rows_per_rule))


def summary(problems: pl.DataFrame) -> pl.DataFrame:
    """Counts per table, rule and column of an uncapped problems frame."""
    return problems.group_by("table", "rule", "column", maintain_order=True).agg(
        pl.len().alias("count"), pl.col("message_zh").first(), pl.col("message_en").first())


# --- a whole store ---------------------------------------------------------------------


def read_store_table(root: Path, table: Table | str) -> pl.DataFrame:
    """A stored table with ``__file__`` (path relative to root) and ``__row__`` (row within that file)."""
    t = TABLES[table] if isinstance(table, str) else table
    frames = []
    for path in store.table_files(root, t):
        df = pl.read_parquet(path)
        rel = str(path.relative_to(root))
        if t.partition:
            value = path.parent.name.split("=", 1)[1]
            month = dt.date.fromisoformat(value)
            df = df.with_columns(pl.lit(month, dtype=pl.Date).alias(t.partition))
        df = df.with_row_index(ROW, offset=1).with_columns(pl.lit(rel).alias(FILE))
        frames.append(df)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed")


def store_keys(root: Path) -> dict[str, pl.Series]:
    """The referenced keys present in a store (e.g. ``{"branches.branch_id": Series}``)."""
    targets = {ref for t in TABLES.values() for ref in t.references.values()}
    keys = {}
    for target in sorted(targets):
        t_name, column = target.split(".")
        files = store.table_files(root, t_name)
        if files:
            keys[target] = pl.concat([pl.read_parquet(f, columns=[column])[column].cast(pl.String)
                                      for f in files]).unique()
    return keys


def store_problems(root: str | os.PathLike | None = None) -> pl.DataFrame:
    """Every problem of every table in the store (uncapped)."""
    root = store.data_root(root)
    keys = store_keys(root)
    parts = [pl.DataFrame(schema=PROBLEM_SCHEMA)]
    for t in TABLES.values():
        df = read_store_table(root, t)
        if not df.is_empty():
            parts.append(problems_frame(t.name, df, known_keys=keys))
            if t.name == "snapshots":
                parts.append(continuity_problems(df))
    return pl.concat(parts)


def validate_store(root: str | os.PathLike | None = None, max_rows_per_rule: int = MAX_ROWS_PER_RULE) -> list[Problem]:
    """Problems of the whole store (capped per rule)."""
    return to_problems(cap(store_problems(root), max_rows_per_rule))


# --- the contract document ---------------------------------------------------------


def _allowed_text(c: Column) -> str:
    if c.allowed is None:
        return ""
    kind = c.name if c.name in schema.LABELS else None
    if kind is None:
        return ", ".join(f"`{a}`" for a in c.allowed)
    return "<br>".join(f"`{a}` {schema.label(kind, a, 'zh')} / {schema.label(kind, a, 'en')}" for a in c.allowed)


def _range_text(c: Column) -> str:
    lo = "" if c.min is None else f"≥ {c.min:g}"
    hi = "" if c.max is None else f"≤ {c.max:g}"
    return " ".join(p for p in (lo, hi) if p)


def contract_markdown() -> str:
    """docs/data-contract.md, generated from ``analytics.schema`` and ``RULES``."""
    lines = [
        "# Data contract (数据契约)",
        "",
        "Generated from `analytics/core/schema.py` by `python -m analytics.ingest.validate --doc > docs/data-contract.md`;",
        "a test fails when this file and the schema disagree. Do not edit by hand.",
        "",
        "Money is `Decimal(18,2)` in yuan (元). Months are first-of-month dates (`2024-03-01` is the",
        "March 2024 month-end snapshot). Partitioned tables are stored one folder per month",
        "(`snapshots/month=2024-03-01/part-0.parquet`).",
        "",
    ]
    for t in TABLES.values():
        lines += [f"## `{t.name}` — {t.zh} / {t.en}", ""]
        lines.append(f"- Key (主键): {', '.join(f'`{k}`' for k in t.key)}")
        if t.references:
            refs = ", ".join(f"`{c}` → `{target}`" for c, target in t.references.items())
            lines.append(f"- References (引用): {refs}")
        store_path = f"{t.name}/month=YYYY-MM-01/part-0.parquet" if t.partition else f"{t.name}.parquet"
        lines += [f"- Stored as: `{store_path}`", ""]
        lines.append("| Column | 中文 | English | Type | Unit | Required | Nullable | Allowed values | Range |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for c in t.columns:
            lines.append(
                f"| `{c.name}` | {c.zh} | {c.en} | `{dtype_text(c.dtype)}` | {c.unit} | {'yes' if c.required else 'no'} | "
                f"{'yes' if c.nullable else 'no'} | {_allowed_text(c)} | {_range_text(c)} |")
        lines.append("")
    lines += ["## Validation rules (校验规则)", "",
              "`analytics.validate` reports each problem with file, table, row (1-based data row, header excluded),",
              "column, value, rule and a Chinese and English message.", "",
              "Continuity across months (`vanished`, `after_exit`): a loan leaves the book with exactly one exit row",
              "(status `paid_off`, `written_off`, `transferred` or `foreclosed`) and has no rows after it. A loan",
              "`active` in one month with no row in the next month present (and no exit row) has vanished; the row",
              "reported is its last one. On import these are warnings (the rows still load); see import.md.", "",
              "| Rule | 中文 | English |", "|---|---|---|"]
    for rule, (zh, en) in RULES.items():
        kw = {"col_zh": "…", "col_en": "…", "extra_zh": "…", "extra_en": "…"}
        lines.append(f"| `{rule}` | {zh.format(**kw)} | {en.format(**kw)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.ingest.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data folder (default $OVERDUE_DATA_DIR or ./data)")
    parser.add_argument("--doc", action="store_true", help="print docs/data-contract.md and exit")
    parser.add_argument("--max-rows", type=int, default=20, help="rows shown per rule")
    args = parser.parse_args(argv)
    if args.doc:
        sys.stdout.write(contract_markdown())
        return 0
    frame = store_problems(args.data)
    if frame.is_empty():
        print("OK: no problems")
        return 0
    with pl.Config(tbl_rows=200, fmt_str_lengths=80, tbl_width_chars=200):
        print(summary(frame).select("table", "rule", "column", "count", "message_en"))
        print(cap(frame, args.max_rows).select("file", "row", "column", "value", "rule"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
