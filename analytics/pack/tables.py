"""The summary's tables as display rows (label + formatted or numeric cells), shared by the PDF and Excel."""

from __future__ import annotations

import polars as pl

import labels
from analytics.metrics.assessment import COMPONENTS
from analytics.pack.content import Summary, money, pct


def _fmt(value: float | None, kind: str, lang: str) -> str:
    return money(value, lang) if kind == "money" else pct(value)


def tile_status(value: float | None, target: float | None, better: str) -> str:
    if value is None or target is None:
        return "no_data"
    return "met" if (value <= target if better == "lower" else value >= target) else "missed"


def tiles(s: Summary, lang: str) -> tuple[list[str], list[list[str]]]:
    head = (["指标", "本季", "目标", "上季", "对标"] if lang == "zh"
            else ["Measure", "This quarter", "Target", "Previous quarter", "vs target"])
    rows = [[labels.label("exec_kpi", r["kpi"], lang), _fmt(r["value"], r["kind"], lang),
             _fmt(r["target"], r["kind"], lang), _fmt(r["previous"], r["kind"], lang),
             labels.label("target_status", tile_status(r["value"], r["target"], r["better"]), lang)]
            for r in s.tiles.iter_rows(named=True)]
    return head, rows


def bridge_rows(frame: pl.DataFrame, lang: str) -> list[tuple[str, int, float]]:
    """(line label, loans, amount in yuan) for every line of a bank bridge."""
    return [(labels.label("bridge_line", r["line"], lang), r["loans_count"], float(r["amount"]))
            for r in frame.iter_rows(named=True)]


LEAGUE_COLUMNS = ("rank", "branch_name", "peer_group", "peer_rank", "score", "tier", "veto",
                  *(f"score_{k}" for k in COMPONENTS), "npl_ratio_closing", "npl_ratio_ceiling",
                  "ratio_fall_from_growth")


def league_head(lang: str) -> list[str]:
    zh = lang == "zh"
    fixed = (["排名", "机构", "同组", "组内排名", "得分", "档次", "一票否决"] if zh
             else ["Rank", "Branch", "Peer group", "Peer rank", "Score", "Tier", "Veto"])
    comps = [labels.label("component", k, lang) for k in COMPONENTS]
    tail = (["期末不良率", "不良率上限", "靠增长降率"] if zh else ["NPL ratio", "NPL ratio ceiling", "Ratio fell by growth"])
    return fixed + comps + tail


def league_rows(s: Summary, lang: str) -> list[list[object]]:
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    out = []
    for r in s.league.iter_rows(named=True):
        out.append([r["rank"], r["branch_name"], labels.label("peer_group", r["peer_group"], lang), r["peer_rank"],
                    r["score"], labels.label("tier", r["tier"], lang) if r["tier"] else "—", yes if r["veto"] else no,
                    *(r[f"score_{k}"] for k in COMPONENTS), r["npl_ratio_closing"], r["npl_ratio_ceiling"],
                    yes if r["ratio_fall_from_growth"] else no])
    return out


def programme_rows(s: Summary, lang: str) -> tuple[list[str], list[list[str]]]:
    head = (["目标", "当前值", "目标值", "状态", "样本(笔)"] if lang == "zh"
            else ["Target", "Value", "Goal", "Status", "Sample (loans)"])
    rows = [[labels.label("programme", r["target"], lang), pct(r["value"]),
             ("≤ " if r["kind"] == "ceiling" else "≥ ") + pct(r["goal"]), labels.label("target_status", r["status"], lang),
             f"{r['loans_count']:,}"] for r in s.programme.iter_rows(named=True)]
    return head, rows


