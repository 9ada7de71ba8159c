"""Tests for the ONNX graph helpers, on a two-node graph built here."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from dubber.errors import GraphError
from dubber.models import onnx_graph
from dubber.models.onnx_graph import CACHE_ENV, cache_dir, expose_outputs, patched_model_path


def _tiny_model() -> onnx.ModelProto:
    """Build out = Relu(x + y), with the sum as an inner tensor."""
    vector = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [3]) for name in ("x", "y", "out")]
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "y"], ["sum"]), helper.make_node("Relu", ["sum"], ["out"])],
        "tiny", vector[:2], vector[2:])
    # An IR version onnxruntime reads, whatever the installed onnx would default to.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"x": np.array([1, -5, 2], np.float32), "y": np.array([1, 1, -3], np.float32)}
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    path = tmp_path / "tiny.onnx"
    onnx.save(_tiny_model(), str(path))
    return path


def test_expose_adds_an_inner_tensor_as_output() -> None:
    model = _tiny_model()
    expose_outputs(model, ["sum"])
    assert [output.name for output in model.graph.output] == ["out", "sum"]
    results = _run(model)
    assert results["sum"].tolist() == [2, -4, -1]
    assert results["out"].tolist() == [2, 0, 0]


def test_expose_keeps_a_recorded_type() -> None:
    model = _tiny_model()
    model.graph.value_info.append(helper.make_tensor_value_info("sum", TensorProto.FLOAT, [3]))
    expose_outputs(model, ["sum"])
    assert model.graph.output[-1] == model.graph.value_info[0]


def test_expose_twice_adds_one_output() -> None:
    model = _tiny_model()
    expose_outputs(model, ["sum", "out"])
    expose_outputs(model, ["sum"])
    assert [output.name for output in model.graph.output] == ["out", "sum"]


@pytest.mark.parametrize("name", ["nothing", "x"])  # unknown, and a graph input rather than an inner tensor
def test_expose_unknown_tensor_raises_and_changes_nothing(name: str) -> None:
    model = _tiny_model()
    before = model.SerializeToString()
    with pytest.raises(GraphError, match=repr(name)) as info:
        expose_outputs(model, ["sum", name])
    assert info.value.tensor == name
    assert model.SerializeToString() == before


def test_cache_dir_follows_the_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir() == tmp_path / "models"
    import platformdirs

    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir() == Path(platformdirs.user_cache_dir("dubber")) / "models"


def test_patch_is_written_once_and_reused(source: Path) -> None:
    calls = []

    def transform(model: onnx.ModelProto) -> None:
        calls.append(model.graph.name)
        expose_outputs(model, ["sum"])

    original = source.read_bytes()
    first = patched_model_path(source, "with-sum", transform)
    stamp = first.stat().st_mtime_ns
    again = patched_model_path(source, "with-sum", transform)
    assert first == again and calls == ["tiny"]
    assert again.stat().st_mtime_ns == stamp
    digest = hashlib.sha256(original).hexdigest()[:16]
    assert first == cache_dir() / f"{digest}-with-sum.onnx"
    assert source.read_bytes() == original
    assert [path.name for path in first.parent.iterdir()] == [first.name]  # no temp file left
    assert "sum" in _run(onnx.load(str(first)))


def test_patch_is_keyed_by_content_and_tag(source: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.onnx"
    model = _tiny_model()
    model.graph.name = "other"
    onnx.save(model, str(other))
    paths = {
        patched_model_path(source, "a", lambda m: None),
        patched_model_path(source, "b", lambda m: None),
        patched_model_path(other, "a", lambda m: None),
    }
    assert len(paths) == 3


def test_failed_patch_leaves_nothing(source: Path) -> None:
    with pytest.raises(GraphError):
        patched_model_path(source, "bad", lambda m: expose_outputs(m, ["nothing"]))
    assert not cache_dir().exists() or not any(cache_dir().iterdir())


def test_failed_write_leaves_no_temp_file(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(onnx_graph.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        patched_model_path(source, "sum", lambda m: expose_outputs(m, ["sum"]))
    assert not any(cache_dir().iterdir())


@pytest.mark.parametrize("tag", ["", "a/b", "../up", "-x"])
def test_patch_rejects_unsafe_tags(source: Path, tag: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        patched_model_path(source, tag, lambda m: None)
