"""The summary's charts as Plotly figures, shared by the page and the PDF (rendered to SVG by kaleido)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

import labels
from analytics.core.months import month_label

FONT = "WenQuanYi Micro Hei"


def waterfall(bridge_frame: pl.DataFrame, lang: str, title: str = "") -> go.Figure:
    """The bridge as a waterfall in 万元: opening and closing as totals, every non-zero line as a step."""
    rows = [r for r in bridge_frame.iter_rows(named=True)
            if r["line"] in ("opening", "closing") or r["amount"] != 0]
    unit = "万元" if lang == "zh" else "CNY 10k"
    fig = go.Figure(go.Waterfall(
        x=[labels.label("bridge_line", r["line"], lang) for r in rows],
        y=[float(r["amount"]) / 1e4 for r in rows],
        measure=["absolute" if r["line"] == "opening" else "total" if r["line"] == "closing" else "relative"
                 for r in rows],
        text=[f"{float(r['amount']) / 1e4:,.0f}" for r in rows], textposition="outside",
        decreasing={"marker": {"color": "#2e7d32"}}, increasing={"marker": {"color": "#c62828"}},
        totals={"marker": {"color": "#546e7a"}}, customdata=[r["line"] for r in rows]))
    fig.update_layout(title=title, font_family=FONT, showlegend=False, yaxis_title=unit,
                      yaxis_tickformat=",.0f", margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def league(league_frame: pl.DataFrame, lang: str) -> go.Figure:
    """Branch scores with the tier thresholds."""
    df = league_frame.filter(pl.col("score").is_not_null()).sort("score")
    colors = {"reward": "#2e7d32", "pass": "#1565c0", "penalty": "#c62828"}
    fig = go.Figure(go.Bar(x=df["score"].to_list(), y=df["branch_name"].to_list(), orientation="h",
                           marker_color=[colors.get(t, "#999") for t in df["tier"]],
                           text=[f"{v:.1f}" for v in df["score"]], textposition="outside"))
    fig.update_layout(font_family=FONT, xaxis_title="得分" if lang == "zh" else "Score",
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=max(300, 28 * df.height + 80))
    return fig


def ratio_trend(trend: pl.DataFrame, lang: str) -> go.Figure:
    """NPL and overdue ratios at the last quarter ends (%)."""
    x = [month_label(m) for m in trend["month"]]
    fig = go.Figure()
    for col, kind in (("npl_ratio_balance", "npl_ratio"), ("overdue_ratio_balance", "overdue_ratio")):
        fig.add_scatter(x=x, y=[None if v is None else v * 100 for v in trend[col]], mode="lines+markers",
                        name=labels.label("exec_kpi", kind, lang))
    fig.update_layout(font_family=FONT, yaxis_title="%", yaxis_tickformat=".2f", xaxis_type="category",
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"})
    return fig
