"""Early warning 贷后预警 (DOMAIN.md §7): loan signals, 红橙黄蓝 levels from an editable rule table, the
crossing calendar, handling status, portfolio limits, the backtest, and borrower notices by stage.

- ``rules``: the rule table (signal -> level and parameters, escalation time nodes), checked and versioned.
- ``signals``: loan-level signals and levels as of a month; level changes; crossing calendar; handling status;
  portfolio-level limits.
- ``backtest``: precision, recall, lead time and workload of the rules on past months.
- ``notices``: borrower notice templates per stage, placeholder check, batch generation.
- ``report``: the per-loan warning report (PDF) and the aggregated monthly report (Excel).
"""
