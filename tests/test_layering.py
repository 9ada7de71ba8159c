"""The core, the models and the plugins never import Qt (the UI sits on top, never below)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder", ["dubber", "models", "plugin"])
def test_no_qt_below_the_ui(folder):
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / folder).rglob("*.py"))
                 if _imports(p) & set(QT)]
    assert not offenders, f"Qt imported in the Qt-free layer: {offenders}"


def test_core_does_not_import_the_ui():
    offenders = []
    for folder in ("dubber", "models", "plugin"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(p.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dubber.ui"):
                    offenders.append(str(p.relative_to(ROOT)))
    assert not offenders
