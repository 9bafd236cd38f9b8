"""客户视图 / Customer view: one customer's loans across branches and products, what it owes (penalty interest,
the notice amount), its grade, blacklist status, warnings, collection history, notices, return visits and credit-report
status strings; the grading of all customers, the blacklist, the penalty-interest accounts, the monthly credit-report
export, return visits and satisfaction, and the parameters behind them."""

from __future__ import annotations

import json

import streamlit as st

import app_data
import auth
import ui
from analytics import access
from analytics.core import months as mo
from analytics.customer import blacklist as bl
from analytics.customer import credit_report as cr
from analytics.customer import grading as gr
from analytics.customer import penalty as pn
from analytics.customer import view as cv
from analytics.metrics import satisfaction as sat
from analytics.model.artifact import ArtifactError
from analytics.warning import notices as nt
from analytics.warning import report as rp
from analytics.warning import rules as wr

ui.require_data()
f = ui.filters()
lang = ui.lang()
st.title(ui.tr("客户视图", "Customer view"))


def _config(name: str, default: dict, validate, error):
    version, saved = app_data.load_config(name, default)
    try:
        return version, validate(saved)
    except error as exc:
        st.error(ui.tr(f"已保存的配置 {name} 无法使用（{exc}），改用默认值。",
                       f"The saved configuration {name} cannot be used ({exc}); using the defaults."))
        return 0, validate(default)


pen_version, pen_rules = _config(pn.CONFIG_NAME, pn.default_rules(), pn.validate, pn.PenaltyError)
grade_version, grade_rules = _config(gr.CONFIG_NAME, gr.default_rules(), gr.validate, gr.GradingError)
bl_version, bl_rules = _config(bl.RULES_CONFIG, bl.default_rules(), bl.validate, bl.BlacklistError)
records_version, records = app_data.load_config(bl.CONFIG_NAME, bl.empty())
warn_version, warn_rules = app_data.load_config(wr.CONFIG_NAME, wr.default_rules())
try:
    warn_text = wr.dumps(warn_rules)
except wr.RuleError:
    warn_text = wr.dumps(wr.default_rules())
_, templates = app_data.load_config(nt.CONFIG_NAME, nt.default_templates())
try:
    templates_text = json.dumps(nt.validate(templates), sort_keys=True, ensure_ascii=False)
except nt.TemplateError:
    templates_text = ""
PEN, GRADE, BLR = pn.dumps(pen_rules), gr.dumps(grade_rules), bl.dumps(bl_rules)
RECORDS = bl.dumps_records(records)
H = rp.headers(lang)


def reasons_text(df):
    """The reasons list column as labelled text (warning signals and blacklist reasons)."""
    return rp.labelled(df, lang)


VIEWS = {"view": ("客户视图", "Customer"), "grades": ("客户分级", "Grading"), "blacklist": ("黑名单", "Blacklist"),
         "penalty": ("宽限期与罚息", "Grace & penalty"), "credit": ("征信报送", "Credit reporting"),
         "satisfaction": ("回访与满意度", "Visits & satisfaction"), "settings": ("参数配置", "Parameters")}
view = st.radio(ui.tr("视图", "View"), list(VIEWS), key="cu_view", horizontal=True,
                format_func=ui.options({k: ui.tr(*v) for k, v in VIEWS.items()}))


def with_model(fn, **kwargs):
    try:
        return app_data.run_model(fn, **kwargs), True
    except ArtifactError:
        return app_data.run(fn, **kwargs), False


