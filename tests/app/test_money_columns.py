"""Issue 8 item 3: an amount column is wide enough for its digits (a 12-digit total was clipped to "2,007,…")."""

from __future__ import annotations

import json

import pytest

import app


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_money_column_is_at_least_medium_width(app_test, lang):
    at = app_test("pages/overview.py", lang=lang)
    checked = 0
    for path, *_ in app.PAGES[:4]:
        at.switch_page(path).run()
        for frame in at.dataframe:
            config = json.loads(frame.proto.columns or "{}")
            for name, col in config.items():
                if (col.get("type_config") or {}).get("format") == "%,.2f" and ("元" in name or "CNY" in name):
                    assert col.get("width") in ("medium", "large") or (col.get("width") or 0) >= 200, (path, name)
                    checked += 1
    assert checked > 0
