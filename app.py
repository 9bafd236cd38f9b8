"""Entry point: page config, language switch, shared sidebar filters, navigation over pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

import app_data
import auth
import ui

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
    ("pages/executive.py", "管理层季度压降汇总", "Quarterly reduction summary", ":material/insights:", "executive"),
    ("pages/data_import.py", "数据导入", "Data import", ":material/upload_file:", "data"),
    ("pages/admin.py", "用户与审计", "Users & audit", ":material/admin_panel_settings:", "data"),
    ("pages/collections.py", "清收绩效", "Collection performance", ":material/support_agent:", "collections"),
    ("pages/model.py", "违约风险模型", "Default-risk model", ":material/model_training:", "analysis"),
    ("pages/warnings.py", "逾期预警", "Early warning", ":material/warning:", "collections"),
    ("pages/scenarios.py", "情景分析", "Scenarios", ":material/science:", "analysis"),
    ("pages/customer.py", "客户视图", "Customer view", ":material/person_search:", "collections"),
)
SECTIONS = {"executive": ("管理层", "Management"), "analysis": ("组合分析", "Portfolio analysis"), "data": ("数据", "Data"),
            "collections": ("清收催收", "Collections")}

if PagesManager.uses_pages_directory:
    # The pages/ folder next to app.py makes Streamlit run the first script run of a new server in its
    # legacy multipage mode, where the sidebar widgets get other ids than in every later run: the first
    # click after a start would reset the language and the filters. st.navigation switches that mode off
    # for the process; do it before any widget exists and start the run again.
    PagesManager.uses_pages_directory = False
    st.rerun()

st.set_page_config(page_title="逾期贷款分析驾驶舱 · Overdue Loan Analytics", page_icon=":bar_chart:", layout="wide")

auth.gate()
app_data.begin_run()  # one store version for every query of this run
damaged = app_data.damaged()
if damaged:
    # A damaged file (truncated, overwritten) must not take every page down: name it, offer the repair.
    files = "\n".join(f"- `{f}`" for f in damaged[:10])
    st.error(ui.tr(f"数据目录中以下文件已损坏，分析页面暂不可用：\n{files}\n\n修复：在“数据导入”页面恢复写入该文件的那次导入，"
                   "或重新导入该月份（勾选替换）。",
                   f"These files of the data folder are damaged; the analysis pages are unavailable:\n{files}\n\n"
                   "Repair: on the Data import page, restore the load that wrote the file, or load that month again "
                   "(replace)."))

ui.sidebar()

sections: dict[str, list] = {}
# Pages a role may not use are not offered at all (and check the permission themselves too).
NEEDS = {"pages/data_import.py": "import", "pages/admin.py": "manage_users"}
for path, zh, en, icon, section in PAGES:
    if damaged and section != "data":
        continue
    if (HERE / path).exists() and auth.can(NEEDS.get(path, "read")):
        page = st.Page(path, title=ui.tr(zh, en), icon=icon, default=path == PAGES[0][0] or (bool(damaged) and
                                                                                      path == "pages/data_import.py"))
        sections.setdefault(ui.tr(*SECTIONS[section]), []).append(page)
st.navigation(sections, expanded=True).run()
