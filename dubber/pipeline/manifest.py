"""Read a batch manifest (TOML): shared defaults at the top, then one [[video]] table per video.

Every key but `name`, `video` and `langs` is a `dubber dub` option under its own name (`--duck-db` is
`duck_db`), so a video in a batch is dubbed exactly as `dubber dub` would dub it with those options. Paths
are taken from the manifest's folder; `{name}` (the video's name) and `{lang}` in a path are filled in, so
defaults such as `output = "out/{name}.{lang}.mp4"` serve every video. A video with `langs = ["en", "ja"]`
is dubbed once per language. Any mistake is a UsageError naming the manifest and the video's table.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubber.errors import UsageError
from dubber.files import read_toml

# What each key holds: "path" (from the manifest's folder, {name} and {lang} filled in), "str", "bool",
# "int", "number", "level" (a number or a word: loudness "web", duck_threshold "off"), "strings", "numbers".
KEYS: dict[str, str] = {
    "name": "str", "video": "path", "subtitles": "path", "output": "path", "lang": "str", "langs": "strings",
    "engine": "str", "voice": "str", "match_pitch": "bool", "seed": "int", "borrow_gap": "bool",
    "pronunciations": "path", "config": "path", "engine_opt": "strings",
    "reference": "path", "reference_text": "str", "reference_lang": "str", "emotion_text": "str",
    "emotion_vector": "numbers", "emotion_audio": "path", "emotion_alpha": "number",
    "sync": "str", "speak_all": "bool", "foreign": "str",
    "mix": "str", "duck_db": "number", "duck_threshold": "level", "duck_attack": "int", "duck_release": "int",
    "no_original": "bool", "original_lang": "str", "dialogue_track": "bool", "export": "strings",
    "loudness": "level", "report": "path", "stem": "path", "speakers": "path", "candidates": "int",
    "project": "path", "workers": "int",
}
# Keys that say which dub a table is rather than how it is dubbed.
OWN = ("name", "video", "subtitles", "output", "lang", "langs")
VIDEOS = "video"  # the array of tables: [[video]]


@dataclass(frozen=True)
class BatchJob:
    """One dub of a batch: a video into one language, with the `dubber dub` options it takes."""

    entry: int  # which [[video]] table it comes from, counting from 1
    name: str
    lang: str
    video: Path
    subtitles: Path
    output: Path
    settings: dict[str, Any] = field(default_factory=dict)  # the other dub options, by key; paths resolved

    @property
    def label(self) -> str:
        return f"{self.name} ({self.lang})"


@dataclass(frozen=True)
class Manifest:
    """A batch: its file and every dub it asks for, in order."""

    path: Path
    jobs: list[BatchJob]

    def where(self, job: BatchJob) -> str:
        """How messages name a job: the manifest and its table."""
        return f"{self.path}: video {job.entry} ({job.name})"


def load_manifest(path: str | Path) -> Manifest:
    """Read a manifest; raise UsageError naming the file and the table at the first mistake."""
    path = Path(path)
    _, data = read_toml(path, "manifest")
    tables = data.pop(VIDEOS, None)
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise UsageError(f"{path}: no videos: give each one as a [[video]] table with video, subtitles and output",
                         path=str(path))
    defaults = _checked(data, f"{path}: defaults", path)
    for key in ("name", "video"):
        if key in defaults:
            raise UsageError(f"{path}: defaults: {key} belongs in each [[video]] table", path=str(path))
    jobs: list[BatchJob] = []
    for entry, table in enumerate(tables, 1):
        where = f"{path}: video {entry}" + (f" ({table['name']})" if isinstance(table.get("name"), str) else "")
        jobs += _jobs(entry, {**defaults, **_checked(table, where, path, entry)}, where, path)
    _check_unique(path, jobs)
    return Manifest(path, jobs)


def _checked(table: dict[str, Any], where: str, manifest: Path, entry: int | None = None) -> dict[str, Any]:
    """The table, every key known and every value of its kind."""
    for key, value in table.items():
        kind = KEYS.get(key)
        if kind is None:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(KEYS)})"
            raise UsageError(f"{where}: unknown key {key!r}{hint}", path=str(manifest), entry=entry)
        if not _is_kind(value, kind):
            raise UsageError(f"{where}: {key} must be {_KIND_WORDS[kind]}, got {value!r}", path=str(manifest),
                             entry=entry)
    return dict(table)


_KIND_WORDS = {"path": "a path (a string)", "str": "a string", "bool": "true or false", "int": "a whole number",
               "number": "a number", "level": "a number or a word", "strings": "a list of strings (or one string)",
               "numbers": "a list of numbers"}


def _is_kind(value: Any, kind: str) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("path", "str"):
        return isinstance(value, str) and (kind == "str" or bool(value.strip()))
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return number
    if kind == "level":
        return number or isinstance(value, str)
    if kind == "strings":
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    return isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _jobs(entry: int, table: dict[str, Any], where: str, manifest: Path) -> list[BatchJob]:
    """One job per language of a video's table (defaults already merged in)."""

    def fail(problem: str) -> UsageError:
        return UsageError(f"{where}: {problem}", path=str(manifest), entry=entry)

    missing = [key for key in ("video", "subtitles", "output") if key not in table]
    if missing:
        raise fail(f"missing {', '.join(missing)} (here or in the defaults at the top)")
    if "lang" in table and "langs" in table:
        raise fail("give lang or langs, not both")
    langs = table.get("langs", table.get("lang", "en"))
    langs = [langs] if isinstance(langs, str) else langs
    if not langs or len(set(langs)) != len(langs):
        raise fail(f"langs must name each language once, got {langs!r}")
    if len(langs) > 1 and "{lang}" not in table["output"]:
        raise fail("with several languages the output needs {lang} in its name, one file per language")
    video = _path(table["video"], {}, manifest, fail)
    name = table.get("name") or video.stem
    jobs = []
    for lang in langs:
        values = {"name": name, "lang": lang}
        settings = {key: _path(value, values, manifest, fail) if KEYS[key] == "path" else value
                    for key, value in table.items() if key not in OWN}
        jobs.append(BatchJob(entry, name, lang, video, _path(table["subtitles"], values, manifest, fail),
                             _path(table["output"], values, manifest, fail), settings))
    return jobs


def _path(text: str, values: dict[str, str], manifest: Path, fail: Any) -> Path:
    """A path from the manifest: placeholders filled in, relative to the manifest's folder."""
    try:
        filled = text.format_map(values) if values else text
    except (KeyError, ValueError, IndexError) as exc:
        raise fail(f"{text!r}: only {{name}} and {{lang}} may be filled into a path ({exc})") from None
    path = Path(filled).expanduser()
    return path if path.is_absolute() else manifest.parent / path


def _check_unique(manifest: Path, jobs: list[BatchJob]) -> None:
    """Refuse two dubs writing one output video."""
    seen: dict[Path, BatchJob] = {}
    for job in jobs:
        key = job.output.absolute()
        if key in seen:
            first = seen[key]
            raise UsageError(f"{manifest}: video {first.entry} ({first.label}) and video {job.entry} ({job.label}) "
                             f"would both write {job.output}; give each its own output", path=str(manifest),
                             entry=job.entry)
        seen[key] = job
