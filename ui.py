"""Streamlit helpers shared by every page: language, filters, formatting, tables, downloads, drill links.

Texts are written inline and bilingual: ``tr("中文", "English")``. Code labels (products, classes,
causes ...) come from ``analytics.schema.LABELS`` through ``label``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from analytics.core import export, schema
from analytics.metrics.drilldown import DrillSpec

DRILL_PAGE = "pages/drilldown.py"


_last_lang = "zh"


def lang() -> str:
    """The language of this run. Outside a script run (AppTest calls a widget's format_func
    between runs) it answers the language of the last run instead of the default."""
    global _last_lang
    if get_script_run_ctx(suppress_warning=True) is None:
        return _last_lang
    _last_lang = st.session_state.get("lang", "zh")
    return _last_lang


def tr(zh: str, en: str) -> str:
    return zh if lang() == "zh" else en


def label(kind: str, code: object) -> str:
    return schema.label(kind, code, lang())


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


def month_label(month: dt.date) -> str:
    return f"{month:%Y-%m}"


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


def download_buttons(df: pl.DataFrame, name: str, key: str) -> None:
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(tr("下载 CSV", "Download CSV"), export.to_csv_bytes(df), f"{name}.csv", "text/csv",
                       key=f"{key}_csv")
    c2.download_button(tr("下载 Excel", "Download Excel"), export.to_excel_bytes(df, name), f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx")


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
