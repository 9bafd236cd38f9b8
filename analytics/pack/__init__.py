"""The executive board pack: ``python -m analytics.pack --quarter 2026Q3 --format pdf|xlsx --lang zh|en --out FILE``.

``content.summary`` computes what the 管理层季度压降汇总 page shows; ``pdf.render`` and ``xlsx.render`` write it.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from analytics.pack.content import Summary, summary

FORMATS = ("pdf", "xlsx")


def build(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, fmt: str, lang: str = "zh",
          branches: tuple[str, ...] = (), products: tuple[str, ...] = (), scheme_json: str = "",
          rates=None) -> bytes:
    """The pack for ``quarter`` as PDF or Excel bytes (``rates``: the provision scheme of the coverage tile)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    s = summary(con, quarter=quarter, branches=branches, products=products, scheme_json=scheme_json, rates=rates)
    return render(s, fmt=fmt, lang=lang)


def render(s: Summary, *, fmt: str, lang: str) -> bytes:
    if fmt == "pdf":
        from analytics.pack import pdf

        return pdf.render(s, lang)
    from analytics.pack import xlsx

    return xlsx.render(s, lang)