# --- one customer ------------------------------------------------------------------------------------------
if view == "view":
    graded = app_data.run(gr.grades, month=f.month, rules=GRADE, branches=f.branches, products=f.products)
    text = st.text_input(ui.tr("按客户号或借据号查找", "Find by customer or loan id"), key="cu_search").strip()
    if text:
        found = app_data.run(cv.find_customers, text=text, month=f.month, branches=f.branches)
        ids = found["customer_id"].to_list()
    else:  # the customers most in need of attention: worst DPD, then balance
        ids = graded.sort(["dpd", "balance"], descending=True)["customer_id"].head(50).to_list()
    if not ids:
        st.info(ui.tr("没有找到客户。", "No customer found."))
        st.stop()
    if st.session_state.get("cu_customer") not in ids:
        st.session_state["cu_customer"] = ids[0]
    customer = st.selectbox(ui.tr("客户", "Customer"), ids, key="cu_customer")
    loans, has_model = with_model(cv.customer_loans_with_pd, customer_id=customer, month=f.month,
                                  branches=f.branches)
    if loans.is_empty():
        st.info(ui.tr("没有找到客户。", "No customer found."))
        st.stop()
    s = cv.summary(loans)
    me = graded.filter(graded["customer_id"] == customer)
    grade = me["grade"][0] if me.height else None
    listed = app_data.run(bl.listing, month=f.month, records=RECORDS, rules=BLR, grade_rules=GRADE,
                          branches=f.branches, products=f.products)
    is_listed = customer in set(listed["customer_id"].to_list())
    c = st.columns(6)
    ui.kpi(c[0], ui.tr("贷款余额", "Exposure"), s["exposure"], kind="money")
    ui.kpi(c[1], ui.tr("逾期金额", "Overdue"), s["overdue_amount"], kind="money")
    ui.kpi(c[2], ui.tr("最长逾期天数", "Worst DPD"), s["worst_dpd"], kind="count")
    ui.kpi(c[3], ui.tr("借据 / 机构 / 产品", "Loans / branches / products"), s["loans_count"], kind="count",
           help=ui.tr(f"{s['loans_count']} 笔（在贷 {s['active_count']}），{s['branches_count']} 家机构，"
                      f"{s['products_count']} 种产品", f"{s['loans_count']} loans ({s['active_count']} active), "
                      f"{s['branches_count']} branches, {s['products_count']} products"))
    c[4].metric(ui.tr("违约概率PD(最高)", "PD (highest)"), ui.fmt_pct(s["max_pd"]) if s["max_pd"] is not None else "—",
                border=True, help=None if has_model else ui.tr("尚未训练模型", "No model trained yet"))
    c[5].metric(ui.tr("客户分级", "Grade"), grade if grade in gr.GRADES else "—", border=True,
                help=ui.label("customer_grade", grade) if grade else None)
    if grade:
        st.caption(ui.label("customer_grade", grade) + " · " + ui.tr("建议措施：", "recommended action: ")
                   + ui.label("grade_action", me["action"][0]))
    if is_listed:
        row = listed.filter(listed["customer_id"] == customer).row(0, named=True)
        why = "、".join(ui.label("blacklist_reason", r) for r in row["reasons"])
        st.error(ui.tr(f"该客户在黑名单中（{why}{'：' + row['note'] if row['note'] else ''}）。新增授信须拒绝。",
                       f"This customer is blacklisted ({why}{': ' + row['note'] if row['note'] else ''}). "
                       "Refuse new credit."))

    st.subheader(ui.tr("全部借据", "All loans"))
    ui.show_table(loans.drop("branch_id"), "cu_loans", money=("principal", "outstanding_principal",
                                                                "overdue_principal", "overdue_interest",
                                                                "amount_due", "amount_paid"),
                  pct=("annual_rate", "pd"), name="customer_loans")

    st.subheader(ui.tr("当前应还与通知金额", "Owed today and the notice amount"))
    active_ids = tuple(loans.filter(loans["status"] == "active")["loan_id"].to_list())
    owed = app_data.run(pn.owed, month=f.month, rules=PEN, branches=f.branches, loan_ids=active_ids) \
        if active_ids else None
    if owed is None or owed.is_empty():
        st.info(ui.tr("该客户当前没有逾期借据。", "Nothing overdue on this customer's loans."))
    else:
        ui.show_table(owed.drop("customer_id", "branch_id"), "cu_owed",
                      money=("overdue_principal", "overdue_interest", "penalty_owed", "pending", "owed_total",
                             "quote_total"), name="customer_owed")

    if active_ids:
        st.subheader(ui.tr("逐月罚息（近12个月）", "Penalty interest by month (last 12 months)"))
        ui.show_table(app_data.run(pn.loan_months, month_from=mo.add_months(f.month, -11), month_to=f.month, rules=PEN,
                                   branches=f.branches, loan_ids=active_ids).drop("customer_id", "branch_id", "product"),
                      "cu_pen_loan", money=("overdue_principal", "overdue_interest", "penalty", "compound", "pending",
                                            "spell_penalty"), name="customer_penalty_by_month")
    st.subheader(ui.tr("24个月还款状态（征信口径）", "24-month repayment status (credit report)"))
    hist = app_data.run(cr.histories, month=f.month, branches=f.branches, customer_ids=(customer,))
    ui.show_table(hist.drop("customer_id", "branch_id"), "cu_hist", name="customer_history")

    st.subheader(ui.tr("预警", "Warnings"))
    mine = app_data.run(bl.warnings, month=f.month, rules=warn_text, records=RECORDS, blacklist_rules=BLR,
                        grade_rules=GRADE, branches=f.branches, products=f.products,
                        loan_ids=tuple(loans["loan_id"].to_list())).select(
        "loan_id", "level", "reasons", "dpd", "balance", "overdue_amount", "crossing_date")
    if mine.is_empty():
        st.info(ui.tr("该客户本月没有预警。", "No warning on this customer this month."))
    else:
        ui.show_table(reasons_text(mine), "cu_warn", money=("balance", "overdue_amount"), headers=H,
                      name="customer_warnings")

    st.subheader(ui.tr("催收记录", "Collection history"))
    ui.show_table(app_data.run(cv.customer_actions, customer_id=customer, month=f.month, branches=f.branches)
                  .drop("branch_id"), "cu_actions", money=("promised_amount", "amount_collected", "cost"),
                  name="customer_actions")
    st.subheader(ui.tr("已发送通知（近6个月批次）", "Notices sent (batches of the last 6 months)"))
    notices = app_data.run(cv.customer_notices, customer_id=customer, month=f.month, templates=templates_text,
                           branches=f.branches)
    ui.show_table(notices.drop("branch_id", "text_en" if lang == "zh" else "text_zh"), "cu_notices",
                  money=("overdue_amount",), name="customer_notices")
    st.subheader(ui.tr("回访与满意度", "Return visits and surveys"))
    ui.show_table(app_data.run(cv.customer_visits, customer_id=customer, month=f.month, branches=f.branches)
                  .drop("branch_id"), "cu_visits", name="customer_visits")
    ui.definition(
        "一个客户 = 同一客户号下的全部借据（跨机构、跨产品）；导入数据没有客户号的借据，以借据号作为客户号（单独一户）。"
        "受机构权限限制的用户只能看到本机构管理的借据。PD 为最新模型对在贷借据的违约概率；通知为各月通知批次对该客户借据生成的内容。",
        "One customer = every loan with its customer id (across branches and products); an imported loan without a "
        "customer id is its own customer (its loan id). A branch-restricted user sees only the loans its branches "
        "manage. PD is the newest model's default probability of each active loan; notices are what each month's "
        "notice batch produced for the customer's loans.")

