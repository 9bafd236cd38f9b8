"""How many amounts of a file were binary-float renderings rounded by ``mapping.money_text`` (issue 9 item 12).

pandas writes 825.29 as ``825.2900000000001``; ``money_text`` reads it as 825.29. The count is reported with
the check summary (page and command) so a user knows the file was written that way.
"""

from __future__ import annotations

import polars as pl

from analytics.core.schema import TABLES
from analytics.ingest.mapping import UNITS, Profile


def _noise(places: int) -> str:  # the same shape as in mapping.money_text
    return rf"^-?\d+\.\d{{{places}}}(0{{5,}}|9{{5,}})\d*$"


def rounded_amounts(mapped: pl.DataFrame, profile: Profile) -> int:
    """Cells of the amount columns of ``mapped`` (``apply_mapping`` output) that ``money_text`` rounds."""
    table = TABLES[profile.table]
    counts = []
    for c in table.columns:
        if not isinstance(c.dtype, pl.Decimal) or c.name not in mapped.columns:
            continue
        places = 2 if UNITS[profile.units.get(c.name) or profile.unit] == 1 else 6
        clean = pl.col(c.name).cast(pl.String).str.strip_chars().str.replace_all(r"[,，\s元¥￥]", "")
        counts.append(clean.str.contains(_noise(places)).sum().alias(c.name))
    if not counts:
        return 0
    return int(sum(mapped.select(counts).row(0)))
