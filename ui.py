"""Streamlit helpers shared by every page: language, filters, formatting, tables, downloads, drill links.

Texts are written inline and bilingual: ``tr("中文", "English")``. Code labels (products, classes,
causes, buckets ...) come from the catalogue in ``labels.py`` through ``label``. Widget option labels are
resolved during the run (``options``), so a ``format_func`` never needs the language later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import streamlit as st

import labels
from analytics.core import export
from analytics.core.months import month_label
from analytics.metrics.drilldown import DrillSpec

DRILL_PAGE = "pages/drilldown.py"


def lang() -> str:
    """The language of this run (the sidebar switch)."""
    return st.session_state.get("lang", "zh")


def tr(zh: str, en: str) -> str:
    return zh if lang() == "zh" else en


def label(kind: str, code: object) -> str:
    return labels.label(kind, code, lang())


def label_map(kind: str) -> dict[str, str]:
    return labels.label_map(kind, lang())


def options(names: dict) -> callable:
    """A ``format_func`` for a widget whose option labels were resolved in this run: ``{value: label}``."""
    return lambda value: names.get(value, str(value))


def with_code_labels(df: pl.DataFrame, columns: dict[str, str] | None = None) -> pl.DataFrame:
    """Code columns (product, status, class ...) shown as labels in the language of the run."""
    return labels.with_code_labels(df, lang(), columns)


with_label_column = labels.with_label_column


@dataclass(frozen=True)
class Filters:
    month: dt.date
    branches: tuple[str, ...]  # empty = all
    products: tuple[str, ...]  # empty = all


def filters() -> Filters:
    """The sidebar selection made in app.py (as-of month, branches, products)."""
    return Filters(
        month=st.session_state["f_month"],
        branches=tuple(st.session_state.get("f_branches") or ()),
        products=tuple(st.session_state.get("f_products") or ()),
    )


# --- formatting -----------------------------------------------------------------


def fmt_money(value: float | None) -> str:
    """Yuan shown in 亿元 / 万元 (zh) or CNY m / k (en)."""
    if value is None:
        return "—"
    v = float(value)
    if lang() == "zh":
        return f"{v / 1e8:,.2f} 亿元" if abs(v) >= 1e8 else f"{v / 1e4:,.2f} 万元"
    return f"CNY {v / 1e6:,.2f} m" if abs(v) >= 1e6 else f"CNY {v / 1e3:,.1f} k"


def fmt_pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def fmt_pp(value: float | None) -> str:
    """A change of a ratio in percentage points."""
    return "—" if value is None else f"{float(value) * 100:+.2f} pp"


def _display_frame(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col(n).cast(pl.Float64) for n, t in df.schema.items() if isinstance(t, pl.Decimal))


def show_table(df: pl.DataFrame, key: str, *, money: tuple[str, ...] = (), pct: tuple[str, ...] = (),
               headers: dict[str, str] | None = None, name: str = "table", height: int | None = None) -> None:
    """A formatted table (thousands separators, percentages) with CSV and Excel downloads."""
    if df.is_empty():
        empty_notice()
        return
    config = {c: st.column_config.NumberColumn(format="%,.2f") for c in money if c in df.columns}
    config |= {c: st.column_config.NumberColumn(format="percent") for c in pct if c in df.columns}
    shown = _display_frame(df)
    if headers:
        config = {headers.get(k, k): v for k, v in config.items()}
        shown = shown.rename({k: v for k, v in headers.items() if k in shown.columns})
    st.dataframe(shown, key=key, column_config=config, hide_index=True, width="stretch",
                 height=height if height else "auto")
    download_buttons(shown, name, key)


def _audit_export(name: str, fmt: str, rows: int) -> None:
    import auth
    from analytics import access

    access.audit("export", auth.current().username, {"table": name, "format": fmt, "rows": rows})


def download_buttons(df: pl.DataFrame, name: str, key: str) -> None:
    """CSV and Excel downloads, for roles allowed to export; every download is in the audit log."""
    import auth

    if not auth.can("export"):
        return
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(tr("下载 CSV", "Download CSV"), export.to_csv_bytes(df), f"{name}.csv", "text/csv",
                       key=f"{key}_csv", on_click=_audit_export, args=(name, "csv", df.height))
    c2.download_button(tr("下载 Excel", "Download Excel"), export.to_excel_bytes(df, name), f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                       on_click=_audit_export, args=(name, "xlsx", df.height))


def empty_notice() -> None:
    st.info(tr("当前筛选条件下没有数据，请调整左侧的机构、产品或月份。",
               "No data for the current filters. Change the branch, product or month in the sidebar."))


def definition(zh: str, en: str) -> None:
    """Show the definition basis (口径) of the numbers on the page."""
    with st.expander(tr("口径说明", "Definitions (口径)")):
        st.markdown(tr(zh, en))


def chart(fig: go.Figure, key: str) -> None:
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend_title_text="")
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})


def drill_button(spec: DrillSpec, key: str, text: str | None = None) -> None:
    """A button that opens the loan list behind ``spec``."""
    if st.button(text or tr("查看明细借据", "Show the loans"), key=key):
        st.session_state["drill_spec"] = spec
        st.switch_page(DRILL_PAGE)


def require_data() -> None:
    """Stop the page with a clear message when the store is empty."""
    import app_data

    if not app_data.has_data():
        st.warning(tr("数据目录中没有贷款数据。请先生成演示数据（make demo）或在“数据导入”页面导入。",
                      "The data folder has no loan data. Generate the demo (make demo) or import on the Data import page."))
        st.stop()


def show_highlighted(df: pl.DataFrame, flags: pl.DataFrame, key: str, *, name: str = "table",
                     color: str = "#f6c8c3") -> None:
    """A ratio matrix (first column = row label, others ratios shown as %) with the cells where the
    same-shaped ``flags`` frame is true shaded; CSV and Excel downloads of the plain values."""
    if df.is_empty():
        empty_notice()
        return
    cols = df.columns[1:]
    mask = flags.select(cols).fill_null(False).to_pandas()
    styler = df.to_pandas().style.format({c: "{:.2%}" for c in cols}, na_rep="").apply(
        lambda _: mask.map(lambda v: f"background-color: {color}" if v else ""), axis=None, subset=cols)
    st.dataframe(styler, key=key, hide_index=True, width="stretch")
    download_buttons(df, name, key)


# --- the sidebar (shared by every page) ----------------------------------------------------------

# The sidebar widgets' values: st.switch_page (the drill-down buttons) drops them from st.session_state,
# so a copy is kept under another key and put back before the widgets are drawn.
SHARED = ("lang", "f_month", "f_branches", "f_products")


def sidebar() -> None:
    """Language switch and the shared filters (as-of month, branches, products), kept across page switches."""
    import app_data
    from analytics.metrics import portfolio

    for key in SHARED:
        if key not in st.session_state and f"kept_{key}" in st.session_state:
            st.session_state[key] = st.session_state[f"kept_{key}"]
    st.session_state.setdefault("lang", "zh")
    st.sidebar.radio("语言 / Language", ["zh", "en"], key="lang", horizontal=True,
                     format_func=options({"zh": "中文", "en": "English"}))
    if app_data.has_data():
        dims = app_data.run(portfolio.dimensions)
        months = dims["months"]
        if st.session_state.get("f_month") not in months:
            st.session_state["f_month"] = months[-1]
        st.sidebar.selectbox(tr("数据月份", "As-of month"), months, key="f_month", format_func=month_label)
        names = {b: f"{b} {n}" for b, n in dims["branches"]}
        st.sidebar.multiselect(tr("机构（空 = 全部）", "Branches (empty = all)"), list(names), key="f_branches",
                               format_func=options(names))
        st.sidebar.multiselect(tr("产品（空 = 全部）", "Products (empty = all)"), dims["products"],
                               key="f_products",
                               format_func=options({p: label("product", p) for p in dims["products"]}))
    for key in SHARED:
        if key in st.session_state:
            st.session_state[f"kept_{key}"] = st.session_state[key]


# --- labels for analytics codes ---------------------------------------------------------------------


def bucket_labels(scheme: str) -> list[str]:
    """Labels of DPD buckets 0..7 of ``scheme`` ("m" or "reg")."""
    return labels.bucket_labels(scheme, lang())


def aging_report_view(report: pl.DataFrame, scheme: str) -> pl.DataFrame:
    """The aging report with bucket and cause labels in the language of the run."""
    return labels.aging_report_view(report, scheme, lang())
