"""What a table on a page says, as numbers: the grid gets ratios x 100 with a "%.2f%%" / "%+.2f pp" format
(ui._grid_frame), so a test comparing a shown ratio with the analytics reads it back as a ratio here."""

from __future__ import annotations

import json

import ui


def ratios(element):
    """The pandas frame of ``at.dataframe[i]`` with every ratio / percentage-point column divided by 100."""
    frame = element.value.copy()
    config = json.loads(element.proto.columns or "{}")
    for name, spec in config.items():
        if spec.get("type_config", {}).get("format") in (ui.PCT_FORMAT, ui.PP_FORMAT) and name in frame.columns:
            frame[name] = frame[name] / 100
    return frame