# --- grading -------------------------------------------------------------------------------------------------
elif view == "grades":
    graded = app_data.run(gr.grades, month=f.month, rules=GRADE, branches=f.branches, products=f.products)
    by = st.radio(ui.tr("分组", "Group by"), ["grade", "branch_id", "collector_id"], key="cu_grade_by", horizontal=True,
                  format_func=ui.options({"grade": ui.tr("仅分级", "Grade only"), "branch_id": ui.tr("机构", "Branch"),
                                          "collector_id": ui.tr("催收员", "Collector")}))
    table = gr.summary(graded, None if by == "grade" else by)
    ui.show_table(table, "cu_grade_table", money=("balance", "overdue_amount"), pct=("share_count", "share_balance"),
                  name="customer_grades")
    pick = st.selectbox(ui.tr("查看该级客户", "Show the customers of grade"), list(gr.ALL_GRADES), key="cu_grade_pick",
                        format_func=ui.options({g: ui.label("customer_grade", g) for g in gr.ALL_GRADES}))
    shown = graded.filter(graded["grade"].fill_null("current") == pick).sort("balance", descending=True)
    st.caption(ui.tr(f"{shown.height:,} 户；在“客户视图”中输入客户号查看详情。",
                     f"{shown.height:,} customers; enter a customer id in the Customer view for the detail."))
    ui.show_table(shown, "cu_grade_list", money=("balance", "overdue_amount"), pct=("pay_ratio",),
                  name="customers_of_grade")
    rules_lines = []
    for i, r in enumerate(grade_rules["rules"], 1):
        conds = [f"{c['field']} {c['op']} {c['value']}" for c in r.get("all", [])]
        anyc = [f"{c['field']} {c['op']} {c['value']}" for c in r.get("any", [])]
        text = " AND ".join(conds + (["(" + " OR ".join(anyc) + ")"] if anyc else [])) or ui.tr("其余", "otherwise")
        rules_lines.append(f"{i}. **{r['grade']}** ← {text}")
    ui.definition(
        f"分级规则表版本 v{grade_version}（0 = 默认），按顺序第一条满足的规则定级；回看 {grade_rules['lookback_months']} 个月，"
        f"还款比例取近 {grade_rules['pay_months']} 个月实还÷应还。回看期内从未逾期的客户不分级。\n\n" + "\n".join(rules_lines),
        f"Grading rule table version v{grade_version} (0 = defaults); the first rule that matches gives the grade; "
        f"lookback {grade_rules['lookback_months']} months, paid ÷ due over the last {grade_rules['pay_months']} months. "
        "Customers never overdue in the lookback are not graded.\n\n" + "\n".join(rules_lines))

