"""Rewrite ONNX graphs in small named steps, and keep patched copies in the user cache.

A transform is any function that edits an `onnx.ModelProto` in place, such as
`expose_outputs` bound to a list of names, or `feed_tensor`, which turns an inner
tensor into an input (to feed a model's own predictions back in). `patched_model_path` runs one on a model
file once and keeps the result, keyed by the source's content and the transform's
tag, so a large model is not rewritten on every start. Several steps become one
transform by calling them in turn under one tag. `session_options` is how the engines
open their rewritten graphs.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dubber.errors import GraphError

CACHE_ENV = "DUBBER_CACHE_DIR"  # overrides the user cache folder (tests point it at a temp dir)
DIGEST_CHARS = 16
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A session option for the engines: onnxruntime's idle threads wait without spinning. Spinning steals the core
# another worker or process renders on; with both cores busy a Kokoro or Piper render took 0.78-0.86 of the
# time it takes spinning (Piper's small duration graph 1.09: it is 4-20% of a render).
NO_SPINNING = ("session.intra_op.allow_spinning", "0")


def session_options(threads: int) -> Any:
    """onnxruntime options for an engine's sessions: `threads` intra-op threads that wait without spinning."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry(*NO_SPINNING)
    return options


def cache_dir() -> Path:
    """Return the folder that holds patched models, `$DUBBER_CACHE_DIR/models` when set."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("dubber")
    return Path(root) / "models"


def file_digest(path: Path) -> str:
    """Return the first DIGEST_CHARS hex digits of the file's sha256."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:DIGEST_CHARS]


def patched_model_path(source: Path, tag: str, transform: Callable[[Any], None]) -> Path:
    """Return a cached copy of `source` rewritten by `transform`, writing it on first use.

    The name is the source's digest plus `tag`, so a new model version gets a new file;
    change the tag whenever the transform itself changes. The source is never touched.
    """
    if not _TAG.fullmatch(tag):
        raise ValueError(f"patch tag {tag!r} must be letters, digits, '_', '.' or '-'")
    target = cache_dir() / f"{file_digest(source)}-{tag}.onnx"
    if target.is_file():
        return target
    import onnx

    model = onnx.load(str(source))
    transform(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a crash or a second process never sees half a file.
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=target.stem, suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(model.SerializeToString())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target


def expose_outputs(model: Any, names: Iterable[str]) -> None:
    """Add existing intermediate tensors of `model` as extra graph outputs, in the order given."""
    from onnx import helper

    graph = model.graph
    produced = {name for node in graph.node for name in node.output}
    outputs = {output.name for output in graph.output}
    known = {info.name: info for info in graph.value_info}
    names = list(names)
    for name in names:  # check them all first, so a bad name leaves the model as it was
        if name not in produced:
            raise GraphError(f"the ONNX graph {graph.name!r} has no tensor {name!r} to expose",
                             tensor=name, graph=graph.name)
    for name in names:
        if name in outputs:
            continue
        # Keep the recorded type and shape when the graph has one; onnxruntime infers it otherwise.
        info = known.get(name)
        graph.output.append(info if info is not None else helper.make_empty_tensor_value_info(name))
        outputs.add(name)


def feed_tensor(model: Any, name: str, elem_type: int | None = None, rank: int | None = None) -> list[str]:
    """Make the intermediate tensor `name` a graph input, prune what no output needs, return the inputs left.

    The tensor's producer stops writing it, the new input takes the recorded element
    type and rank (or `elem_type` and `rank` when the graph records none) with every
    dimension dynamic, and `prune` then drops the nodes that only served the old value.
    Other inputs can fall away with them, and onnxruntime refuses feeds for inputs that
    are gone, so the names of the inputs that remain are returned, in graph order.
    """
    from onnx import helper

    graph = model.graph
    producer = next((node for node in graph.node if name in node.output), None)
    if producer is None:
        raise GraphError(f"the ONNX graph {graph.name!r} has no inner tensor {name!r} to feed",
                         tensor=name, graph=graph.name)
    known = next((info for info in graph.value_info if info.name == name), None)
    if known is not None and known.type.HasField("tensor_type"):
        tensor = known.type.tensor_type
        elem_type = tensor.elem_type
        if tensor.HasField("shape"):
            rank = len(tensor.shape.dim)
    if not elem_type:
        raise GraphError(f"the ONNX graph {graph.name!r} records no type for {name!r}; pass elem_type",
                         tensor=name, graph=graph.name)
    # Rename rather than delete, so a producer with other, still-used outputs keeps working.
    index = list(producer.output).index(name)
    producer.output[index] = f"{name}/dubber_unused"
    shape = None if rank is None else [f"{name}/dim{axis}" for axis in range(rank)]
    graph.input.append(helper.make_tensor_value_info(name, elem_type, shape))
    infos = [info for info in graph.value_info if info.name != name]  # a graph input is not also a value info
    del graph.value_info[:]
    graph.value_info.extend(infos)
    prune(model)
    return [info.name for info in graph.input]


def remove_outputs(model: Any, names: Iterable[str]) -> None:
    """Remove the named graph outputs (what only they needed stays until `prune`)."""
    gone = set(names)
    outputs = [output for output in model.graph.output if output.name not in gone]
    del model.graph.output[:]
    model.graph.output.extend(outputs)


def prune(model: Any) -> None:
    """Remove the nodes, initializers, graph inputs and value infos that no graph output depends on."""
    graph = model.graph
    needed = {output.name for output in graph.output}
    live = []
    for node in reversed(graph.node):  # ONNX keeps nodes in topological order
        if any(name in needed for name in node.output):
            live.append(node)
            needed.update(name for name in node.input if name)
            needed.update(_outer_names(node))
    live.reverse()
    del graph.node[:]
    graph.node.extend(live)
    for field in (graph.initializer, graph.input, graph.value_info):
        keep = [item for item in field if item.name in needed]
        del field[:]
        field.extend(keep)


def _outer_names(node: Any) -> set[str]:
    """Return every tensor name used inside the node's subgraphs, so outer values they read stay alive."""
    names: set[str] = set()
    for attr in node.attribute:
        for graph in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
            for inner in graph.node:
                names.update(inner.input)
                names.update(_outer_names(inner))
    return names
