"""Streamlit helpers shared by every page: language, filters, formatting, tables, downloads, drill links.

Texts are written inline and bilingual: ``tr("中文", "English")``. Code labels (products, classes,
causes, buckets ...) come from the catalogue in ``labels.py`` through ``label``. Widget option labels are
resolved during the run (``options``), so a ``format_func`` never needs the language later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import polars as pl
import streamlit as st

import formats
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


def with_first_column(df: pl.DataFrame, name: str, value: object) -> pl.DataFrame:
    """``df`` with a constant column ``name`` first (e.g. the loan id on one loan's history)."""
    return df.select(pl.lit(value).alias(name), pl.all())


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


# --- formatting (the rules live in formats.py) ------------------------------------------------------


def fmt_money(value: float | None, unit: tuple[float, str] | None = None) -> str:
    """Yuan in the unit that fits (亿元 / 万元 / 元; CNY bn / m / k)."""
    return formats.money(value, lang(), unit)


def fmt_pct(value: float | None, digits: int = formats.PCT_DIGITS) -> str:
    return formats.pct(value, digits)


def fmt_pp(value: float | None) -> str:
    """A change of a ratio in percentage points."""
    return formats.pp(value)


def fmt_count(value) -> str:
    return formats.count(value)


def kpi(container, label: str, value, *, kind: str, change=None, up_is: str = "good", help: str | None = None,
        unit: tuple[float, str] | None = None) -> None:
    """A KPI tile. ``kind`` "money" (the unit fitted to the value goes into the label, so the number never
    truncates), "pct" or "count"; ``change`` the change as a number, its arrow and colour decided by its sign
    and ``up_is`` ("good", "bad", "neutral"), never by the text."""
    if kind == "money":
        divisor, name = unit or formats.money_unit(value, lang())
        shown = formats.money_number(value, divisor)
        label = f"{label}（{name}）" if lang() == "zh" else f"{label} ({name})"
    elif kind == "pct":
        divisor, shown = 1.0, formats.pct(value)
    else:
        divisor, shown = 1.0, formats.count(value)
    d = formats.delta(change, kind=kind, lang=lang(), up_is=up_is, divisor=divisor)
    container.metric(label, shown, d.text, delta_color=d.color, delta_arrow=d.arrow, border=True, help=help)


def column_name(field: str) -> str:
    return labels.column(field, lang())


def _display_frame(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col(n).cast(pl.Float64) for n, t in df.schema.items() if isinstance(t, pl.Decimal))


def table_view(df: pl.DataFrame, *, money: tuple[str, ...] = (), pct: tuple[str, ...] = (), pp: tuple[str, ...] = (),
               headers: dict[str, str] | None = None, codes: dict[str, str] | None = None
               ) -> tuple[pl.DataFrame, dict[str, str]]:
    """The frame a user sees: codes as labels, every column named from the catalogue (or ``headers``),
    amounts with their unit; and each shown column's kind (money, pct, pp, count, month, number)."""
    shown = labels.with_column_codes(df, lang(), codes)
    kinds = export.column_kinds(shown, {c: "money" for c in money} | {c: "pct" for c in pct} | {c: "pp" for c in pp})
    names: dict[str, str] = {}
    for c in df.columns:
        name = (headers or {}).get(c) or column_name(c)
        if kinds.get(c) == "money" and not any(u in name for u in ("元", "CNY", "笔", "loans")):
            name += tr("(元)", " (CNY)")
        while name in names.values():
            name += " "
        names[c] = name
    return shown.rename(names), {names[c]: k for c, k in kinds.items()}


# Ratios are shown with 2 decimals ("3.70%", never "3.7%": the grid's "percent" format drops trailing zeros)
# through a printf format on the ratio in percent: the frame sent to the grid holds ratio x 100 (the downloads
# keep the ratio itself). No pandas Styler: the table goes to the browser as Arrow straight from Polars.
PCT_FORMAT = "%.2f%%"
PP_FORMAT = "%+.2f pp"


def _grid_frame(frame: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """The frame sent to the grid: ratio and percentage-point columns x 100 (formatted by ``_column_config``)."""
    return frame.with_columns((pl.col(c) * 100).alias(c) for c, k in kinds.items() if k in ("pct", "pp"))


def _column_config(kinds: dict[str, str]) -> dict:
    config = {}
    for c, kind in kinds.items():
        if kind == "money":
            config[c] = st.column_config.NumberColumn(format="%,.2f", width="medium")
        elif kind in ("pct", "pp"):  # the grid frame holds x 100 (_grid_frame)
            config[c] = st.column_config.NumberColumn(format=PCT_FORMAT if kind == "pct" else PP_FORMAT)
        elif kind == "count":
            config[c] = st.column_config.NumberColumn(format="%,d")
        elif kind == "month":
            config[c] = st.column_config.DateColumn(format="YYYY-MM")
        elif kind == "number":
            config[c] = st.column_config.NumberColumn(format="%,.2f")
    return config


def show_table(df: pl.DataFrame, key: str, *, money: tuple[str, ...] = (), pct: tuple[str, ...] = (),
               pp: tuple[str, ...] = (), headers: dict[str, str] | None = None, name: str = "table",
               height: int | None = None, selectable: bool | str = False, codes: dict[str, str] | None = None):
    """A formatted table (labels from the column catalogue, thousands separators, percentages with 2
    decimals, months as 2026-10) with CSV and Excel downloads. ``selectable``: True (or "row") = one row can be
    clicked, returns the selected row numbers; "cell" = one cell, returns [(row, field)]; else None."""
    if df.is_empty():
        empty_notice()
        return None
    shown, kinds = table_view(df, money=money, pct=pct, pp=pp, headers=headers, codes=codes)
    mode = "single-cell" if selectable == "cell" else "single-row"
    extra = {"on_select": "rerun", "selection_mode": mode} if selectable else {}
    offset = _page_offset(shown.height, key)
    data = _grid_frame(_display_frame(shown.slice(offset, PAGE_ROWS)), kinds)
    event = st.dataframe(data, key=key, column_config=_column_config(kinds),
                         hide_index=True,
                         width="stretch", height=height if height else "auto", placeholder="—", **extra)
    download_buttons(shown, name, key, kinds)
    if selectable == "cell":
        back = {shown_name: field for field, shown_name in zip(df.columns, shown.columns, strict=True)}
        return [(row + offset, back.get(col, col)) for row, col in (event["selection"].get("cells") or [])]
    if selectable:
        return [row + offset for row in event["selection"].get("rows") or []]
    return None


PAGE_ROWS = 1_000  # rows sent to the browser per page of a table; the downloads always hold every row


def _page_offset(rows: int, key: str) -> int:
    """The first row of the page the user picked (a page picker appears only above ``PAGE_ROWS`` rows)."""
    if rows <= PAGE_ROWS:
        return 0
    pages = -(-rows // PAGE_ROWS)
    c1, c2 = st.columns([1, 3])
    page = c1.number_input(tr("页码", "Page"), min_value=1, max_value=pages, value=1, step=1, key=f"{key}_page")
    first = (int(page) - 1) * PAGE_ROWS
    c2.caption(tr(f"共 {rows:,} 行，每页 {PAGE_ROWS:,} 行，显示第 {first + 1:,}–{min(first + PAGE_ROWS, rows):,} 行；"
                  "下载文件包含全部行。",
                  f"{rows:,} rows, {PAGE_ROWS:,} per page: rows {first + 1:,}–{min(first + PAGE_ROWS, rows):,} shown; "
                  "the downloads hold every row."))
    return first


def _audit_export(name: str, fmt: str, rows: int) -> None:
    import auth
    from analytics import access

    access.audit("export", auth.current().username, {"table": name, "format": fmt, "rows": rows})


def _export_file(build, name: str, fmt: str, rows: int, who: str) -> bytes:
    """Build a download's file when its button is clicked and write the export to the audit log. Runs outside
    the script (no session state), so the user is passed in."""
    from analytics import access

    data = build()
    access.audit("export", who, {"table": name, "format": fmt, "rows": rows})
    return data


def download_buttons(df: pl.DataFrame, name: str, key: str, kinds: dict[str, str] | None = None) -> None:
    """CSV and Excel downloads, for roles allowed to export; every download is in the audit log."""
    import auth

    if not auth.can("export"):
        return
    who = auth.current().username
    c1, c2, _ = st.columns([1, 1, 4])
    # The files are built on click (a callable), not on every run: a 100,000-row Excel file takes seconds. No
    # rerun on click ("ignore"): a rerun replaces the deferred file, and on a slow machine the browser then asks
    # for a file that is gone and the download never starts.
    c1.download_button(tr("下载 CSV", "Download CSV"),
                       partial(_export_file, partial(export.to_csv_bytes, df, kinds), name, "csv", df.height, who),
                       f"{name}.csv", "text/csv", key=f"{key}_csv", on_click="ignore")
    c2.download_button(tr("下载 Excel", "Download Excel"),
                       partial(_export_file, partial(export.to_excel_bytes, df, name, kinds), name, "xlsx",
                               df.height, who),
                       f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
                       on_click="ignore")


def empty_notice() -> None:
    st.info(tr("当前筛选条件下没有数据，请调整左侧的机构、产品或月份。",
               "No data for the current filters. Change the branch, product or month in the sidebar."))


def definition(zh: str, en: str) -> None:
    """Show the definition basis (口径) of the numbers on the page."""
    with st.expander(tr("口径说明", "Definitions (口径)")):
        st.markdown(tr(zh, en))


def _has_dates(values) -> bool:
    if values is None or len(values) == 0:
        return False
    first = next((v for v in values if v is not None), None)
    return isinstance(first, (dt.date, dt.datetime))


def _axes_update(fig: go.Figure) -> dict:
    """The layout update of the shared axis rules (see ``tidy_axes``), one dict for one ``update_layout`` call:
    Plotly validates every update, and one call per axis rule cost more server time than the page's numbers."""
    layout = fig.layout.to_plotly_json()
    update: dict = {}
    if any(_has_dates(getattr(t, "x", None)) for t in fig.data):
        tick = formats.month_tickformat(lang())
        for name in sorted({"xaxis", *(k for k in layout if k.startswith("xaxis"))}):
            update[name] = {"tickformat": tick, "hoverformat": tick}
    # tickmode "auto": plain round ticks on both axes of a dual-axis chart (never ticks synced to the other axis)
    for name in sorted({"yaxis", *(k for k in layout if k.startswith("yaxis"))}):
        axis = {"exponentformat": "none", "separatethousands": True, "tickmode": "auto", "nticks": 8}
        if (layout.get(name) or {}).get("type") == "log":
            axis |= {"dtick": 1, "minor": {"showgrid": False}}
        update[name] = axis
    return update


def tidy_axes(fig: go.Figure) -> go.Figure:
    """The axis rules of every chart: month axes read 2026-10 (2026年10月 in Chinese, never English month
    names), amounts without SI suffixes ("50k 万元") and with thousands separators, log axes labelled at
    powers of ten only."""
    return fig.update_layout(_axes_update(fig))


def chart(fig: go.Figure, key: str, *, select: bool = False):
    """Draw a Plotly figure with the shared axis rules. ``select``: a click on a point or bar reruns the
    page; returns the selected points (dicts with x, y, curve_number, point_index ...), else None."""
    fig.update_layout({"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend_title_text": ""} | _axes_update(fig))
    if select:
        event = st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False}, on_select="rerun",
                                selection_mode=("points",))
        return list(((event or {}).get("selection") or {}).get("points") or [])
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})
    return None


