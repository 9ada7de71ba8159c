"""The house's floors: every module stands on a stated layer, and no import points up.

Bottom to top (LAYERS): the ground floor (the error family and the engine contract), what engines and the
core share (settings, atomic files, audio, the text front end), the engines, the domain, the orchestration,
the interfaces (service, CLI), then the panel and the editor bridges. A module may import its own layer and
the ones below. Inside the domain the packages are ordered too (DOMAIN), so they never import each other
both ways. Imports sit at the top of a module: only the CLI loads a command's modules when it runs (so
`dubber --help` stays quick), and the Resolve script finds dubber inside Resolve's own Python. Qt stays in
the panel.
"""

from __future__ import annotations

import ast
import configparser
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("dubber", "dubber.errors", "dubber.plugin.engine")),
    ("shared", ("dubber.config", "dubber.files", "dubber.audio", "dubber.text")),
    ("engines", ("dubber.models", "dubber.plugin")),
    ("domain", ("dubber.synthesis", "dubber.subtitles", "dubber.fitting", "dubber.project", "dubber.voices",
                "dubber.mix", "dubber.handoff")),
    ("orchestration", ("dubber.pipeline",)),
    ("interfaces", ("dubber.service", "dubber.cli")),
    ("panel", ("dubber.ui",)),
    ("bridges", ("dubber.plugin.resolve_bridge", "dubber.plugin.resolve")),
)
# The domain's packages, lowest first: each imports only those before it (and itself).
DOMAIN = LAYERS[3][1]
# Where an import inside a function is the design, not a dodge: the CLI loads each command's modules when
# the command runs, and the Resolve script runs inside Resolve's Python.
LAZY = ("dubber.cli", "dubber.plugin.resolve")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported
    path: str
    line: int
    inner: bool  # inside a function


def package_dirs(root: Path) -> dict[str, Path]:
    """The package_dir mapping of setup.cfg: package name -> folder."""
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg", encoding="utf-8")
    pairs = (line.split("=") for line in cfg["options"]["package_dir"].strip().splitlines())
    return {name.strip(): root / folder.strip() for name, folder in pairs}


