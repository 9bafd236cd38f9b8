"""``python -m analytics.ingest.validate``: a store's problems, or the contract document."""

from __future__ import annotations

from pathlib import Path

from analytics.core import contract_doc, store
from analytics.ingest import validate
from analytics.ingest.problems import RULES
from tests.ingest.rows import frame, loan


def test_command_checks_a_store_and_prints_the_contract_doc(tmp_path: Path, capsys):
    assert validate.main(["--data", str(tmp_path)]) == 0
    assert "OK: no problems" in capsys.readouterr().out
    store.write_table(tmp_path, "branches", frame("branches", [{"branch_id": "B1", "branch_name": "n", "region": "r"}]))
    store.write_table(tmp_path, "loans", frame("loans", [loan(branch_id="B9")]))
    assert validate.main(["--data", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "reference" in out and "loans.parquet" in out
    assert validate.main(["--doc"]) == 0
    assert capsys.readouterr().out == contract_doc.contract_markdown(RULES)