DEFINITIONS = {
    "zh": [
        "期初 = 上季末月末快照，期末 = 本季末月末快照（季度未结束时为最近月份）；余额为本金余额；逾期 = 逾期天数 ≥ 1，不良 = 次级/可疑/损失。",
        "余额变动桥：期初或期末属于该口径的每笔贷款只归入一个变动（新增 > 核销/转让/以物抵债 > 结清 > 回正常/上迁 > 存续变动 > 无记录）；"
        "处置或回正常前已收回的本金列为“现金回收”；调出/调入按期初余额计，合计为零；每个机构 期初 + Σ变动 = 期末（精确到分）。",
        "核销后收回：本季对已核销贷款的催收回款，为表外，不计入余额变动桥。",
        "考核：各项得分 = 100 × 完成率（上限封顶）；余额类完成率 = 目标 ÷ 实际，现金清收 = 实际 ÷ 目标，新发生不良与核销额度在额度内满分、超出按比例扣减；"
        "总分 = Σ 权重 × 得分 ÷ 有目标项权重之和 × 难度系数；不良率超上限一票否决（档次封顶）；同组按期末贷款规模三分位排名。",
        "项目评估：新发放贷款不良率、逾期清收回收率（(回正常+结清+现金回收) ÷ 期初逾期余额）、6 个月逾期率降幅、诉讼投入产出比 ((回收 − 成本) ÷ 成本)。",
    ],
    "en": [
        "Opening = the previous quarter's last month end, closing = this quarter's last month end (the latest month of an "
        "incomplete quarter); balance = outstanding principal; overdue = DPD ≥ 1, NPL = substandard/doubtful/loss.",
        "Bridge: every loan in the group at the opening or the closing falls in exactly one movement (new > write-off/"
        "sale/foreclosure > repaid > cured/upgraded > stayer change > no record); principal paid before a disposal or a "
        "cure is 'cash recovered'; transfers between branches move the opening balance and add up to zero; for every "
        "branch opening + Σ lines = closing, to the cent.",
        "Post-write-off recoveries: cash collected this quarter on loans written off earlier; off-balance, not in the bridge.",
        "Assessment: component score = 100 × attainment (capped); balances score target ÷ actual, cash actual ÷ target, "
        "new NPL and write-off full within the quota and proportionally less above it; total = Σ weight × score ÷ Σ "
        "weights with a target × difficulty; an NPL ratio above its ceiling vetoes (caps the tier); peers = closing "
        "loan-size terciles.",
        "Programme: NPL ratio of new loans, overdue recovery rate ((cured + repaid + cash recovered) ÷ opening overdue), "
        "six-month overdue-ratio fall, legal cost-benefit ((recovered − cost) ÷ cost).",
    ],
}


def league_frame(s: Summary, lang: str) -> pl.DataFrame:
    """The league table with display headers (the page shows it as it is)."""
    head = league_head(lang)
    return pl.DataFrame(league_rows(s, lang), schema=head, orient="row", infer_schema_length=None)


COLLECTION_COLUMNS = ("group", "cases_assigned", "coverage", "rpc_rate", "ptp_kept_rate_count", "cash", "cash_prev",
                      "cost_to_collect", "recovery_rate_balance", "cei", "legal_cases", "legal_cost_benefit")


def collection_head(lang: str) -> list[str]:
    return (["团队", "案件数", "覆盖率", "有效联络率", "承诺兑现率", "回款(万元)", "上季回款(万元)", "催收成本率",
             "回收率(余额)", "CEI", "诉讼案件", "诉讼投入产出比"] if lang == "zh" else
            ["Team", "Cases", "Coverage", "RPC rate", "PTP kept", "Cash (CNY 10k)", "Cash prev. Q (CNY 10k)",
             "Cost to collect", "Recovery rate (balance)", "CEI", "Legal cases", "Legal cost-benefit"])


def collection_rows(s: Summary, lang: str) -> list[list[object]]:
    """The collection-efficiency review: (group, count, ratios..., cash in 万元 ...); ``total`` labelled."""
    total = "合计" if lang == "zh" else "Total"
    out = []
    for r in s.collections.iter_rows(named=True):
        out.append([total if r["group"] == "total" else r["group"], r["cases_assigned"], r["coverage"], r["rpc_rate"],
                    r["ptp_kept_rate_count"], None if r["cash"] is None else float(r["cash"]) / 1e4,
                    None if r["cash_prev"] is None else float(r["cash_prev"]) / 1e4, r["cost_to_collect"],
                    r["recovery_rate_balance"], r["cei"], r["legal_cases"], r["legal_cost_benefit"]])
    return out


def collection_frame(s: Summary, lang: str) -> pl.DataFrame:
    return pl.DataFrame(collection_rows(s, lang), schema=collection_head(lang), orient="row", infer_schema_length=None)
