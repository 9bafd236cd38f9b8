"""What the page and the command show of a prepared file: the error report, the continuity report, a preview,
and the value maps as editable frames.
"""

from __future__ import annotations

import polars as pl

from analytics.core import export
from analytics.core.schema import TABLES
from analytics.ingest.mapping import Profile
from analytics.ingest.preparing import Prepared
from analytics.ingest.problems import ROW

# Rules about one cell: the report shows that cell exactly as the file has it (e.g. `-1` in a 万元 column,
# not the `-10000.00` yuan it was read as), so the user finds it in the file.
CELL_RULES = ("parse", "null", "allowed", "min", "max", "month_not_first", "month_outlier", "quarter_not_first",
              "reference", "action_outside_month", "visit_outside_month")


def _source_values(prepared: Prepared, back: dict[str, str]) -> pl.DataFrame:
    """(row, source column, raw text) of the mapped cells on rows with a problem."""
    srcs = sorted({s for s in back.values() if s in prepared.source.frame.columns})
    rows = prepared.problems["row"].drop_nulls().unique()
    schema = {"row": pl.Int64, "source_column": pl.String, "raw": pl.String}
    if not srcs or rows.is_empty():
        return pl.DataFrame(schema=schema)
    frame = prepared.source.frame.filter(pl.col(ROW).is_in(rows.cast(pl.UInt32).implode()))
    return frame.select(pl.col(ROW).cast(pl.Int64).alias("row"), *[pl.col(c).cast(pl.String) for c in srcs]).unpivot(
        index="row", variable_name="source_column", value_name="raw").cast(schema)


def error_report(prepared: Prepared, lang: str = "zh") -> pl.DataFrame:
    """Every problem with the file's own column header and cell value, in Chinese or English."""
    back = {col: src for col, src in prepared.profile.columns.items() if src}
    # the loan fields of a snapshot file (problems of table "loans") come from the profile's loan columns
    loan_back = {col: src for col, src in prepared.profile.loan_columns.items() if src} \
        if prepared.table == "snapshots" else {}
    own = pl.col("column").replace_strict(back, default=pl.lit(""), return_dtype=pl.String)
    loan = pl.col("column").replace_strict(loan_back, default=own, return_dtype=pl.String)
    p = prepared.problems.with_columns(
        pl.when(pl.col("table") == "loans").then(loan).otherwise(own).alias("source_column"))
    p = p.join(_source_values(prepared, back | {f"loans.{k}": v for k, v in loan_back.items()}),
               on=["row", "source_column"], how="left", maintain_order="left")
    p = p.with_columns(pl.when(pl.col("rule").is_in(CELL_RULES) & pl.col("row").is_not_null()
                               & (pl.col("source_column") != ""))
                       .then(pl.col("raw").fill_null("")).otherwise(pl.col("value")).alias("value"))
    msg = "message_zh" if lang == "zh" else "message_en"
    names = (["文件", "行号", "源列", "字段", "值", "规则", "说明"] if lang == "zh"
             else ["file", "row", "source column", "field", "value", "rule", "message"])
    return p.select(
        *[pl.col(c).alias(n) for c, n in zip(["file", "row", "source_column", "column", "value", "rule", msg], names,
                                              strict=True)])


def continuity_report(prepared: Prepared, lang: str = "zh") -> pl.DataFrame:
    """The continuity warnings (one line per vanished loan or post-exit row), in Chinese or English."""
    msg = "message_zh" if lang == "zh" else "message_en"
    names = (["文件", "行号", "借据号", "规则", "说明"] if lang == "zh" else ["file", "row", "loan_id", "rule", "message"])
    return prepared.warnings.select(
        *[pl.col(c).alias(n) for c, n in zip(["file", "row", "value", "rule", msg], names, strict=True)])


def error_report_csv(prepared: Prepared, lang: str = "zh") -> bytes:
    """The error report as CSV (formula-like cells neutralised by ``analytics.export``)."""
    return export.to_csv_bytes(error_report(prepared, lang))


def preview(prepared: Prepared, n: int = 20) -> pl.DataFrame:
    """The first mapped rows as the contract will read them (canonical text), with the source row number."""
    cols = [c for c in TABLES[prepared.table].names if c in prepared.rows.columns]
    return prepared.rows.head(n).select(pl.col(ROW).alias("row"), *cols)


def value_map_frame(profile: Profile, column: str) -> pl.DataFrame:
    """One column's value map as an editable two-column frame (source value -> contract code)."""
    items = profile.value_maps.get(column, {})
    return pl.DataFrame({"source": list(items), "code": [items[k] or None for k in items]},
                        schema={"source": pl.String, "code": pl.String})


def value_map_from_frame(frame) -> dict[str, str]:
    """The edited map back from the page's data editor (a Polars or pandas frame)."""
    rows = pl.DataFrame(frame).iter_rows(named=True)
    return {r["source"]: str(r["code"]).strip() for r in rows if r["source"] and r["code"] and str(r["code"]).strip()}


def coded_columns(table_name: str) -> list[str]:
    """Columns that take codes (or yes/no) and so have a value map."""
    return [c.name for c in TABLES[table_name].columns if c.allowed is not None or c.dtype == pl.Boolean]
