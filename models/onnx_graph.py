"""Rewrite ONNX graphs in small named steps, and keep patched copies in the user cache.

A transform is any function that edits an `onnx.ModelProto` in place, such as
`expose_outputs` bound to a list of names. `patched_model_path` runs one on a model
file once and keeps the result, keyed by the source's content and the transform's
tag, so a large model is not rewritten on every start. Several steps become one
transform by calling them in turn under one tag.
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
