"""The layers of analytics/ only point down: core <- derived <- metrics; ingest and tools above them."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "analytics"
# package -> the analytics packages it may import
ALLOWED = {
    "core": {"core"},
    "derived": {"core", "derived"},
    "metrics": {"core", "derived", "metrics"},
    "ingest": {"core", "derived", "ingest"},
    "tools": {"core", "derived", "metrics", "ingest", "tools", "model", "warning", "scenario"},
    "pack": {"core", "metrics", "pack"},  # a presentation tool: it may also read the UI's label catalogue
    "model": {"core", "derived", "model"},
    "warning": {"core", "derived", "metrics", "model", "warning"},  # its report.py also reads labels.py
    "access": {"access"},
    "scenario": {"core", "derived", "metrics", "model", "warning", "scenario"},  # analysts' what-ifs (issue 15)
    "customer": {"core", "derived", "metrics", "model", "warning", "customer"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytics"):
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("analytics.")}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        assert _imports(path) <= ALLOWED[package], (path, _imports(path) - ALLOWED[package])


def test_analytics_never_imports_streamlit():
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "import streamlit" not in text and "from streamlit" not in text, path


def test_label_kinds_never_shadow_the_contracts_code_names():
    import labels
    from analytics.core import schema

    for kind, names in schema.LABELS.items():
        assert set(names) <= set(labels.CATALOGUE[kind]), kind
