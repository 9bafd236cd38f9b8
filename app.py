"""Entry point: page config, language switch, shared sidebar filters, navigation over pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

import app_data
import ui
from analytics.metrics import portfolio

HERE = Path(__file__).parent

# (file, zh title, en title, icon, section)
PAGES = (
    ("pages/overview.py", "资产质量总览", "Portfolio overview", ":material/dashboard:", "analysis"),
    ("pages/classification.py", "五级分类与迁徙", "Classification & migration", ":material/stacked_bar_chart:",
     "analysis"),
    ("pages/aging.py", "账龄分析", "Aging (DPD buckets)", ":material/hourglass_bottom:", "analysis"),
    ("pages/vintage.py", "Vintage 分析", "Vintage", ":material/show_chart:", "analysis"),
    ("pages/rollrate.py", "滚动率", "Roll rates", ":material/swap_vert:", "analysis"),
    ("pages/trends.py", "逾期趋势", "Overdue trends", ":material/trending_up:", "analysis"),
    ("pages/causes.py", "逾期原因", "Overdue causes", ":material/troubleshoot:", "analysis"),
    ("pages/drilldown.py", "借据明细", "Loan drill-down", ":material/list:", "analysis"),
    ("pages/data_import.py", "数据导入", "Data import", ":material/upload_file:", "data"),
    ("pages/model.py", "违约风险模型", "Default-risk model", ":material/model_training:", "analysis"),
)
SECTIONS = {"analysis": ("组合分析", "Portfolio analysis"), "data": ("数据", "Data")}

if PagesManager.uses_pages_directory:
    # The pages/ folder next to app.py makes Streamlit run the first script run of a new server in its
    # legacy multipage mode, where the sidebar widgets get other ids than in every later run: the first
    # click after a start would reset the language and the filters. st.navigation switches that mode off
    # for the process; do it before any widget exists and start the run again.
    PagesManager.uses_pages_directory = False
    st.rerun()

st.set_page_config(page_title="逾期贷款分析驾驶舱 · Overdue Loan Analytics", page_icon=":bar_chart:", layout="wide")

# The sidebar widgets' values: st.switch_page (the drill-down buttons) drops them from st.session_state,
# so a copy is kept under another key and put back before the widgets are drawn.
SHARED = ("lang", "f_month", "f_branches", "f_products")
for key in SHARED:
    if key not in st.session_state and f"kept_{key}" in st.session_state:
        st.session_state[key] = st.session_state[f"kept_{key}"]
st.session_state.setdefault("lang", "zh")


def sidebar_filters() -> None:
    """As-of month, branches and products: shared by every page through st.session_state."""
    dims = app_data.run(portfolio.dimensions)
    months = dims["months"]
    if st.session_state.get("f_month") not in months:
        st.session_state["f_month"] = months[-1]
    st.sidebar.selectbox(ui.tr("数据月份", "As-of month"), months, key="f_month",
                         format_func=ui.month_label)
    names = dict(dims["branches"])
    st.sidebar.multiselect(ui.tr("机构（空 = 全部）", "Branches (empty = all)"), list(names), key="f_branches",
                           format_func=lambda b: f"{b} {names[b]}")
    # Labels are resolved now, during the run: a format_func must not read the language later.
    product_names = {p: ui.label("product", p) for p in dims["products"]}
    st.sidebar.multiselect(ui.tr("产品（空 = 全部）", "Products (empty = all)"), dims["products"], key="f_products",
                           format_func=product_names.get)


st.sidebar.radio("语言 / Language", ["zh", "en"], key="lang", horizontal=True,
                 format_func=lambda v: "中文" if v == "zh" else "English")
if app_data.has_data():
    sidebar_filters()

for key in SHARED:
    if key in st.session_state:
        st.session_state[f"kept_{key}"] = st.session_state[key]

sections: dict[str, list] = {}
for path, zh, en, icon, section in PAGES:
    if (HERE / path).exists():
        page = st.Page(path, title=ui.tr(zh, en), icon=icon, default=path == PAGES[0][0])
        sections.setdefault(ui.tr(*SECTIONS[section]), []).append(page)
st.navigation(sections).run()