def modules(root: Path) -> dict[str, Path]:
    """Every module of the installed packages, by dotted name (longest mapping wins)."""
    found: dict[str, Path] = {}
    for package, folder in sorted(package_dirs(root).items(), key=lambda item: len(item[0])):
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def _resolve(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def _parse(text: str) -> ast.Module:
    return ast.parse(text)  # the planted copies share all but one file with the tree: parse each text once


def imports(root: Path) -> list[Import]:
    """Every import of a project module by a project module, with where it is."""
    known = modules(root)
    found = []
    for source, path in known.items():
        tree = _parse(path.read_text(encoding="utf-8"))
        inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = _resolve(node, source, path.name == "__init__.py")
                # `from dubber.audio import media` imports a module; `from dubber.errors import X` a name
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
            else:
                continue
            for target in dict.fromkeys(targets):
                if target.split(".")[0] == "dubber":
                    found.append(Import(source, target, str(path.relative_to(root)), node.lineno, id(node) in inner))
    return found


def _prefix(module: str, prefixes: tuple[str, ...]) -> str | None:
    # "dubber" itself is only the package's own __init__; every other module must be placed by name
    hits = [p for p in prefixes if module == p or (p != "dubber" and module.startswith(p + "."))]
    return max(hits, key=len) if hits else None


def layer_of(module: str) -> tuple[int, str] | None:
    """The rank and name of the layer a module stands on (the longest stated prefix), None if unstated."""
    best = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        hit = _prefix(module, prefixes)
        if hit and (best is None or len(hit) > best[2]):
            best = (rank, name, len(hit))
    return best[:2] if best else None


def violations(root: Path) -> list[str]:
    """Say every module without a layer, every import that points up, and every hidden import."""
    problems = [f"{path.relative_to(root)}: {name} stands on no stated layer"
                for name, path in modules(root).items() if layer_of(name) is None]
    for imp in imports(root):
        here, there = layer_of(imp.source), layer_of(imp.target)
        if here is None or there is None:
            continue
        where = f"{imp.path}:{imp.line}: {imp.source} ({here[1]}) imports {imp.target} ({there[1]})"
        if there[0] > here[0]:
            problems.append(f"{where}, a layer above it")
        elif here[1] == there[1] == "domain":
            mine, theirs = _prefix(imp.source, DOMAIN), _prefix(imp.target, DOMAIN)
            if DOMAIN.index(theirs) > DOMAIN.index(mine):
                problems.append(f"{where}: {theirs} stands above {mine} in the domain")
        if imp.inner and not any(imp.source == p or imp.source.startswith(p + ".") for p in LAZY):
            problems.append(f"{where} inside a function: import it at the top (move the module, not the import)")
    return problems


def test_every_module_stands_on_a_layer_and_no_import_points_up():
    assert violations(ROOT) == []


def test_every_package_folder_is_mapped_and_every_layer_has_modules():
    names = modules(ROOT)
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert any(n == prefix or n.startswith(prefix + ".") for n in names), f"{prefix} has no module"


def test_every_package_is_listed_for_the_wheel():
    """An editable install finds a package setup.cfg does not list; a wheel would leave it out."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    listed = set(cfg["options"]["packages"].split())
    packages = {name for name, path in modules(ROOT).items() if path.name == "__init__.py"}
    assert packages == listed


def test_the_ground_floor_imports_nothing_above_it():
    ground = [imp for imp in imports(ROOT) if layer_of(imp.source)[1] == "ground"]
    assert {imp.target for imp in ground} <= {"dubber.errors"}
    assert ground, "the engine contract imports the error family"


@pytest.fixture
def house(tmp_path):
    """A copy of the source tree to plant imports in."""
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    for folder in {p.relative_to(ROOT).parts[0] for p in package_dirs(ROOT).values()}:
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.txt"))
    return tmp_path


@pytest.mark.parametrize("planted, said", [
    ("models/planted.py", "from dubber.pipeline.dub import dub\n", ),
    ("plugin/planted.py", "import dubber.ui.panel\n"),
    ("dubber/text/planted.py", "from dubber.plugin.registry import get_engine\n"),
    ("dubber/errors_helper.py", "x = 1\n"),
], ids=["engine-imports-orchestration", "engine-imports-panel", "shared-imports-engines", "module-without-layer"])
def test_a_planted_upward_import_is_caught(house, planted, said):
    path = house / planted
    path.write_text(said, encoding="utf-8")
    problems = violations(house)
    assert len(problems) == 1 and problems[0].startswith(planted), problems


def test_a_domain_package_importing_one_above_it_is_caught(house):
    path = house / "dubber/subtitles/load.py"
    path.write_text(path.read_text(encoding="utf-8") + "\nfrom dubber.mix.timeline import Timeline\n",
                    encoding="utf-8")
    [problem] = violations(house)
    assert "dubber.mix stands above dubber.subtitles" in problem


def test_an_import_hidden_in_a_function_is_caught_outside_the_cli(house):
    path = house / "dubber/mix/stems.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef _late():\n    from dubber.audio import media\n",
                    encoding="utf-8")
    [problem] = violations(house)
    assert problem.startswith("dubber/mix/stems.py:") and "inside a function" in problem
    cli = house / "dubber/cli/main.py"
    cli.write_text(cli.read_text(encoding="utf-8") + "\n\ndef _late():\n    from dubber.audio import media\n",
                   encoding="utf-8")
    assert len(violations(house)) == 1


def _qt_imports(path: Path) -> set[str]:
    return _third_party_imports(path) & set(QT)


def test_no_qt_below_the_panel():
    offenders = [str(path.relative_to(ROOT)) for name, path in sorted(modules(ROOT).items())
                 if layer_of(name)[1] != "panel" and _qt_imports(path)]
    assert not offenders, f"Qt imported below the panel: {offenders}"


def _third_party_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


RAY_MODULE = "dubber.pipeline.ray_executor"  # the one module that imports Ray, an optional extra


def test_only_the_ray_executor_imports_ray_and_only_the_cli_loads_it_when_asked():
    importers = [name for name, path in sorted(modules(ROOT).items()) if "ray" in _third_party_imports(path)]
    assert importers == [RAY_MODULE]
    loaders = [imp for imp in imports(ROOT) if imp.target == RAY_MODULE]
    assert loaders and all(imp.source.startswith("dubber.cli.") and imp.inner for imp in loaders), loaders
