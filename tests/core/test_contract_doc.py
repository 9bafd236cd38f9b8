"""docs/data-contract.md is generated (``analytics.core.contract_doc``) and committed: the two never drift."""

from __future__ import annotations

from pathlib import Path

from analytics.core import contract_doc, schema
from analytics.ingest.problems import RULES


def test_committed_contract_doc_matches_schema():
    doc = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"
    assert doc.read_text(encoding="utf-8") == contract_doc.contract_markdown(RULES)
    for table in schema.TABLES.values():
        for column in table.columns:
            assert f"`{column.name}`" in doc.read_text(encoding="utf-8")
