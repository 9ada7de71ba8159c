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


def _chain_model() -> onnx.ModelProto:
    """Build out = Relu(x * w + y) with a side branch (Neg of y) that only feeds the product's input."""
    vector = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [3]) for name in ("x", "y", "z", "out")]
    weight = helper.make_tensor("w", TensorProto.FLOAT, [3], [2, 2, 2])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["scaled"]),
         helper.make_node("Add", ["scaled", "y"], ["sum"]),
         helper.make_node("Relu", ["sum"], ["out"])],
        "chain", vector[:3], vector[3:], initializer=[weight],
        value_info=[helper.make_tensor_value_info("scaled", TensorProto.FLOAT, [3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_feed_tensor_makes_an_inner_tensor_an_input_and_prunes() -> None:
    model = _chain_model()
    left = onnx_graph.feed_tensor(model, "scaled")
    assert left == ["y", "scaled"]  # x and z no longer reach an output; z never did
    assert [node.op_type for node in model.graph.node] == ["Add", "Relu"]
    assert not model.graph.initializer and not model.graph.value_info
    fed = model.graph.input[-1]
    assert fed.type.tensor_type.elem_type == TensorProto.FLOAT
    assert all(dim.dim_param and not dim.dim_value for dim in fed.type.tensor_type.shape.dim)
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == left
    out = session.run(None, {"y": np.array([1, 1, -3], np.float32), "scaled": np.array([1, -5, 2], np.float32)})
    assert out[0].tolist() == [2, 0, 0]


def test_feed_tensor_takes_a_type_when_none_is_recorded() -> None:
    model = _tiny_model()
    with pytest.raises(GraphError, match="elem_type"):
        onnx_graph.feed_tensor(model, "sum")
    left = onnx_graph.feed_tensor(model, "sum", elem_type=TensorProto.FLOAT, rank=1)
    assert left == ["sum"]
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.run(None, {"sum": np.array([-1, 0, 5, 7], np.float32)})[0].tolist() == [0, 0, 5, 7]


def test_feed_tensor_keeps_a_producer_whose_other_output_is_used() -> None:
    vector = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [4]) for name in ("x", "a", "b")]
    split = helper.make_tensor("split", TensorProto.INT64, [2], [2, 2])
    graph = helper.make_graph(
        [helper.make_node("Split", ["x", "split"], ["left", "right"]),
         helper.make_node("Neg", ["left"], ["a"]), helper.make_node("Relu", ["right"], ["b"])],
        "split", vector[:1], vector[1:], initializer=[split])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    assert onnx_graph.feed_tensor(model, "right", elem_type=TensorProto.FLOAT, rank=1) == ["x", "right"]
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a, b = session.run(None, {"x": np.array([1, 2, 3, 4], np.float32), "right": np.array([-1, 9], np.float32)})
    assert a.tolist() == [-1, -2] and b.tolist() == [0, 9]


def test_feed_tensor_rejects_a_graph_input() -> None:
    model = _tiny_model()
    with pytest.raises(GraphError, match="'x'"):
        onnx_graph.feed_tensor(model, "x")