def view(key: str, names: dict[str, str]) -> str:
    """The part of a page drawn now (``names``: code -> label, the first is the default), picked with a segmented
    control under the page title. A page of several analyses draws one at a time: the browser redraws every chart
    and grid of a page on each visit (~0.1 s each on two cores), so five charts made a revisit take a second. The
    choice is kept across pages and languages and written to the URL (``PAGE_CHOICES``)."""
    if st.session_state.get(key) not in names:
        st.session_state[key] = next(iter(names))
    return st.segmented_control(tr("视图", "View"), list(names), key=key, required=True, format_func=options(names),
                                label_visibility="collapsed")


def right_axis(name: str) -> str:
    """A series name with the cue that it is read on the right axis."""
    return name + tr("（右轴）", " (right axis)")


def drill_on_select(key: str, selected: list, spec_of) -> None:
    """Click-to-drill: when the user selects a row or a point of the table or chart ``key`` (``selected``: the
    row numbers or point ids of this run), open the loan list ``spec_of(selected[0])``. A selection is used
    once (coming back to the page does not jump to the drill page again)."""
    used = f"_drilled_{key}"
    if not selected:
        st.session_state.pop(used, None)
        return
    signature = repr(selected[0])
    if st.session_state.get(used) == signature:
        return
    st.session_state[used] = signature
    spec = spec_of(selected[0])
    if spec is not None:
        st.session_state["drill_spec"] = spec
        st.switch_page(DRILL_PAGE)


