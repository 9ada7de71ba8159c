"""dubber's own source never runs a shell, unpickles, or evaluates text, read from its syntax trees."""

from __future__ import annotations

import ast
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from dubber.errors import EngineUnavailable
from dubber.plugin import cosyvoice_local, f5_tts, indextts2
from dubber.plugin.weights_only import FORCE_NO_WEIGHTS_ONLY, FORCE_WEIGHTS_ONLY, weights_only_loads

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("dubber", "models", "plugin", "ui", "bench")

PICKLING_MODULES = ("pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib")
SHELL_CALLS = ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput")
PROCESS_CALLS = ("subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
                 "subprocess.Popen", "asyncio.create_subprocess_exec")
TORCH_LOADS = ("torch.load", "torch.serialization.load")
YAML_LOADS = ("yaml.load", "yaml.load_all")
YAML_UNSAFE = ("yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all")
SAFE_YAML_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
NUMPY_LOADS = ("numpy.load",)
EVALUATORS = ("eval", "exec", "builtins.eval", "builtins.exec")
# Modules that import pickle only to subclass a restricted Unpickler: its find_class admits a torch state dict's
# builders and nothing else (tests/models/test_ge2e.py plants os.system in a checkpoint and sees it refused).
RESTRICTED_UNPICKLERS = {"models/ge2e.py"}


@dataclass(frozen=True)
class Finding:
    """One risky construct: where it is and what it does."""

    file: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}"


class _Scanner(ast.NodeVisitor):
    """Collect risky calls and imports, naming each call by the module it comes from (aliases followed)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.names: dict[str, str] = {}  # local name -> dotted origin ("sp" -> "subprocess", "run" -> "subprocess.run")
        self.findings: list[Finding] = []

    def flag(self, node: ast.AST, problem: str) -> None:
        self.findings.append(Finding(self.file, getattr(node, "lineno", 0), problem))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(node, alias.name)
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                self.names[top] = top
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self._imported(node, node.module)
            for alias in node.names:
                self._imported(node, f"{node.module}.{alias.name}")
                self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.generic_visit(node)

    def _imported(self, node: ast.AST, module: str) -> None:
        parts = module.split(".")
        if parts[0] in PICKLING_MODULES or (len(parts) > 1 and parts[-1] in PICKLING_MODULES):
            self.flag(node, f"imports {module} (unpickling runs code from the file)")

    def dotted(self, node: ast.AST) -> str | None:
        """Name what a call's target is, as `module.attr` where its root name was imported."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit_Call(self, node: ast.Call) -> None:
        name = self.dotted(node.func) or ""
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        if "shell" in keywords and not _is_constant(keywords["shell"], False):
            self.flag(node, f"{name or 'a call'} with shell= other than False")
        if name in SHELL_CALLS:
            self.flag(node, f"{name} runs its argument through a shell")
        if name in PROCESS_CALLS:
            command = node.args[0] if node.args else keywords.get("args") or keywords.get("program")
            if command is not None and _builds_text(command):
                self.flag(node, f"{name} given a command string, not an argument list")
        if name in TORCH_LOADS and not _is_constant(keywords.get("weights_only"), True):
            self.flag(node, f"{name} without weights_only=True unpickles arbitrary objects")
        if name in YAML_LOADS:
            loader = node.args[1] if len(node.args) > 1 else keywords.get("Loader")
            if not (loader is not None and (self.dotted(loader) or "").rpartition(".")[2] in SAFE_YAML_LOADERS):
                self.flag(node, f"{name} without a safe Loader can build any Python object")
        if name in YAML_UNSAFE:
            self.flag(node, f"{name} can build Python objects")
        if name in NUMPY_LOADS and "allow_pickle" in keywords and not _is_constant(keywords["allow_pickle"], False):
            self.flag(node, f"{name} with allow_pickle unpickles arbitrary objects")
        if name in EVALUATORS:
            self.flag(node, f"{name}() runs text as code")
        self.generic_visit(node)


