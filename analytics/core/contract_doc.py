"""The data contract as a document: docs/data-contract.md is generated from ``schema`` so it cannot drift.

``python -m analytics.ingest.validate --doc > docs/data-contract.md`` writes it with the importer's rule
catalogue (``analytics.ingest.problems.RULES``); a test fails when the committed file and the code disagree.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from analytics.core import schema
from analytics.core.schema import TABLES, Column


def dtype_text(dtype: pl.DataType) -> str:
    """A contract dtype as the document spells it (``Decimal(18,2)``, ``Date`` ...)."""
    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.precision},{dtype.scale})"
    return str(dtype)


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


def contract_markdown(rules: Mapping[str, tuple[str, str]]) -> str:
    """docs/data-contract.md: the tables of ``schema`` and the validation ``rules`` (code -> zh, en message)."""
    lines = [
        "# Data contract (数据契约)",
        "",
        "Generated from `analytics/core/schema.py` and the rule catalogue of `analytics/ingest/problems.py` by",
        "`python -m analytics.ingest.validate --doc > docs/data-contract.md`; a test fails when this file and the",
        "code disagree. Do not edit by hand.",
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
              "The importer's checks (`analytics.ingest.checks`; `python -m analytics.ingest.validate` for a whole store)",
              "report each problem with file, table, row (1-based data row, header excluded), column, value, rule",
              "and a Chinese and English message.", "",
              "Continuity across months (`vanished`, `after_exit`): a loan leaves the book with exactly one exit row",
              "(status `paid_off`, `written_off`, `transferred` or `foreclosed`) and has no rows after it. A loan",
              "`active` in one month with no row in the next month present (and no exit row) has vanished; the row",
              "reported is its last one. On import these are warnings (the rows still load); see import.md.", "",
              "| Rule | 中文 | English |", "|---|---|---|"]
    for rule, (zh, en) in rules.items():
        kw = {"col_zh": "…", "col_en": "…", "extra_zh": "…", "extra_en": "…"}
        lines.append(f"| `{rule}` | {zh.format(**kw)} | {en.format(**kw)} |")
    return "\n".join(lines) + "\n"
