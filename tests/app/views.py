"""The views of a page (``ui.view``: a segmented control keyed ``*_view``): run each one in turn."""

from __future__ import annotations

from collections.abc import Iterator


def every_view(at) -> Iterator[str]:
    """Yields "" for the page as drawn, then the code of each other view after running the page with it, and
    puts the first choice back."""
    import ui

    yield ""
    for key in [b.key for b in at.button_group if (b.key or "").endswith("_view")]:
        first = at.button_group(key=key).value
        for code in ui.PAGE_CHOICES[key]:
            if code == first:
                continue
            at.button_group(key=key).set_value(code).run()
            assert not at.exception, at.exception
            yield f"{key}={code}"
        at.button_group(key=key).set_value(first).run()