def drill_button(spec: DrillSpec, key: str, text: str | None = None) -> None:
    """A button that opens the loan list behind ``spec``."""
    if st.button(text or tr("查看明细借据", "Show the loans"), key=key):
        st.session_state["drill_spec"] = spec
        st.switch_page(DRILL_PAGE)


EMPTY_DEMO_LOANS = 20_000  # the demo book offered on an empty data folder (a few seconds to generate)


def template_csv(table: str) -> bytes:
    """An empty import template of a contract table: a row of Chinese column names and a row of the contract's
    field names (keep the one you fill in; the importer maps either)."""
    import csv
    import io

    from analytics.core import schema

    cols = schema.TABLES[table].columns
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.zh for c in cols])
    writer.writerow([c.name for c in cols])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def empty_store() -> None:
    """What an empty data folder offers: generate the demo book here, go to the import page, or download the
    import templates (one per contract table)."""
    import app_data
    from analytics.core import schema, store
    from analytics.tools import demo

    root = store.data_root()
    st.warning(tr(f"数据目录（{root}）中还没有贷款数据。", f"The data folder ({root}) has no loan data yet."))
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(tr("**试用**：生成一套演示数据（虚构的贷款组合）。", "**Try it**: generate a demo book (a made-up portfolio)."))
        if st.button(tr(f"生成演示数据（{EMPTY_DEMO_LOANS:,} 笔贷款）", f"Generate the demo book ({EMPTY_DEMO_LOANS:,} loans)"),
                     key="empty_demo", type="primary"):
            with st.spinner(tr("正在生成演示数据…", "Generating the demo book…")):
                demo.write_demo(root, demo.generate(n_loans=EMPTY_DEMO_LOANS))
            app_data.clear()
            st.rerun()
    with c2:
        st.markdown(tr("**导入本行数据**：按模板准备文件后在“数据导入”页面导入。",
                       "**Load your bank's data**: prepare files like the templates, then load them on the Data import page."))
        st.page_link("pages/data_import.py", label=tr("前往数据导入", "Go to Data import"), icon=":material/upload_file:")
    st.caption(tr("导入模板（CSV，第一行中文列名、第二行字段名，保留其一即可）：",
                  "Import templates (CSV; row 1 Chinese names, row 2 field names: keep either):"))
    cols = st.columns(3)
    for i, (name, t) in enumerate(schema.TABLES.items()):
        cols[i % 3].download_button(tr(f"{t.zh}模板", f"{t.en} template"), template_csv(name), f"template_{name}.csv",
                                    "text/csv", key=f"empty_template_{name}")


