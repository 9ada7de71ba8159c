"""Every file one run will write, checked before any work: never over an input, never twice, never over an
existing file unless the user asked.

Files that go with an output are named after it, the output's name without its suffix then their own:
`film.dub.mp4` -> `film.dub.report.json`, `film.dub.dub.wav` (as `film.dub.dubber.json` and `film.dub.srt`).
Paths are compared resolved (symlinks, `..`), and as the same file when both exist (`os.path.samefile`:
a hard link, a case-blind file system).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from dubber.errors import OutputClash

REPORT_SUFFIX = ".report.json"
STEM_SUFFIX = ".dub.wav"


def sidecar(output: str | os.PathLike[str], suffix: str) -> Path:
    """A file that goes with `output`, beside it: `film.dub.mp4` + `.report.json` -> `film.dub.report.json`."""
    output = Path(output)
    return output.with_name(output.stem + suffix)


def report_path_for(output: str | os.PathLike[str]) -> Path:
    return sidecar(output, REPORT_SUFFIX)


def stem_path_for(output: str | os.PathLike[str]) -> Path:
    return sidecar(output, STEM_SUFFIX)


@dataclass(frozen=True)
class Planned:
    """A file or folder a run will write, and what it is to the user ("the report")."""

    path: Path
    what: str
    folder: bool = False  # a folder of files (the stems): everything inside it counts as written
    resumed: bool = False  # the project: one that exists is carried on, on purpose, not replaced
    pattern: str | None = None  # more files beside `path`, as a name pattern (an EDL per audio track)


def check_outputs(planned: Iterable[Planned], inputs: Iterable[str | os.PathLike[str] | None],
                  overwrite: bool = False) -> None:
    """Refuse, naming the file, a run that would write over one of its `inputs` (even with `overwrite`),
    write one path twice, or, without `overwrite`, replace a file or folder that exists."""
    planned = list(planned)
    given = [Path(path) for path in inputs if path is not None]
    for item in planned:
        for source in given:
            if _covers(item, source):
                raise OutputClash(f"{item.what} ({item.path}) would write over {source}, an input of this run; "
                                  "choose another name", path=str(item.path), input=str(source))
        if not item.folder and os.path.isdir(item.path):
            raise OutputClash(f"{item.what} ({item.path}) is a folder; give a file name", path=str(item.path))
    for i, item in enumerate(planned):
        for other in planned[:i]:
            if _covers(item, other.path) or _covers(other, item.path):
                raise OutputClash(f"{other.what} and {item.what} would both be written to {item.path}; "
                                  "give them different names", path=str(item.path))
    found = [] if overwrite else existing(planned)
    if found:
        names = ", ".join(str(path) for path in found)
        raise OutputClash(f"{names} already exist{'s' if len(found) == 1 else ''}", path=str(found[0]),
                          existing=[str(path) for path in found])


def existing(planned: Iterable[Planned]) -> list[Path]:
    """The planned files and folders that exist now, which the run would replace (a project is resumed)."""
    found: list[Path] = []
    for item in planned:
        if item.resumed:
            continue
        if os.path.lexists(item.path):
            found.append(item.path)
        if item.pattern is not None:
            found += sorted(Path(p) for p in glob.glob(os.path.join(glob.escape(str(item.path.parent)), item.pattern)) if Path(p) != item.path)
    return found


def _covers(item: Planned, path: Path) -> bool:
    """Whether writing `item` writes `path` (or something inside it, were it a folder)."""
    if _same(item.path, path):
        return True
    target, where = _resolved(path), _resolved(item.path)
    if item.folder and target.is_relative_to(where):
        return True
    return item.pattern is not None and target.parent == where.parent and fnmatch(target.name, item.pattern)


def _same(a: Path, b: Path) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:  # unreadable: compare the names instead
        pass
    return _resolved(a) == _resolved(b)


def _resolved(path: Path) -> Path:
    return Path(path).resolve()
