"""The problem frame every check reports into: its schema, the rule catalogue, the cap and the summary.

A problem is one offending cell (or a file- or column-level fault) with its file, table, row, column,
value, rule code and a Chinese and English message. Rows are 1-based data rows (the first row under
the header is row 1); a frame may carry its own row numbers in ``__row__`` and its file in ``__file__``.
``RULES`` is the catalogue of rule codes (docs/data-contract.md lists it, see
``analytics.core.contract_doc``, which ``python -m analytics.ingest.validate --doc`` feeds with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.core.schema import Table

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
    "month_range": ("「{col_zh}」不在合理范围内（{extra_zh}）", "{col_en} is outside the plausible range ({extra_en})"),
    "month_outlier": ("「{col_zh}」与数据的其他月份相距超过 {extra_zh}：请核对月份是否录错",
                      "{col_en} is more than {extra_en}: check the month for a typo"),
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
    "visit_outside_month": ("回访日期不在数据月份内", "Visit date is outside the record's month"),
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


def dtype_names(dtype: pl.DataType) -> tuple[str, str]:
    return _DTYPE_NAMES.get(dtype.base_type().__name__, (str(dtype), str(dtype)))


def message(rule: str, col_zh: str = "", col_en: str = "", extra_zh: str = "", extra_en: str = "") -> tuple[str, str]:
    zh, en = RULES[rule]
    kw = {"col_zh": col_zh, "col_en": col_en, "extra_zh": extra_zh, "extra_en": extra_en}
    return zh.format(**kw), en.format(**kw)


def templated(rule: str, first: pl.Expr, second: pl.Expr, lang: str) -> pl.Expr:
    """A rule's message with per-row texts in its two placeholders, in the order they appear in the text."""
    text = RULES[rule][0 if lang == "zh" else 1]
    a, b = ("{col_zh}", "{extra_zh}") if lang == "zh" else ("{col_en}", "{extra_en}")
    return pl.format(text.replace(a, "{}").replace(b, "{}"), first, second)


def _col_names(table: Table, name: str) -> tuple[str, str]:
    if name in table.names:
        c = table.column(name)
        return f"{c.zh}({name})", name
    return name, name


def value_text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("")


def has_columns(df: pl.DataFrame, *names: str) -> bool:
    return all(n in df.columns for n in names)


def with_row_file(df: pl.DataFrame, file: str | None) -> pl.DataFrame:
    """``df`` with ``__row__`` (1-based, unless it has its own) and ``__file__`` (``file`` unless it has one)."""
    if ROW not in df.columns:
        df = df.with_row_index(ROW, offset=1)
    if FILE not in df.columns:
        df = df.with_columns(pl.lit(file, dtype=pl.String).alias(FILE))
    return df


def hits(df: pl.DataFrame, table: Table, mask: pl.Expr, rule: str, column: str, value: pl.Expr,
         extra: tuple[str, str] = ("", "")) -> pl.DataFrame:
    """The rows of ``df`` where ``mask`` holds, as problems of ``rule`` on ``column``."""
    zh, en = message(rule, *_col_names(table, column), *extra)
    return df.filter(mask.fill_null(False)).select(
        pl.col(FILE).cast(pl.String).alias("file"),
        pl.lit(table.name).alias("table"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        value_text(value).alias("value"),
        pl.lit(rule).alias("rule"),
        pl.lit(zh).alias("message_zh"),
        pl.lit(en).alias("message_en"),
    )


def column_problem(table: Table, file: str | None, rule: str, column: str, value: str | None,
                   extra: tuple[str, str] = ("", "")) -> pl.DataFrame:
    """One file- or column-level problem (no row)."""
    zh, en = message(rule, *_col_names(table, column), *extra)
    return pl.DataFrame([{"file": file, "table": table.name, "row": None, "column": column, "value": value,
                          "rule": rule, "message_zh": zh, "message_en": en}], schema=PROBLEM_SCHEMA)


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
        templated("too_many", pl.col("__n"), pl.lit(max_rows_per_rule), "zh").alias("message_zh"),
        templated("too_many", pl.col("__n"), pl.lit(max_rows_per_rule), "en").alias("message_en"),
    )
    return pl.concat([kept, cut]).drop("__n", "__i")


def to_problems(frame: pl.DataFrame) -> list[Problem]:
    return [Problem(**row) for row in frame.select(PROBLEM_SCHEMA.names()).to_dicts()]


def summary(problems: pl.DataFrame) -> pl.DataFrame:
    """Counts per table, rule and column of an uncapped problems frame."""
    return problems.group_by("table", "rule", "column", maintain_order=True).agg(
        pl.len().alias("count"), pl.col("message_zh").first(), pl.col("message_en").first())


def no_problems() -> pl.DataFrame:
    """A problems frame without a problem."""
    return pl.DataFrame(schema=PROBLEM_SCHEMA)