def through_app() -> None:
    """Make a page run inside app.py. The first run of a freshly started server for a page's own URL
    (``/rollrate``) executes the page alone in Streamlit's legacy pages/ mode, without the sign-in, the sidebar and
    the store pin of app.py: switch that mode off and start the run again through app.py (which then opens the
    page the URL names)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def require_data() -> None:
    """Stop the page when the store is empty, offering the demo book, the import page and templates."""
    through_app()
    import app_data

    if not app_data.has_data():
        empty_store()
        st.stop()


def show_highlighted(df: pl.DataFrame, flags: pl.DataFrame, key: str, *, name: str = "table",
                     color: str = "#f6c8c3", label_columns: int = 1, grey_rows: list[bool] | None = None,
                     headers: dict[str, str] | None = None, selectable: bool = False):
    """A ratio matrix (the first ``label_columns`` columns label the row, the others are ratios shown as %) with
    the cells where the same-shaped ``flags`` frame is true shaded and ``grey_rows`` greyed (small samples);
    columns named from the catalogue; CSV and Excel downloads of the plain values. ``selectable``: one cell
    can be clicked, returns [(row, field)]."""
    if df.is_empty():
        empty_notice()
        return None
    cols = df.columns[label_columns:]
    names = {c: (headers or {}).get(c) or column_name(c) for c in df.columns[:label_columns]}
    # One CSS string per cell, built as a NumPy object matrix (cell-by-cell assignment into the Arrow-backed
    # string frame of pandas 3 made this the slowest part of the vintage page).
    css = np.where(flags.select(cols).fill_null(False).to_numpy().astype(bool), f"background-color: {color}", "")
    css = css.astype(object)
    css[np.asarray(grey_rows or [False] * df.height, dtype=bool), :] = "background-color: #eeeeee; color: #9e9e9e"

    def style(cells: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(css, index=cells.index, columns=cells.columns)

    frame = _display_frame(df).rename(names).to_pandas()
    styler = frame.style.format({c: "{:.2%}" for c in cols}, na_rep="").format(
        {names[c]: "{:,}" for c in df.columns[:label_columns] if df.schema[c].is_integer()}).apply(
        style, axis=None, subset=cols)
    extra = {"on_select": "rerun", "selection_mode": "single-cell"} if selectable else {}
    event = st.dataframe(styler, key=key, hide_index=True, width="stretch", placeholder="—", **extra)
    shown = df.rename(names)
    download_buttons(shown, name, key, {c: "pct" for c in cols})
    if selectable:
        back = {names.get(c, c): c for c in df.columns}
        return [(row, back.get(col, col)) for row, col in (event["selection"].get("cells") or [])]
    return None


# --- the sidebar (shared by every page) ----------------------------------------------------------

# The sidebar widgets' values: st.switch_page (the drill-down buttons) drops them from st.session_state,
# so a copy is kept under another key and put back before the widgets are drawn.
SHARED = ("lang", "f_month", "f_branches", "f_products")
_BASIS = ("balance", "count")
# The choices of the pages that make a view (kept across page changes and language switches, and written to
# the URL with the language and the sidebar filters so a view can be shared by link): key -> allowed values
# (a tuple), or int for numbers.
PAGE_CHOICES: dict[str, tuple | type] = {
    "ov_compare": ("mom", "qoq"),
    "cl_preset": ("pboc2002", "mof2012", "custom"), "cl_basis": _BASIS, "cl_period": ("month", "quarter", "ytd", "custom"),
    "cl_matrix_measure": _BASIS,
    "ag_scheme": ("m", "reg"), "ag_measure": _BASIS, "ag_by": ("branch_id", "product"),
    "vt_grain": ("month", "quarter"), "vt_metric": ("ever30", "ever60", "ever90", "pit30", "pit60", "pit90"),
    "vt_basis": ("count", "balance"), "vt_min_n": int,
    "rr_basis": _BASIS, "rr_window": int, "rr_min_n": int,
    "tr_metric": ("overdue_ratio", "npl_ratio", "new_overdue"), "tr_basis": _BASIS,
    "tr_dim": ("total", "branch", "product"), "tr_freq": ("month", "quarter"),
    "ca_basis": _BASIS, "ca_dim": ("branch", "product"),
    "rr_view": ("matrix", "rolls", "flow"), "cl_view": ("structure", "trend", "floor", "migration"),
    "vt_view": ("curves", "triangle"), "ca_view": ("pareto", "mix", "cross"),
}
KEPT = SHARED + tuple(PAGE_CHOICES)
# KPI tile labels wrap instead of being cut with an ellipsis: the unit (亿元 / CNY m) is in the label.
TILE_CSS = """<style>
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; height: auto !important;
}
@media (max-width: 1280px) { [data-testid="stMetricValue"] { font-size: 1.8rem !important; } }
@media (max-width: 1100px) { [data-testid="stMetricValue"] { font-size: 1.15rem !important; } }
</style>"""


def _to_url(key: str, value) -> str | None:
    if value is None:
        return None
    if key == "f_month":
        return f"{value:%Y-%m}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or None
    return str(value)


def _from_url(key: str, text: str, months: list[dt.date] | None):
    """A URL value back to the widget's value; None when it is not a valid choice."""
    if key == "lang":
        return text if text in ("zh", "en") else None
    if key == "f_month":
        return next((m for m in months or [] if f"{m:%Y-%m}" == text), None)
    if key in ("f_branches", "f_products"):
        return [v for v in text.split(",") if v]
    allowed = PAGE_CHOICES.get(key)
    if allowed is int:
        return int(text) if text.isdigit() and int(text) > 0 else None
    return text if allowed and text in allowed else None