def _is_constant(node: ast.AST | None, value: bool) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _builds_text(node: ast.AST) -> bool:
    """Whether an expression is text: a str literal, an f-string, a % or + of text, or str.format/join."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, bytes))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _builds_text(node.left) or _builds_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return _builds_text(node.func.value)
    return False


def scan_source(text: str, file: str = "<snippet>") -> list[Finding]:
    """Return every risky construct in one module's source."""
    scanner = _Scanner(file)
    scanner.visit(ast.parse(text, filename=file))
    return scanner.findings


def source_files() -> list[Path]:
    return [path for folder in SOURCE_FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]


def test_the_scan_covers_the_whole_source():
    files = {str(path.relative_to(ROOT)) for path in source_files()}
    assert {"dubber/audio/media.py", "models/piper.py", "plugin/http_client.py", "plugin/resolve/dub_with_dubber.py",
            "ui/main_window.py", "bench/e2e.py"} <= files
    assert len(files) >= 60


def test_no_shell_pickle_or_eval_in_the_source():
    findings = [finding for path in source_files()
                for finding in scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
                if not (finding.file in RESTRICTED_UNPICKLERS and finding.problem.startswith("imports pickle"))]
    assert not findings, "\n".join(map(str, findings))


# -- the checker itself -------------------------------------------------------------------------

@pytest.mark.parametrize("snippet, problem", [
    ("import subprocess\nsubprocess.run('ffmpeg -i x', shell=True)", "shell="),
    ("import subprocess\nsubprocess.Popen(['ls'], shell=flag)", "shell="),
    ("from subprocess import check_output as co\nco(f'ffprobe {path}')", "command string"),
    ("import subprocess as sp\nsp.call('ls ' + folder)", "command string"),
    ("import subprocess\nsubprocess.run(args='rm %s' % name)", "command string"),
    ("import subprocess\nsubprocess.check_call(' '.join(parts))", "command string"),
    ("import subprocess\nsubprocess.getoutput(['ls'])", "through a shell"),
    ("import os\nos.system('ls')", "through a shell"),
    ("from os import popen\npopen(cmd)", "through a shell"),
    ("import pickle", "imports pickle"),
    ("import marshal as m", "imports marshal"),
    ("from shelve import open", "imports shelve"),
    ("from joblib import load", "imports joblib"),
    ("import torch\ntorch.load(path)", "weights_only=True"),
    ("import torch\ntorch.load(path, weights_only=False)", "weights_only=True"),
    ("from torch import load\nload(path, map_location='cpu')", "weights_only=True"),
    ("import yaml\nyaml.load(text)", "safe Loader"),
    ("import yaml\nyaml.load(text, Loader=yaml.FullLoader)", "safe Loader"),
    ("import yaml\nyaml.unsafe_load(text)", "can build Python objects"),
    ("import numpy as np\nnp.load(path, allow_pickle=True)", "allow_pickle"),
    ("from numpy import load\nload(path, allow_pickle=flag)", "allow_pickle"),
    ("eval(text)", "runs text as code"),
    ("exec(compile(text, 'x', 'exec'))", "runs text as code"),
    ("import builtins\nbuiltins.eval(text)", "runs text as code"),
])
def test_the_checker_catches_each_risky_form(snippet, problem):
    findings = scan_source(snippet)
    assert any(problem in finding.problem for finding in findings), findings


@pytest.mark.parametrize("snippet", [
    "import subprocess\nsubprocess.run([exe, '-i', path], shell=False, check=False)",
    "import subprocess\nsubprocess.Popen(list(command), stdin=subprocess.DEVNULL)",
    "import torch\ntorch.load(path, map_location='cpu', weights_only=True)",
    "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)\nyaml.safe_load(text)",
    "from yaml import CSafeLoader, load\nload(text, CSafeLoader)",
    "import numpy as np\nnp.load(path)\nnp.load(path, allow_pickle=False)",
    "app.exec()\ndialog.exec()\nmodel.eval()",
    "import os\nos.path.join(a, b)\nos.replace(a, b)",
])
def test_the_checker_passes_the_safe_forms(snippet):
    assert scan_source(snippet) == []