# --- blacklist -----------------------------------------------------------------------------------------------
elif view == "blacklist":
    listed = app_data.run(bl.listing, month=f.month, records=RECORDS, rules=BLR, grade_rules=GRADE,
                          branches=f.branches, products=f.products)
    names = {code: ui.label("blacklist_reason", code) for code in bl.REASONS}
    st.caption(ui.tr(f"黑名单 {listed.height:,} 户（规则认定 {listed.filter(listed['list_source'] == 'rule').height:,}）",
                     f"{listed.height:,} customers listed ({listed.filter(listed['list_source'] == 'rule').height:,} "
                     "by rule)"))
    ui.show_table(bl.with_reason_text(listed, names), "cu_bl_list", money=("balance",), name="blacklist")
    st.subheader(ui.tr("新增贷款筛查名单（客户号）", "Screening list for new loans (customer ids)"))
    ui.show_table(bl.screening_ids(listed), "cu_bl_ids", name="blacklist_screening_ids")
    st.subheader(ui.tr("黑名单客户的预警", "Warnings of blacklisted customers"))
    warned = app_data.run(bl.warnings, month=f.month, rules=warn_text, records=RECORDS, blacklist_rules=BLR,
                          grade_rules=GRADE, branches=f.branches, products=f.products)
    mine = warned.filter(warned["blacklisted"]).select("loan_id", "customer_id", "level", "reasons", "dpd", "balance")
    ui.show_table(reasons_text(mine), "cu_bl_warn", money=("balance",), headers=H, name="blacklist_warnings")

    st.subheader(ui.tr("列入 / 移出（数据管理员）", "Add / remove (data steward)"))
    may = auth.can("configure")
    c1, c2 = st.columns(2)
    cid = c1.text_input(ui.tr("客户号", "Customer id"), key="cu_bl_id", disabled=not may)
    reason = c2.text_input(ui.tr("原因（必填）", "Reason (required)"), key="cu_bl_reason", disabled=not may)
    b1, b2, _ = st.columns([1, 1, 4])
    for button, fn, event in ((b1.button(ui.tr("列入黑名单", "Add to the blacklist"), key="cu_bl_add", disabled=not may),
                               bl.add, "blacklist_add"),
                              (b2.button(ui.tr("移出黑名单", "Remove"), key="cu_bl_remove", disabled=not may),
                               bl.remove, "blacklist_remove")):
        if button:
            try:
                new = fn(records, customer_id=cid, reason=reason, who=auth.current().username)
            except bl.BlacklistError as exc:
                st.error(exc.zh if lang == "zh" else exc.en)
            else:
                version = app_data.save_config(bl.CONFIG_NAME, new, note=f"{event} {cid.strip()}")
                access.audit(event, auth.current().username,
                             {"customer_id": cid.strip(), "reason": reason.strip(), "version": version})
                st.session_state["cu_bl_notice"] = ui.tr(f"已保存（黑名单版本 {version}）。", f"Saved (blacklist version {version}).")
                st.rerun()
    if st.session_state.get("cu_bl_notice"):
        st.success(st.session_state.pop("cu_bl_notice"))
    st.subheader(ui.tr("人工变更记录", "Manual changes"))
    ui.show_table(bl.records_frame(records).rename({"action": "action_code"}), "cu_bl_records",
                  name="blacklist_records")
    w = bl_rules["wilful"]
    ui.definition(
        f"黑名单规则版本 v{bl_version}，人工记录版本 v{records_version}。规则：欺诈（最近上报的逾期原因为欺诈）"
        f"{'启用' if bl_rules['fraud'] else '停用'}；恶意逃废债（回看期最长逾期 ≥ {w['min_dpd']} 天，且原因为还款意愿差或拒绝还款 ≥ "
        f"{w['min_refused']} 次）{'启用' if w['enabled'] else '停用'}；D类客户{'启用' if bl_rules['grade_d'] else '停用'}。"
        f"人工列入/移出须填写原因，记录操作人与时间并写入审计日志；重新导入数据不影响黑名单。黑名单客户的在贷借据预警等级至少为"
        f"{ui.label('warning_level', bl_rules['warning_level'])}。",
        f"Blacklist rules version v{bl_version}, manual records version v{records_version}. Rules: fraud (latest "
        f"reported cause is fraud) {'on' if bl_rules['fraud'] else 'off'}; wilful default (worst DPD of the lookback "
        f">= {w['min_dpd']} and cause unwilling or >= {w['min_refused']} refusals) {'on' if w['enabled'] else 'off'}; "
        f"grade D {'on' if bl_rules['grade_d'] else 'off'}. Adding or removing needs a reason; who and when are "
        "recorded and audited; a reimport never touches the list. A listed customer's active loans are warned at "
        f"least {ui.label('warning_level', bl_rules['warning_level'])}.")

