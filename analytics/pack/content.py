"""What the quarterly reduction summary shows, computed once for the page, the PDF and the Excel pack.

The pack is a presentation tool: unlike the rest of ``analytics`` it writes sentences and labels, in the
language asked for, from the one label catalogue (``labels.py``). Numbers come only from
``analytics.metrics`` (bridge, assessment, programme), so the page and both files show the same figures.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb
import polars as pl

import labels
from analytics.core.months import month_label, quarter_label
from analytics.metrics import assessment, bridge, collections, programme
from analytics.metrics.provisioning import ProvisionRates


@dataclass
class Summary:
    quarter: dt.date
    window: dict
    tiles: pl.DataFrame
    bridges: dict[str, pl.DataFrame]  # measure -> bank bridge (opening, lines, closing)
    league: pl.DataFrame
    programme: pl.DataFrame
    writeoff_recovered: float
    trend: pl.DataFrame = field(default_factory=pl.DataFrame)  # quarter x (npl_ratio, overdue_ratio, balances)
    collections: pl.DataFrame = field(default_factory=pl.DataFrame)  # the quarterly collection-efficiency review


def summary(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
            products: tuple[str, ...] = (), scheme_json: str = "", programme_start: dt.date | None = None,
            programme_targets: tuple = (), with_collections: bool = True,
            rates: ProvisionRates | None = None) -> Summary:
    """Everything the summary page and the board pack show for ``quarter`` (the collection review, the slowest
    part, can be left out and added later with ``dataclasses.replace``: the page loads it on its own)."""
    w = assessment.window(con, quarter)
    close = w["effective_close"]
    s = {"branches": branches, "products": products}
    by_branch = assessment.quarter_bridges(con, quarter=quarter, **s)
    bridges = {m: bridge.bank_total(frame) for m, frame in by_branch.items()}
    measures = assessment.branch_measures(con, quarter=quarter, bridges=by_branch, **s)
    league = assessment.scorecard(measures, json.loads(scheme_json) if scheme_json else None)
    start = programme_start or programme.default_start(close)
    prog = programme.programme_status(con, as_of=close, start_month=start, **s, **dict(programme_targets))
    rec = bridge.writeoff_recoveries(con, month_from=bridge.add_months(w["open_month"], 1), month_to=close, **s)
    return Summary(quarter=quarter, window=w, tiles=assessment.bank_tiles(con, quarter=quarter, measures=measures, rates=rates,
                                                                           **s),
                   bridges=bridges, league=league, programme=prog,
                   writeoff_recovered=float(rec["amount"].cast(pl.Float64).sum()) if rec.height else 0.0,
                   trend=quarter_trend(con, quarter=quarter, **s),
                   collections=collection_review(con, quarter=quarter, **s) if with_collections else pl.DataFrame())


def collection_review(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
                      products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The quarterly collection-efficiency review by team (``analytics.metrics.collections``)."""
    return collections.quarterly_review(con, quarter=quarter, by="team", branches=branches, products=products)


def quarter_trend(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, branches: tuple[str, ...] = (),
                  products: tuple[str, ...] = (), quarters: int = 8) -> pl.DataFrame:
    """The last ``quarters`` quarter ends up to ``quarter`` (or its latest month): balances and ratios."""
    from analytics.core.months import add_months, quarter_end
    from analytics.metrics import portfolio

    close = assessment.window(con, quarter)["effective_close"]
    ends = sorted({min(quarter_end(add_months(quarter, -3 * k)), close) for k in range(quarters)})
    q = portfolio.quality_by(con, branches=branches, products=products, month_from=ends[0], month_to=close)
    return q.filter(pl.col("month").is_in(ends)).select(
        "month", "total_balance", "overdue_balance", "npl_balance", "overdue_ratio_balance", "npl_ratio_balance")


def findings(s: Summary, lang: str) -> list[str]:
    """Three plain sentences computed from the numbers: the largest contributor to the NPL change, the branch
    furthest behind, and the state of the targets (or a ratio that fell only because loans grew)."""
    zh = lang == "zh"
    out = []
    npl = s.bridges["npl"].filter(~pl.col("line").is_in(["opening", "closing"]) & (pl.col("amount") != 0))
    if npl.height:
        top = npl.sort(pl.col("amount").abs(), descending=True).row(0, named=True)
        name = labels.label("bridge_line", top["line"], lang)
        amount = money(float(top["amount"]), lang)
        opening = s.bridges["npl"].filter(pl.col("line") == "opening")["amount"].cast(pl.Float64).item()
        closing = s.bridges["npl"].filter(pl.col("line") == "closing")["amount"].cast(pl.Float64).item()
        change = money(closing - opening, lang)
        out.append(f"本季不良余额变动 {change}，最大来源为“{name}”（{amount}，{top['loans_count']:,} 笔）。" if zh else
                   f"The NPL balance changed by {change} this quarter; the largest contributor was "
                   f"'{name}' ({amount}, {top['loans_count']:,} loans).")
    scored = s.league.filter(pl.col("score").is_not_null())
    if scored.height:
        worst = scored.sort("score").row(0, named=True)
        tier = labels.label("tier", worst["tier"], lang)
        out.append(f"离目标最远的是 {worst['branch_name']}（得分 {worst['score']:.1f}，{tier}）。" if zh else
                   f"Furthest behind target: {worst['branch_name']} (score {worst['score']:.1f}, {tier}).")
        growth = scored.filter(pl.col("ratio_fall_from_growth"))
        vetoed = scored.filter(pl.col("veto"))
        if growth.height:
            names = "、".join(growth["branch_name"]) if zh else ", ".join(growth["branch_name"])
            out.append(f"{names} 的不良率下降来自贷款增长，不良余额并未下降。" if zh else
                       f"{names}: the NPL ratio fell because loans grew, not because NPLs fell.")
        else:
            met = s.programme.filter(pl.col("status") == "met").height
            out.append(f"{vetoed.height} 家机构不良率超过上限（一票否决）；项目目标达成 {met}/{s.programme.height} 项。"
                       if zh else f"{vetoed.height} branches are above their NPL ratio ceiling (veto); "
                       f"{met} of {s.programme.height} programme targets are met.")
    return out


def money(value: float | None, lang: str) -> str:
    """An amount in 万元 (zh) or CNY m (en), always with its unit."""
    if value is None:
        return "—"
    return f"{value / 1e4:,.2f} 万元" if lang == "zh" else f"CNY {value / 1e6:,.2f} m"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def title(s: Summary, lang: str) -> str:
    q = quarter_label(s.quarter)
    incomplete = "" if s.window["complete"] else (
        f"（季度未结束：截至 {month_label(s.window['effective_close'])}）" if lang == "zh"
        else f" (quarter not complete: to {month_label(s.window['effective_close'])})")
    return (f"管理层季度压降汇总 {q}{incomplete}" if lang == "zh" else f"Quarterly reduction summary {q}{incomplete}")