# -- upstream checkpoints load weights only -------------------------------------------------------

def _torch_switches() -> tuple[str | None, str | None]:
    return os.environ.get(FORCE_WEIGHTS_ONLY), os.environ.get(FORCE_NO_WEIGHTS_ONLY)


@pytest.mark.parametrize("before", [(None, None), ("0", None), (None, "1")])
def test_weights_only_loads_sets_torchs_switch_and_puts_the_environment_back(monkeypatch, before):
    for name, value in zip((FORCE_WEIGHTS_ONLY, FORCE_NO_WEIGHTS_ONLY), before):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with weights_only_loads():
        assert _torch_switches() == ("1", None)  # torch refuses to load when both are set
    assert _torch_switches() == before
    with pytest.raises(RuntimeError), weights_only_loads():
        raise RuntimeError("a load that failed")
    assert _torch_switches() == before


class _Recorder:
    """An upstream model class that notes torch's switches while it is built."""

    seen: list[tuple[str | None, str | None]] = []

    def __init__(self, *args, **kwargs) -> None:
        _Recorder.seen.append(_torch_switches())


@pytest.fixture
def recorder(monkeypatch):
    monkeypatch.delenv(FORCE_WEIGHTS_ONLY, raising=False)
    monkeypatch.delenv(FORCE_NO_WEIGHTS_ONLY, raising=False)
    _Recorder.seen = []
    yield _Recorder
    assert _torch_switches() == (None, None)


def test_indextts2_builds_its_model_under_weights_only(monkeypatch, tmp_path, recorder):
    monkeypatch.setattr(indextts2, "_import_model_class", lambda version: recorder)
    indextts2.IndexTts2Engine(tmp_path, version="2")._model()
    assert recorder.seen == [("1", None)]


def test_cosyvoice_local_builds_its_model_under_weights_only(monkeypatch, tmp_path, recorder):
    parts = {"cosyvoice": {}, "cosyvoice.cli": {}, "cosyvoice.cli.cosyvoice": {"AutoModel": recorder},
             "cosyvoice.utils": {}, "cosyvoice.utils.common": {"set_all_random_seed": lambda seed: None}}
    for name, attributes in parts.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(__name__=name, **attributes))
    monkeypatch.setattr(cosyvoice_local, "missing_package", lambda: None)
    engine = cosyvoice_local.CosyVoiceLocalEngine(tmp_path, version=2)
    monkeypatch.setattr(engine, "checked_version", lambda: 2)
    engine._load()
    assert recorder.seen == [("1", None)]


def test_f5_tts_builds_its_model_under_weights_only(monkeypatch, tmp_path, recorder):
    ckpt = tmp_path / "model.safetensors"
    ckpt.write_bytes(b"")
    for name in f5_tts.VOCOS_FILES:
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(f5_tts, "_api", lambda: types.SimpleNamespace(F5TTS=recorder))
    f5_tts.F5TtsEngine(ckpt, tmp_path)._load()
    assert recorder.seen == [("1", None)]


def test_a_failed_upstream_load_still_puts_the_environment_back(monkeypatch, tmp_path, recorder):
    def broken(*args, **kwargs):
        recorder.seen.append(_torch_switches())
        raise RuntimeError("Weights only load failed")

    monkeypatch.setattr(indextts2, "_import_model_class", lambda version: broken)
    with pytest.raises(EngineUnavailable, match="Weights only load failed"):
        indextts2.IndexTts2Engine(tmp_path, version="2")._model()
    assert recorder.seen == [("1", None)]