# --- penalty interest ----------------------------------------------------------------------------------------
elif view == "penalty":
    start = mo.add_months(f.month, -11)
    by_month = app_data.run(pn.by_month, month_from=start, month_to=f.month, rules=PEN, branches=f.branches,
                            products=f.products)
    owed = app_data.run(pn.owed, month=f.month, rules=PEN, branches=f.branches, products=f.products)
    c = st.columns(4)
    last = by_month.filter(by_month["month"] == f.month)
    ui.kpi(c[0], ui.tr("本月罚息+复利", "Penalty + compound this month"),
           float(last["penalty"].sum() + last["compound"].sum()), kind="money")
    ui.kpi(c[1], ui.tr("应收罚息复利(在途)", "Penalty owed (open spells)"), float(owed["penalty_owed"].sum()), kind="money")
    ui.kpi(c[2], ui.tr("当前应还合计", "Owed today"), float(owed["owed_total"].sum()), kind="money")
    ui.kpi(c[3], ui.tr("宽限期内笔数", "Loans in grace"), int(owed["in_grace"].sum()), kind="count",
           help=ui.tr("宽限期内只提醒、不催收、不计罚息；监管逾期天数不变。",
                      "In grace: reminded, not collected, no penalty yet; the regulatory DPD is unchanged."))
    st.subheader(ui.tr("按月计提罚息", "Penalty interest accrued by month"))
    ui.show_table(by_month, "cu_pen_month", money=("penalty", "compound", "pending"), name="penalty_by_month")
    st.subheader(ui.tr("逐笔应还与通知金额", "Owed and notice amount per loan"))
    ui.show_table(owed, "cu_pen_owed", money=("overdue_principal", "overdue_interest", "penalty_owed", "pending",
                                              "owed_total", "quote_total"), name="penalty_owed")
    st.subheader(ui.tr("各产品宽限期与罚息规则", "Grace period and penalty rule per product"))
    ui.show_table(pn.rules_frame(pen_rules).rename({"compound": "compound_rule"}), "cu_pen_rules",
                  pct=("surcharge",), name="penalty_rules")
    ui.definition(
        f"参数版本 v{pen_version}。罚息 = 逾期本金 × 合同年利率 × (1 + 上浮比例) ÷ 360 × 天数；按合同约定对逾期利息按同一罚息利率计收复利。"
        "计息算头不算尾，每日按前一日末余额计提、计入当日所属月份。宽限期：逾期在宽限期内结清的不计罚息，超过宽限期的自到期日起计罚息；"
        "宽限期只决定催收方式和罚息，监管逾期天数（五级分类底线、逾期率）不变。月末快照只有月末余额：本次逾期的首个到期日 = 月末 − 逾期天数，"
        f"月末余额保持到下一个月末。通知金额 = 当前应还 + 至通知还款日（数据日后 {pen_rules['quote_days']} 天）继续计提的罚息复利。"
        "快照不含已收罚息：逾期结清视为罚息一并结清。",
        f"Parameters version v{pen_version}. Penalty = overdue principal × contract rate × (1 + surcharge) ÷ 360 × days; "
        "compound interest on overdue interest at the same rate where the contract says so. A day accrues on the "
        "balance at the end of the day before and belongs to its month. Grace: an overdue cleared within the grace "
        "period carries no penalty; beyond it the penalty runs from the due date. The grace period decides the "
        "collection treatment and the penalty only: the regulatory DPD (class floors, overdue ratios) is unchanged. "
        "The snapshots hold month-end balances: a spell's first due date is the month end minus DPD and a month-end "
        f"balance holds until the next. The notice amount = owed today + the accrual to its pay-by date "
        f"({pen_rules['quote_days']} days after the data date). The snapshots carry no penalty paid: clearing the "
        "overdue is taken to settle the penalty too.")

