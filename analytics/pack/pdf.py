"""The board pack as a PDF: typst (embedded CJK font, text searchable) with the charts as vector SVG (kaleido)."""

from __future__ import annotations

import atexit
import json
import threading
from pathlib import Path

import kaleido
import typst

import labels
from analytics.core.months import month_label
from analytics.pack import charts, tables
from analytics.pack.content import Summary, findings, money, pct, title

FONT_DIRS = [p for p in ("/usr/share/fonts/truetype/wqy", "/usr/share/fonts/wqy-microhei") if Path(p).is_dir()]
_lock = threading.Lock()
_started = False


def _svg(fig) -> bytes:
    """A figure as SVG; the kaleido browser is started once per process (MathJax off: no network)."""
    global _started
    with _lock:
        if not _started:
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
            atexit.register(kaleido.stop_sync_server, silence_warnings=True)
            _started = True
        fig.update_layout(width=900, height=420 if fig.layout.height is None else fig.layout.height)
        return kaleido.calc_fig_sync(fig, opts={"format": "svg"})


TEMPLATE = """
#set page(paper: "a4", margin: 1.6cm, numbering: "1 / 1")
#set text(font: "WenQuanYi Micro Hei", size: 9pt, lang: sys.inputs.lang)
#let d = json(bytes(sys.inputs.data))
#let grid-table(head, rows) = table(columns: head.len(), stroke: 0.4pt + luma(180), inset: 4pt,
  fill: (_, y) => if y == 0 { luma(235) },
  ..head.map(h => strong(h)), ..rows.flatten())
= #d.title
#d.subtitle
== #d.labels.findings
#for f in d.findings [ - #f ]
== #d.labels.tiles
#grid-table(d.tiles.head, d.tiles.rows)
== #d.labels.bridges
#image("overdue.svg", width: 100%)
#grid-table(d.bridge_head, d.bridge_overdue)
#image("npl.svg", width: 100%)
#grid-table(d.bridge_head, d.bridge_npl)
#d.writeoff_recovered
== #d.labels.trend
#image("trend.svg", width: 100%)
#pagebreak()
== #d.labels.league
#image("league.svg", width: 90%)
#text(size: 7pt)[#grid-table(d.league.head, d.league.rows)]
== #d.labels.programme
#grid-table(d.programme.head, d.programme.rows)
== #d.labels.collections
#text(size: 7pt)[#grid-table(d.collections.head, d.collections.rows)]
== #d.labels.definitions
#for t in d.definitions [ - #t ]
"""


def _num(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v * 100:.2f}%" if abs(v) < 1.5 and not float(v).is_integer() and v != 0 else f"{v:,.1f}"
    return str(v)


def render(s: Summary, lang: str) -> bytes:
    zh = lang == "zh"
    league_rows = [[_num(c) if not isinstance(c, float) or i not in (4, 7, 8, 9, 10, 11) else f"{c:.1f}"
                    for i, c in enumerate(r)] for r in tables.league_rows(s, lang)]
    data = {
        "title": title(s, lang),
        "subtitle": (f"期初 {month_label(s.window['open_month'])} 月末 → 期末 {month_label(s.window['effective_close'])} 月末"
                     if zh else f"Opening {month_label(s.window['open_month'])} → closing "
                     f"{month_label(s.window['effective_close'])} month end"),
        "findings": findings(s, lang),
        "tiles": dict(zip(("head", "rows"), tables.tiles(s, lang), strict=True)),
        "bridge_head": ["变动", "笔数", "金额"] if zh else ["Movement", "Loans", "Amount"],
        **{f"bridge_{m}": [[name, f"{n:,}", money(a, lang)] for name, n, a in tables.bridge_rows(s.bridges[m], lang)]
           for m in ("overdue", "npl")},
        "writeoff_recovered": (f"核销后收回（表外）：{money(s.writeoff_recovered, lang)}" if zh
                               else f"Post-write-off recoveries (off-balance): {money(s.writeoff_recovered, lang)}"),
        "league": {"head": tables.league_head(lang), "rows": league_rows},
        "programme": dict(zip(("head", "rows"), tables.programme_rows(s, lang), strict=True)),
        "collections": {"head": tables.collection_head(lang), "rows": [
            [r[0], f"{r[1]:,}" if r[1] is not None else "—", *(pct(v) for v in r[2:5]),
             *("—" if v is None else f"{v:,.2f}" for v in r[5:7]), *(pct(v) for v in r[7:10]),
             "" if r[10] is None else f"{r[10]:,}", pct(r[11]) if r[11] is not None else ""]
            for r in tables.collection_rows(s, lang)]},
        "definitions": tables.DEFINITIONS[lang],
        "labels": {k: (zh_text if zh else en_text) for k, (zh_text, en_text) in {
            "findings": ("要点", "Findings"), "tiles": ("关键指标", "Key measures"),
            "bridges": ("逾期与不良余额变动桥", "Overdue and NPL bridges"), "trend": ("近八个季度", "Last eight quarters"),
            "league": ("机构压降考核", "Branch assessment"), "programme": ("项目效果评估", "Programme evaluation"),
            "collections": ("季度清收效果评估", "Quarterly collection-efficiency review"),
            "definitions": ("口径说明", "Definitions (口径)")}.items()},
    }
    files = {
        "main.typ": TEMPLATE.encode(),
        "overdue.svg": _svg(charts.waterfall(s.bridges["overdue"], lang, labels.label("exec_kpi", "overdue_balance", lang))),
        "npl.svg": _svg(charts.waterfall(s.bridges["npl"], lang, labels.label("exec_kpi", "npl_balance", lang))),
        "trend.svg": _svg(charts.ratio_trend(s.trend, lang)),
        "league.svg": _svg(charts.league(s.league, lang)),
    }
    return typst.compile(files, sys_inputs={"data": json.dumps(data, ensure_ascii=False, default=str), "lang": lang},
                         font_paths=FONT_DIRS)
