"""Analysts' what-if scenarios (issue 15): one module per scenario kind, pure functions returning codes.

Every scenario function takes ``con`` and keyword-only plain arguments (hashable, so the page calls them through
``app_data.run``), recomputes on the filtered portfolio (``branches`` / ``products``, empty = all) and returns the
baseline and the scenario side by side with the difference (``compare.side_by_side``). The baseline of each
scenario is computed by the same metrics the other pages use (tests prove it equals them).

- ``provisioning``: rates per class (presets, custom) or ECL = PD × LGD × EAD; the app-wide saved scheme.
- ``classification``: NPL recognition at another DPD threshold, or a stricter one for a product.
- ``projection``: Markov roll-rate projection of bucket balances with levers, and its backtest.
- ``warning``: early-warning rule changes backtested (flagged, precision, recall, lead time, workload).
- ``capacity``: collectors per bucket -> expected cured balance from the observed worked/unworked cure rates.
- ``saved``: named, versioned scenario parameters (``analytics.core.config``).
"""