# --- credit reporting ----------------------------------------------------------------------------------------
elif view == "credit":
    events = app_data.run(cr.reportable_events, month=f.month, branches=f.branches, products=f.products)
    st.subheader(ui.tr(f"{mo.month_label(f.month)} 报送事件", f"Reportable events of {mo.month_label(f.month)}"))
    ui.show_table(events, "cu_cr_events", money=("overdue_principal", "overdue_interest", "overdue_amount",
                                                 "outstanding_principal", "amount_due", "amount_paid", "principal"),
                  name=f"credit_report_{f.month:%Y%m}")
    st.subheader(ui.tr("24个月还款状态（曾逾期借据）", "24-month repayment status (loans overdue in the window)"))
    hist = app_data.run(cr.histories, month=f.month, branches=f.branches, products=f.products, only_overdue=True)
    ui.show_table(hist, "cu_cr_hist", name="repayment_status_24m")
    ui.definition(
        "状态：N 正常；1–7 逾期期数（1–30 天 = 1 … 151–180 天 = 6，180 天以上 = 7）；* 当月无应还；C 结清；"
        "G 核销、转让或以物抵债了结；D 担保人代还（数据中没有代偿人信息，本系统不推断，由报送系统补录）；/ 无记录（放款前或退出后）。"
        "最左为最早月份。报送事件：月末逾期的借据，以及上月逾期、本月还清、结清或了结的借据；首次逾期日 = 月末 − 逾期天数。",
        "Status: N normal; 1–7 periods overdue (1–30 days = 1 … 151–180 = 6, over 180 = 7); * nothing due; "
        "C closed; G written off, sold or foreclosed; D guarantor paid (the data does not say who paid: never "
        "inferred, set in the reporting system); / no record (before opening, after exit). Oldest month on the "
        "left. Events: loans overdue at the month end, and loans overdue last month that are cured, closed or "
        "settled now; first overdue date = month end − DPD.")

# --- return visits and satisfaction --------------------------------------------------------------------------
elif view == "satisfaction":
    sat_version, targets = app_data.load_config(sat.CONFIG_NAME, sat.DEFAULT_TARGETS)
    targets = sat.DEFAULT_TARGETS | targets
    q_to = mo.quarter_start(f.month)
    q_from = mo.add_months(q_to, -9)
    df = app_data.run(sat.by_branch_quarter, quarter_from=q_from, quarter_to=q_to, branches=f.branches,
                      satisfied_min=int(targets["satisfied_min"]), satisfaction_min=float(targets["satisfaction_min"]))
    if df.is_empty():
        st.info(ui.tr("尚无回访数据：在“数据导入”页面导入“回访与满意度”表。",
                      "No return visits yet: load the 'Return visits & surveys' table on the Data import page."))
    else:
        tot = sat.totals(df, satisfaction_min=float(targets["satisfaction_min"]))
        cur = tot.filter(tot["quarter"] == q_to)
        if cur.height:
            r = cur.row(0, named=True)
            c = st.columns(3)
            ui.kpi(c[0], ui.tr("本季满意度", "Satisfaction this quarter"), r["satisfaction_rate"], kind="pct",
                   help=ui.tr(f"目标 ≥ {ui.fmt_pct(targets['satisfaction_min'])}，样本 {r['surveyed_count']:,}",
                              f"target ≥ {ui.fmt_pct(targets['satisfaction_min'])}, n = {r['surveyed_count']:,}"))
            ui.kpi(c[1], ui.tr("本季回访率", "Revisit rate this quarter"), r["revisit_rate"], kind="pct",
                   help=ui.tr(f"逾期客户 {r['overdue_customers_count']:,}", f"{r['overdue_customers_count']:,} overdue customers"))
            ui.kpi(c[2], ui.tr("本季投诉率", "Complaint rate this quarter"), r["complaint_rate"], kind="pct",
                   help=ui.tr(f"回访成功 {r['reached_count']:,}", f"{r['reached_count']:,} reached"))
        st.subheader(ui.tr("按季度（全部机构）", "By quarter (all branches)"))
        ui.show_table(tot, "cu_sat_total", pct=("revisit_rate", "satisfaction_rate", "complaint_rate",
                                                "satisfaction_target"), name="satisfaction_by_quarter")
        st.subheader(ui.tr("按机构与季度", "By branch and quarter"))
        ui.show_table(df, "cu_sat_branch", pct=("revisit_rate", "satisfaction_rate", "complaint_rate",
                                                "satisfaction_target"), name="satisfaction_by_branch")
    ui.definition(
        f"目标版本 v{sat_version}：满意度 ≥ {ui.fmt_pct(targets['satisfaction_min'])}（评分 ≥ {targets['satisfied_min']} 分为满意）。"
        "回访率 = 本季被本机构回访的逾期客户 ÷ 本季任一月末逾期的客户；满意度 = 满意问卷 ÷ 有评分的问卷；投诉率 = 投诉 ÷ 回访成功。"
        "合计先加总分子分母再相除（跨两家机构的客户在两家各计一次）。满意度同时计入管理层页面的项目效果评估。",
        f"Targets version v{sat_version}: satisfaction ≥ {ui.fmt_pct(targets['satisfaction_min'])} (a score ≥ "
        f"{targets['satisfied_min']} is satisfied). Revisit rate = overdue customers the branch visited in the quarter ÷ "
        "customers overdue at a month end of the quarter; satisfaction = satisfied surveys ÷ scored surveys; "
        "complaint rate = complaints ÷ reached visits. Totals sum numerators and denominators first (a customer at "
        "two branches counts at each). Satisfaction also feeds the programme evaluation on the executive page.")

