"""Derived tables: a registry (``tables``), one reading rule (``source``) and the rebuild (``build``).

See ``analytics.derived.tables`` for what each table holds.
"""

from analytics.derived.builder import build, has_view, source
from analytics.derived.tables import BALANCE_SQL, EVER_THRESHOLDS, REGISTRY, DerivedTable, migration_pairs

__all__ = ["BALANCE_SQL", "EVER_THRESHOLDS", "REGISTRY", "DerivedTable", "build", "has_view", "migration_pairs", "source"]
