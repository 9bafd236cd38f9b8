"""Bring-your-own-data import, as a package: ``python -m analytics.ingest`` and the 数据导入 page.

- ``reading``: untrusted bytes -> a text frame (CSV encodings, xlsx cached values, Parquet, size limits).
- ``mapping``: the user's columns and values -> the contract (profiles, suggestions, units, dates).
- ``validate``: every row against the contract; a store against its rules.
- ``journal``: the store lock, the staged atomic swap, recovery, the import log.
- ``load``: prepare -> commit, restore, history (what the page and the command call).
"""

from analytics.ingest.load import (
    LOAD_ORDER,
    ON_BAD,
    LoadRejected,
    LoadResult,
    Prepared,
    coded_columns,
    commit,
    continuity_report,
    error_report,
    error_report_csv,
    history,
    load_file,
    main,
    prepare,
    prepare_source,
    preview,
    recover,
    restore,
    value_map_frame,
    value_map_from_frame,
)
from analytics.ingest.reading import BilingualError, IngestError

__all__ = [
    "LOAD_ORDER", "ON_BAD", "BilingualError", "IngestError", "LoadRejected", "LoadResult", "Prepared",
    "coded_columns", "commit", "continuity_report", "error_report", "error_report_csv", "history", "load_file",
    "main", "prepare", "prepare_source", "preview", "recover", "restore", "value_map_frame", "value_map_from_frame",
]
