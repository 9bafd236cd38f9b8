"""Table exports that are safe to open in Excel.

A text cell starting with = + - @ (or a tab / carriage return, or their full-width forms ＝ ＋ －
＠, which Excel and WPS in a Chinese locale also read as formula signs) would be read as a formula
(CSV injection); such cells get a leading apostrophe. Numbers are written as numbers. Sheet names are
made valid for Excel (no ``/ \\ : [ ] * ?``, at most 31 characters, never empty), whatever the name
is built from (a loan id such as ``LN/2024/L000008120``).
"""

from __future__ import annotations

import io
import re

import polars as pl
import xlsxwriter


def neutralise_text(text: str) -> str:
    """One text cell made safe (the rule of ``neutralise``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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


def _plain(df: pl.DataFrame) -> pl.DataFrame:
    """Decimals become floats so spreadsheets see numbers; nested types become text."""
    return df.with_columns(
        [pl.col(n).cast(pl.Float64) for n, t in df.schema.items() if isinstance(t, pl.Decimal)]
        + [pl.col(n).cast(pl.String) for n, t in df.schema.items() if isinstance(t, (pl.List, pl.Struct))]
    )


def to_csv_bytes(df: pl.DataFrame) -> bytes:
    """UTF-8 with BOM so Excel opens Chinese text correctly."""
    buf = io.BytesIO()
    neutralise(_plain(df)).write_csv(buf)
    return b"\xef\xbb\xbf" + buf.getvalue()


def sheet_name(name: str) -> str:
    """A valid Excel sheet name: the characters Excel forbids become ``_``, at most 31 characters, not
    starting or ending with an apostrophe, never empty (``data``)."""
    clean = re.sub(r"[/\\:\[\]*?\x00-\x1f]", "_", str(name))[:31].strip("'")
    return clean or "data"


def to_excel_bytes(df: pl.DataFrame, sheet: str = "data") -> bytes:
    buf = io.BytesIO()
    # xlsxwriter must never turn text into a formula or a link, whatever the cell says.
    with xlsxwriter.Workbook(buf, {"strings_to_formulas": False, "strings_to_urls": False}) as book:
        neutralise(_plain(df)).write_excel(book, worksheet=sheet_name(sheet), autofit=True)
    return buf.getvalue()
