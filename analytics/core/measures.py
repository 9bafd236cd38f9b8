"""Named measures: what "overdue", "NPL", "90+" ... mean, written once.

Each measure carries its SQL condition on a snapshot row aliased ``s``, the drill-down criteria that list
the same loans (``DrillSpec`` keyword arguments), and its name, which is also its label key in the UI
catalogue (``ui_labels``). Pages ask for a measure by name instead of re-typing ``(3, 4, 5)`` or ``91``.

口径 [CONV] (DOMAIN.md §1.5, §2.1): balance = outstanding principal of on-book loans; overdue = DPD ≥ 1
with the whole principal counted; "X+" = DPD > X; NPL = booked class 次级/可疑/损失.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.core.schema import CLASSES, NPL_CLASSES

BASES = ("balance", "count")
"""Every ratio exists on both bases; columns are named ``<measure>_<basis>``."""


@dataclass(frozen=True)
class Measure:
    name: str
    sql: str  # condition on the snapshot row ``s``
    drill: dict = field(default_factory=dict)  # DrillSpec keyword arguments selecting the same loans


def _dpd_over(x: int) -> Measure:
    return Measure(f"dpd{x}", f"s.dpd > {x}", {"dpd_min": x + 1})


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("total", "TRUE"),
    Measure("overdue", "s.dpd >= 1", {"dpd_min": 1}),
    _dpd_over(30),
    _dpd_over(60),
    _dpd_over(90),
    *(Measure(f"class{c}", f"s.booked_class = {c}", {"classes": (c,)}) for c in CLASSES),
    Measure("npl", f"s.booked_class >= {min(NPL_CLASSES)}", {"classes": NPL_CLASSES}),
)}

RATIOS: dict[str, tuple[str, str]] = {
    # ratio name: (numerator measure, denominator measure)
    "overdue_ratio": ("overdue", "total"),
    "dpd30_ratio": ("dpd30", "total"),
    "dpd90_ratio": ("dpd90", "total"),
    "special_mention_ratio": ("class2", "total"),
    "npl_ratio": ("npl", "total"),
    "deviation": ("dpd90", "npl"),  # 偏离度
}


def measure(name: str) -> Measure:
    """The measure called ``name``; KeyError names the known ones."""
    try:
        return MEASURES[name]
    except KeyError:
        raise KeyError(f"unknown measure {name!r}; known: {', '.join(MEASURES)}") from None


def drill_criteria(name: str) -> dict:
    """DrillSpec keyword arguments of the loans behind measure ``name``."""
    return dict(measure(name).drill)


def column(name: str, basis: str) -> str:
    """The column holding measure or ratio ``name`` on ``basis`` ("balance" or "count")."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, not {basis!r}")
    return f"{name}_{basis}"
