"""Find engines through the `dubber.engines` entry-point group, importing each on first use."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from dubber.errors import DubberError, EngineUnavailable, UnknownEngine
from dubber.plugin.engine import Engine

if TYPE_CHECKING:
    from dubber.config import Config

GROUP = "dubber.engines"

_instances: dict[tuple[str, str], Engine] = {}
_instances_lock = threading.Lock()  # a dub's warm-up thread asks too


@dataclass(frozen=True)
class EngineEntry:
    """A registered engine, not yet imported."""

    name: str
    entry_point: EntryPoint

    def load_class(self) -> type[Engine]:
        try:
            cls = self.entry_point.load()
        except ImportError as exc:
            raise EngineUnavailable(
                f"engine {self.name!r} cannot be imported: {exc}. Reinstall dubber with its dependencies.",
                engine=self.name) from exc
        if not (isinstance(cls, type) and issubclass(cls, Engine)):
            raise UnknownEngine(f"entry point {self.entry_point.value!r} is not a dubber Engine", engine=self.name)
        return cls


def entries() -> dict[str, EngineEntry]:
    """Return every registered engine by name."""
    return {ep.name: EngineEntry(ep.name, ep) for ep in entry_points(group=GROUP)}


def describe(config: Config | None = None, probe: bool = True,
             names: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Every registered engine (or those in `names`) with its capabilities and whether it can run now.

    `probe` asks served engines whether they answer. A broken install or a bad setting makes that
    engine unavailable, with the reason, rather than failing the list.
    """
    rows = []
    for name, entry in sorted(entries().items()):
        if names is not None and name not in names:
            continue
        row: dict[str, Any] = {"name": name}
        try:
            cls = entry.load_class()
            row["capabilities"] = cls.capabilities.to_dict()
            reason = cls.availability(config.engine(name) if config is not None else None, probe=probe)
            row.update(available=reason is None, reason=reason)
        except DubberError as exc:
            row.update(available=False, reason=str(exc))
        row.setdefault("capabilities", None)
        rows.append(row)
    return rows


def languages() -> set[str]:
    """Every language some registered engine speaks (installed or not: a missing one says so when asked)."""
    found: set[str] = set()
    for entry in entries().values():
        try:
            found.update(entry.load_class().capabilities.languages)
        except DubberError:
            continue
    return found


def engine_class(name: str) -> type[Engine]:
    """Return the class registered as `name`."""
    found = entries()
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise UnknownEngine(f"no engine named {name!r} (registered: {known})", engine=name)
    return found[name].load_class()


def get_engine(name: str, config: Config | None = None) -> Engine:
    """Return a shared, ready instance of engine `name`, built from its config table when given."""
    settings = config.engine(name) if config is not None else None
    # Keyed by what the settings say, so equal settings share one loaded engine, and an
    # engine's defaults (no table) are the same instance with or without a config.
    key = (name, repr(settings) if settings is not None and settings.values else "")
    with _instances_lock:
        if key not in _instances:
            cls = engine_class(name)
            reason = cls.availability(settings)
            if reason:
                raise EngineUnavailable(f"engine {name!r} is not available: {reason}", engine=name, hint=reason)
            _instances[key] = cls() if settings is None else cls.from_settings(settings)
        return _instances[key]


def engine_for_language(lang: str, among: Collection[str] | None = None) -> str:
    """Pick the default engine for a language: the first available one that speaks it, by preference
    (only engines in `among`, when given: the ones a service offers).

    Only engines with voices of their own qualify: a cloning engine needs a reference clip, so the
    user names it (--engine) along with the clip.
    """
    preference = {"en": ["piper", "kokoro"], "ja": ["kokoro"], "zh": ["kokoro"]}  # zh: bench/mandarin.py
    names = [name for name in preference.get(lang, []) + sorted(entries()) if among is None or name in among]
    cloners = []
    for name in names:
        try:
            cls = engine_class(name)
        except (UnknownEngine, EngineUnavailable):
            continue
        if lang not in cls.capabilities.languages:
            continue
        if cls.capabilities.cloning != "none":
            cloners.append(name)
        elif cls.availability() is None:
            return name
    hint = f"; engines that clone a reference clip speak it: {', '.join(sorted(set(cloners)))}" if cloners else ""
    raise UnknownEngine(f"no installed engine with voices of its own speaks {lang!r}{hint}", lang=lang)