# --- parameters ----------------------------------------------------------------------------------------------
else:
    may = auth.can("configure")
    if not may:
        st.info(ui.tr("只有数据管理员可以修改参数。", "Only a data steward may change the parameters."))
    st.subheader(ui.tr("宽限期与罚息（按产品）", "Grace period and penalty (per product)"))
    frame = pn.rules_frame(pen_rules)
    edited = st.data_editor(frame.to_pandas(), key="cu_pen_editor", hide_index=True, disabled=["product"] if may else True,
                            column_config={"product": ui.tr("产品", "Product"),
                                           "grace_days": ui.tr("宽限期(天)", "Grace days"),
                                           "surcharge": ui.tr("罚息上浮比例", "Surcharge"),
                                           "compound": ui.tr("计收复利", "Compound")})
    quote = st.number_input(ui.tr("通知还款日（数据日后天数）", "Notice pay-by (days after the data date)"), 0, 90,
                            pen_rules["quote_days"], key="cu_pen_quote", disabled=not may)
    if st.button(ui.tr("保存罚息参数", "Save the penalty parameters"), key="cu_pen_save", disabled=not may):
        data = {"products": {r["product"]: {"grace_days": int(r["grace_days"]), "surcharge": float(r["surcharge"]),
                                            "compound": bool(r["compound"])} for r in edited.to_dict("records")},
                "quote_days": int(quote)}
        try:
            version = app_data.save_config(pn.CONFIG_NAME, pn.validate(data))
            st.success(ui.tr(f"已保存版本 {version}。", f"Version {version} saved."))
        except pn.PenaltyError as exc:
            st.error(str(exc))
    for name, title, current, validate, error in (
            (gr.CONFIG_NAME, ui.tr("客户分级规则表（JSON）", "Grading rule table (JSON)"), grade_rules, gr.validate,
             gr.GradingError),
            (bl.RULES_CONFIG, ui.tr("黑名单规则（JSON）", "Blacklist rules (JSON)"), bl_rules, bl.validate,
             bl.BlacklistError)):
        st.subheader(title)
        text = st.text_area(title, json.dumps(current, ensure_ascii=False, indent=1), key=f"cu_cfg_{name}", height=260,
                            disabled=not may, label_visibility="collapsed")
        if st.button(ui.tr("保存", "Save"), key=f"cu_cfg_save_{name}", disabled=not may):
            try:
                version = app_data.save_config(name, validate(json.loads(text)))
                st.success(ui.tr(f"已保存版本 {version}。", f"Version {version} saved."))
            except (ValueError, error) as exc:
                st.error(ui.tr(f"无法保存：{exc}", f"Cannot save: {exc}"))
