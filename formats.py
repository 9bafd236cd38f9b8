"""Number, month and unit formatting of the UI: one rule per kind of value, in both languages.

No Streamlit here (``ui`` passes the language of the run), so every rule is unit-tested directly.

- Money in tiles and texts: one unit per value chosen to fit (亿元 / 万元 / 元; CNY bn / m / k), two decimals.
- Ratios: always two decimals of a percent ("3.56%"); changes of ratios in percentage points ("+0.12 pp").
- Counts: thousands separators ("12,345").
- Months: "2026-10" (never a timestamp); Chinese chart ticks "2026年10月".
- KPI deltas: the direction (arrow) and colour are decided here from the number, never from the text.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

DASH = "—"
PCT_DIGITS = 2

# (divisor, zh unit, en unit), largest first; a value uses the first unit it reaches.
MONEY_UNITS = {
    "zh": ((1e8, "亿元"), (1e4, "万元"), (1.0, "元")),
    "en": ((1e9, "CNY bn"), (1e6, "CNY m"), (1e3, "CNY k"), (1.0, "CNY")),
}


def _num(value) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def money_unit(value, lang: str) -> tuple[float, str]:
    """(divisor, unit) for an amount in yuan: the largest unit the amount reaches (at least 1 of it)."""
    v = abs(_num(value) or 0.0)
    for divisor, unit in MONEY_UNITS["zh" if lang == "zh" else "en"]:
        if v >= divisor:
            return divisor, unit
    return MONEY_UNITS["zh" if lang == "zh" else "en"][-1]


def money_number(value, divisor: float, digits: int = 2) -> str:
    v = _num(value)
    return DASH if v is None else f"{v / divisor:,.{digits}f}"


def money(value, lang: str, unit: tuple[float, str] | None = None) -> str:
    """"120.08 亿元", "CNY 12.01 bn" (the unit fitted to the value unless given)."""
    v = _num(value)
    if v is None:
        return DASH
    divisor, name = unit or money_unit(v, lang)
    number = money_number(v, divisor)
    return f"{number} {name}" if lang == "zh" else f"{name.replace('CNY', 'CNY ' + number, 1)}"


def pct(value, digits: int = PCT_DIGITS) -> str:
    v = _num(value)
    return DASH if v is None else f"{v * 100:.{digits}f}%"


def pp(value, digits: int = PCT_DIGITS) -> str:
    """A change of a ratio (a fraction) in percentage points."""
    v = _num(value)
    return DASH if v is None else f"{v * 100:+.{digits}f} pp"


def count(value) -> str:
    v = _num(value)
    return DASH if v is None else f"{round(v):,}"


def month(value) -> str:
    """A month as "2026-10" (dates, datetimes and ISO strings)."""
    if value is None:
        return DASH
    if isinstance(value, str):
        return value[:7]
    return f"{value:%Y-%m}"


def month_tickformat(lang: str) -> str:
    """Plotly (d3) tick format of month axes: Chinese month names in the zh UI, never English ones."""
    return "%Y年%-m月" if lang == "zh" else "%Y-%m"


# --- KPI deltas ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delta:
    text: str | None   # None: no delta shown
    arrow: str         # "up", "down" or "off" (st.metric delta_arrow)
    color: str         # "green", "red" or "gray" (st.metric delta_color)


def delta(change, *, kind: str, lang: str, up_is: str = "good", divisor: float = 1.0) -> Delta:
    """The delta of a KPI tile from the change as a number.

    ``kind`` "money" (shown in the tile's unit ``divisor``), "pct" (a ratio change, in pp) or "count".
    ``up_is`` "good" (green when rising), "bad" (red when rising) or "neutral" (grey). A change that rounds to
    zero at the shown precision is "持平" / "unchanged" with no arrow.
    """
    v = _num(change)
    if v is None:
        return Delta(None, "off", "gray")
    if kind == "pct":
        shown, text = round(v * 100, PCT_DIGITS), f"{v * 100:+.{PCT_DIGITS}f} pp"
    elif kind == "money":
        shown, text = round(v / divisor, 2), f"{v / divisor:+,.2f}"
    else:
        shown, text = round(v), f"{round(v):+,}"
    if shown == 0:
        return Delta("持平" if lang == "zh" else "unchanged", "off", "gray")
    rising = shown > 0
    if up_is == "neutral":
        color = "gray"
    else:
        color = "green" if rising == (up_is == "good") else "red"
    return Delta(text.replace("-", "−", 1) if not rising else text, "up" if rising else "down", color)


def is_month_like(value) -> bool:
    return isinstance(value, (dt.date, dt.datetime))