def _read_url(months: list[dt.date] | None) -> None:
    """Once per session: the view in the URL (a shared link or a reload) becomes the session's choices."""
    if st.session_state.get("_url_read"):
        return
    st.session_state["_url_read"] = True
    for key in KEPT:
        text = st.query_params.get(key)
        if text is None:
            continue
        value = _from_url(key, text, months)
        if value is not None:
            st.session_state[key] = value
            st.session_state[f"kept_{key}"] = value


def _write_url() -> None:
    for key in KEPT:
        text = _to_url(key, st.session_state.get(f"kept_{key}"))
        if text is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != text:
            st.query_params[key] = text


def sidebar() -> None:
    """Language switch and the shared filters (as-of month, branches, products), kept across page switches
    together with the pages' choices (``PAGE_CHOICES``), and mirrored in the URL."""
    import app_data
    from analytics.metrics import portfolio

    st.html(TILE_CSS)
    has_data = app_data.has_data()
    dims = app_data.run(portfolio.dimensions) if has_data else None
    _read_url(dims["months"] if dims else None)
    for key in KEPT:
        if key in st.session_state:  # the latest value (a widget drawn in the previous run)
            st.session_state[f"kept_{key}"] = st.session_state[key]
        elif f"kept_{key}" in st.session_state:  # its page was not drawn since: put the choice back
            st.session_state[key] = st.session_state[f"kept_{key}"]
    st.session_state.setdefault("lang", "zh")
    st.sidebar.radio("语言 / Language", ["zh", "en"], key="lang", horizontal=True,
                     format_func=options({"zh": "中文", "en": "English"}))
    if has_data:
        months = dims["months"]
        if st.session_state.get("f_month") not in months:
            st.session_state["f_month"] = months[-1]
        st.sidebar.selectbox(tr("数据月份", "As-of month"), months, key="f_month", format_func=month_label)
        names = {b: f"{b} {n}" for b, n in dims["branches"]}
        if any(b not in names for b in st.session_state.get("f_branches") or ()):
            st.session_state["f_branches"] = [b for b in st.session_state["f_branches"] if b in names]
        st.sidebar.multiselect(tr("机构（空 = 全部）", "Branches (empty = all)"), list(names), key="f_branches",
                               format_func=options(names))
        if any(p not in dims["products"] for p in st.session_state.get("f_products") or ()):
            st.session_state["f_products"] = [p for p in st.session_state["f_products"] if p in dims["products"]]
        st.sidebar.multiselect(tr("产品（空 = 全部）", "Products (empty = all)"), dims["products"],
                               key="f_products",
                               format_func=options({p: label("product", p) for p in dims["products"]}))
    for key in SHARED:
        if key in st.session_state:
            st.session_state[f"kept_{key}"] = st.session_state[key]
    _write_url()


# --- labels for analytics codes ---------------------------------------------------------------------


def bucket_labels(scheme: str) -> list[str]:
    """Labels of DPD buckets 0..7 of ``scheme`` ("m" or "reg")."""
    return labels.bucket_labels(scheme, lang())


def aging_report_view(report: pl.DataFrame, scheme: str) -> pl.DataFrame:
    """The aging report with bucket and cause labels in the language of the run."""
    return labels.aging_report_view(report, scheme, lang())
