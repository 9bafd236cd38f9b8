"""Table exports that are safe to open in Excel and read right there.

A text cell starting with = + - @ (or a tab / carriage return, or their full-width forms ＝ ＋ －
＠, which Excel and WPS in a Chinese locale also read as formula signs) would be read as a formula
(CSV injection); such cells get a leading apostrophe. Sheet names are made valid for Excel (no
``/ \\ : [ ] * ?``, at most 31 characters, never empty), whatever the name is built from (a loan id such
as ``LN/2024/L000008120``). Numbers are written as numbers, with a number format per column kind (``KINDS``) in Excel and without float noise in both files:

- ``pct``   ratios (fractions): Excel ``0.00%``; CSV the fraction rounded to 8 decimals.
- ``pp``    changes of ratios in percentage points: the fraction x 100 in both files, Excel ``0.00``.
- ``money`` yuan: 2 decimals, Excel ``#,##0.00``.
- ``count`` integers, Excel ``#,##0``.
- ``month`` first-of-month dates: Excel a date shown ``yyyy-mm``; CSV text ``2026-10``.
- ``number`` any other number: rounded to 6 decimals, Excel ``#,##0.00``.
Kinds not given are inferred from the dtype (Decimal = money, integer = count, date = month, float =
number, or pct when the column name says ratio/share/rate).
"""

from __future__ import annotations

import io
import re

import polars as pl
import xlsxwriter

KINDS = ("pct", "pp", "money", "count", "month", "number")
EXCEL_FORMATS = {"pct": "0.00%", "pp": "0.00", "money": "#,##0.00", "count": "#,##0", "month": "yyyy-mm",
                 "number": "#,##0.00"}
_RATIO_NAME = re.compile(r"(ratio|share|rate|coverage|deviation|_pct$)")


def neutralise_text(text: str) -> str:
    """One text cell made safe (the rule of ``neutralise``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠") else text


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix risky text cells with an apostrophe; non-text columns are left as they are."""
    text_cols = [name for name, dtype in df.schema.items() if dtype == pl.String]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r＝＋－＠]"))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_cols
    )


def infer_kind(name: str, dtype: pl.DataType) -> str | None:
    """The export kind of a column from its dtype (and, for floats, its name); None for text."""
    if isinstance(dtype, pl.Decimal):
        return "money"
    if dtype.is_integer():
        return "count"
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        return "month"
    if dtype.is_float():
        return "pct" if _RATIO_NAME.search(name) else "number"
    return None


def column_kinds(df: pl.DataFrame, kinds: dict[str, str] | None = None) -> dict[str, str]:
    """Every numeric or date column's kind: the given ones, the others inferred."""
    given = {c: k for c, k in (kinds or {}).items() if c in df.columns}
    inferred = {c: infer_kind(c, t) for c, t in df.schema.items() if c not in given}
    return given | {c: k for c, k in inferred.items() if k is not None}


def _values(df: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """Numbers as the file holds them: decimals as floats, rounded per kind (no 0.30000000000000004);
    percentage-point columns x 100; nested types as text."""
    exprs = []
    for c, kind in kinds.items():
        col = pl.col(c)
        if kind == "month":
            exprs.append(col.cast(pl.Date))
        elif kind == "count":
            exprs.append(col if df.schema[c].is_integer() else col.cast(pl.Float64).round(0))
        elif kind == "money":
            exprs.append(col.cast(pl.Float64).round(2))
        elif kind == "pct":
            exprs.append(col.cast(pl.Float64).round(8))
        elif kind == "pp":
            exprs.append((col.cast(pl.Float64) * 100).round(6))
        else:
            exprs.append(col.cast(pl.Float64).round(6))
    nested = [pl.col(n).cast(pl.String) for n, t in df.schema.items() if isinstance(t, (pl.List, pl.Struct))]
    return df.with_columns(exprs + nested)


def to_csv_bytes(df: pl.DataFrame, kinds: dict[str, str] | None = None) -> bytes:
    """UTF-8 with BOM so Excel opens Chinese text correctly; months as 2026-10."""
    kinds = column_kinds(df, kinds)
    out = _values(df, kinds).with_columns(pl.col(c).dt.strftime("%Y-%m") for c, k in kinds.items() if k == "month")
    buf = io.BytesIO()
    neutralise(out).write_csv(buf)
    return b"\xef\xbb\xbf" + buf.getvalue()


def sheet_name(name: str) -> str:
    """A valid Excel sheet name: the characters Excel forbids become ``_``, at most 31 characters, not
    starting or ending with an apostrophe, never empty (``data``)."""
    clean = re.sub(r"[/\\:\[\]*?\x00-\x1f]", "_", str(name))[:31].strip("'")
    return clean or "data"


def _width(name: str, df: pl.DataFrame) -> int:
    """A column width in Excel units: ~2 per CJK character (autofit counts them too narrow)."""
    def w(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    sample = [str(v) for v in df[name].head(200).to_list() if v is not None]
    return min(60, max([w(name), *(w(s) + 2 for s in sample), 8]) + 2)


def to_excel_bytes(df: pl.DataFrame, sheet: str = "data", kinds: dict[str, str] | None = None) -> bytes:
    kinds = column_kinds(df, kinds)
    out = neutralise(_values(df, kinds))
    buf = io.BytesIO()
    # xlsxwriter must never turn text into a formula or a link, whatever the cell says.
    with xlsxwriter.Workbook(buf, {"strings_to_formulas": False, "strings_to_urls": False}) as book:
        out.write_excel(book, worksheet=sheet_name(sheet), autofit=False,
                        column_formats={c: EXCEL_FORMATS[k] for c, k in kinds.items()},
                        column_widths={c: _width(c, out) * 7 for c in out.columns},
                        dtype_formats={pl.Date: "yyyy-mm"}, float_precision=2)
    return buf.getvalue()
