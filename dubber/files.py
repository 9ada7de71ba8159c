"""Write files whole or not at all: a crash or a full disk never leaves half a file behind."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from dubber.errors import OutputError, UsageError


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write `data` (text as UTF-8) through a temporary file beside `path`, synced, then renamed over it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}", path=str(path)) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; these are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a quota, a folder made read-only meanwhile: name the file
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}", path=str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike[str], doc: dict[str, Any]) -> None:
    """Write JSON whole or not at all, so a crash never leaves half a file."""
    write_atomically(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def read_toml(path: Path, kind: str) -> tuple[str, dict[str, Any]]:
    """Read a TOML file the user wrote (a `kind`: "speakers file", "manifest"); return its text and its tables.
    Raise UsageError naming the file, and the line of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such {kind}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the {kind}: {exc}", file=str(path)) from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise UsageError(f"{where}: bad TOML: {exc}", file=str(path)) from exc
