"""Revertable edits to a project's lines and speakers: what the panel's undo stack applies and takes back.

Every per-line action (re-roll, pick an earlier take, edit the text, change the voice, nudge or set
the timing) replaces one line by a new version of it, so one edit type serves them all: it keeps
the line before and after, and applying or reverting puts one of them in place. Takes are never
deleted: a line's takes only grow, so both keep every take the line has (a reverted re-roll puts the
previous take back on the timeline and keeps the new one in the line's history; redoing it chooses
that same take again, without rendering).

A speaker's new engine, voice or reference clip is a `SpeakerEdit` of its entry, checked by the engine
first; grouped with the new takes of its lines (`EditGroup`) it is one step.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from dubber.config import Config
from dubber.errors import UsageError
from dubber.plugin import registry
from dubber.plugin.engine import Reference
from dubber.project.store import LineEntry, Project, SpeakerEntry, TakeRecord
from dubber.subtitles.speakers import who
from dubber.synthesis.budget import check_spoken_length

UNSET: Any = object()  # "leave as it is", where None means "the speaker's"


class Edit(Protocol):
    label: str

    def apply(self, project: Project) -> None: ...

    def revert(self, project: Project) -> None: ...


@dataclass
class LineEdit:
    """Replace the line at `position` by `after`; reverting puts `before` back. Either keeps every take."""

    label: str
    position: int
    before: LineEntry
    after: LineEntry

    def apply(self, project: Project) -> None:
        self._put(project, self.before, self.after)

    def revert(self, project: Project) -> None:
        self._put(project, self.after, self.before)

    def _put(self, project: Project, expected: LineEntry, version: LineEntry) -> None:
        """Put `version` in place of the line, which must be `expected`, keeping every take it has."""
        line = project.lines[self.position]
        # An edit applied to a line that has since changed under it would silently drop that change.
        # Its takes may have grown since (a re-roll undone keeps its take): those are kept, never lost.
        if replace(line, takes=[]) != replace(expected, takes=[]) or line.takes[:len(expected.takes)] != expected.takes:
            raise UsageError(f"line {expected.index}: the line changed since this edit was made; not applying it")
        new = copy.deepcopy(version)
        new.takes = copy.deepcopy(line.takes) + [take for take in new.takes if take not in line.takes]
        new.chosen = new.takes.index(version.take) if version.take is not None else None
        project.lines[self.position] = new


@dataclass
class SpeakerEdit:
    """Put `after` in place of speaker `name`'s entry; reverting puts `before` back (None: it had none yet)."""

    label: str
    name: str
    before: SpeakerEntry | None
    after: SpeakerEntry

    def apply(self, project: Project) -> None:
        self._put(project, self.before, self.after)

    def revert(self, project: Project) -> None:
        self._put(project, self.after, self.before)

    def _put(self, project: Project, expected: SpeakerEntry | None, version: SpeakerEntry | None) -> None:
        if project.speakers.get(self.name) != expected:
            raise UsageError(f"speaker {self.name!r}: the speaker changed since this edit was made; not applying it")
        if version is None:
            del project.speakers[self.name]
        else:
            project.speakers[self.name] = copy.deepcopy(version)


@dataclass
class EditGroup:
    """Several edits as one step (e.g. regenerating every out-of-sync line, or a speaker's new voice and the
    new takes of its lines)."""

    label: str
    edits: list[LineEdit | SpeakerEdit] = field(default_factory=list)

    def apply(self, project: Project) -> None:
        _all_or_nothing(self.edits, project, forward=True)

    def revert(self, project: Project) -> None:
        _all_or_nothing(list(reversed(self.edits)), project, forward=False)

    @property
    def positions(self) -> list[int]:
        """The lines the group's line edits change."""
        return [edit.position for edit in self.edits if isinstance(edit, LineEdit)]


def _all_or_nothing(edits: list[LineEdit | SpeakerEdit], project: Project, forward: bool) -> None:
    """Apply (or revert) every edit, or, when one fails, put back those already done and re-raise."""
    done: list[LineEdit | SpeakerEdit] = []
    try:
        for edit in edits:
            edit.apply(project) if forward else edit.revert(project)
            done.append(edit)
    except Exception:
        for edit in reversed(done):
            edit.revert(project) if forward else edit.apply(project)
        raise


def change_line(project: Project, position: int, label: str, *, text: str = UNSET, start_ms: int = UNSET,
                end_ms: int = UNSET, engine: str | None = UNSET, voice: str | None = UNSET,
                emotion: dict[str, Any] | None = UNSET, take: TakeRecord | None = None,
                target: tuple[int, int] | None = UNSET, speak: bool = UNSET, borrow_gap: bool = UNSET,
                allow_stretch: bool = UNSET) -> LineEdit:
    """Return the edit that changes what is given of one line and, with `take`, adds it as the chosen take.

    New times without a `target` take the line off its original speech: it starts at its new cue
    start (the editor has timed it by hand). `speak` speaks a line that is not spoken by default.
    `borrow_gap` and `allow_stretch` are the line's own fitting choices (see LineEntry).
    """
    before = project.lines[position]
    after = copy.deepcopy(before)
    if text is not UNSET:
        text = " ".join(text.split())
        if not text:
            raise UsageError(f"line {before.index}: the text is empty; a line needs words to speak")
        check_spoken_length(text, before.lang or project.lang, what=f"line {before.index}")  # as a render would
        after.text = text
    if start_ms is not UNSET:
        after.start_ms = int(start_ms)
    if end_ms is not UNSET:
        after.end_ms = int(end_ms)
    if after.start_ms < 0:
        raise UsageError(f"line {before.index}: the start {after.start_ms} ms is before the video starts")
    if after.end_ms <= after.start_ms:
        raise UsageError(f"line {before.index}: the end ({after.end_ms} ms) must come after the start "
                         f"({after.start_ms} ms)")
    if target is UNSET and (after.start_ms, after.end_ms) != (before.start_ms, before.end_ms):
        target = None
    if target is not UNSET:
        after.target_start_ms, after.target_end_ms = target if target is not None else (None, None)
    if speak is not UNSET:
        after.speak = bool(speak)
    if borrow_gap is not UNSET:
        after.borrow_gap = bool(borrow_gap)
    if allow_stretch is not UNSET:
        after.allow_stretch = bool(allow_stretch)
    if engine is not UNSET:
        after.engine = engine or None
    if voice is not UNSET:
        after.voice = voice or None
    if emotion is not UNSET:
        after.emotion = emotion
    if take is not None:
        after.takes.append(copy.deepcopy(take))
        after.chosen = len(after.takes) - 1
    return LineEdit(label, position, copy.deepcopy(before), after)


def add_take(project: Project, position: int, take: TakeRecord, label: str = "") -> LineEdit:
    """Return the edit that adds a freshly rendered take to a line and puts it on the timeline."""
    line = project.lines[position]
    return change_line(project, position, label or f"Re-roll line {line.index} (seed {take.seed})", take=take)


def choose_take(project: Project, position: int, chosen: int) -> LineEdit:
    """Return the edit that puts an earlier take of a line back on the timeline."""
    line = project.lines[position]
    if not 0 <= chosen < len(line.takes):
        raise UsageError(f"line {line.index}: there is no take {chosen + 1} (it has {len(line.takes)})")
    after = copy.deepcopy(line)
    after.chosen = chosen
    return LineEdit(f"Pick take {chosen + 1} of line {line.index}", position, copy.deepcopy(line), after)


def nudge(project: Project, position: int, delta_ms: int) -> LineEdit:
    """Return the edit that moves a line by `delta_ms`, keeping its length (its take still fits); the
    original speech it follows moves with it."""
    line = project.lines[position]
    floor = min(line.start_ms, line.target_start_ms if line.target_start_ms is not None else line.start_ms)
    delta = max(int(delta_ms), -floor)  # never before the video's start
    target = None
    if line.target_start_ms is not None and line.target_end_ms is not None:
        target = (line.target_start_ms + delta, line.target_end_ms + delta)
    return change_line(project, position, f"Nudge line {line.index} by {delta:+d} ms",
                       start_ms=line.start_ms + delta, end_ms=line.end_ms + delta, target=target)


def speak_anyway(project: Project, position: int, speak: bool = True) -> LineEdit:
    """Return the edit that speaks a line not spoken by default (a sound description, a sign ...), or stops."""
    line = project.lines[position]
    if not line.skip:
        raise UsageError(f"line {line.index} is spoken already")
    verb = "Speak" if speak else "Stop speaking"
    return change_line(project, position, f"{verb} line {line.index} ({line.skip})", speak=speak)


def change_speaker(project: Project, name: str, label: str, *, engine: str = UNSET, voice: str | None = UNSET,
                   reference: str | None = UNSET, reference_text: str = UNSET, reference_lang: str | None = UNSET,
                   config: Config | None = None) -> SpeakerEdit:
    """Return the edit that gives a speaker what is given of another engine, voice or reference clip.

    The engine checks the choice as it would before a dub (`check_voice_choice`): one that cannot run here,
    a voice it does not have, a cloning engine without a clip are refused. A new engine without a voice
    takes its default (`voice` None or "" does too). A voice chosen by hand is no longer matched to the
    clip, so the match's similarities and pitch shift go; a new clip (`reference`, as stored: relative to
    the project file, or absolute) is the user's and was measured by nothing yet.
    """
    before = _speaker_entry(project, name)
    if before is None and engine is UNSET:
        raise UsageError(f"{who(name)} has no voice yet: choose an engine for it")
    after = copy.deepcopy(before) if before is not None else SpeakerEntry(name, engine, "")
    if engine is not UNSET:
        after.engine = engine
        if voice is UNSET and (before is None or engine != before.engine):
            voice = None  # the old voice is the old engine's
    if reference is not UNSET and (reference or None) != after.reference:
        after.reference = reference or None
        after.reference_source = "user" if after.reference else ""
        after.reference_text, after.reference_lang = "", None  # they said what the old clip says
        _forget_match(after, default_too=True)
    if reference_text is not UNSET:
        after.reference_text = reference_text
    if reference_lang is not UNSET:
        after.reference_lang = reference_lang or None
    after.voice = _checked_voice(project, after, voice if voice is not UNSET else after.voice, config)
    if before is not None and (after.engine, after.voice) != (before.engine, before.voice):
        _forget_match(after, default_too=after.engine != before.engine)
    return SpeakerEdit(label, name, copy.deepcopy(before), after)


def recast_speaker(project: Project, name: str, label: str, entry: SpeakerEntry,
                   config: Config | None = None) -> SpeakerEdit:
    """Return the edit that puts a whole new entry in place of a speaker's (one matched to its clip, say),
    its engine and voice checked as `change_speaker` checks them."""
    before = _speaker_entry(project, name)
    after = copy.deepcopy(entry)
    after.name = name
    after.voice = _checked_voice(project, after, after.voice, config)
    return SpeakerEdit(label, name, copy.deepcopy(before), after)


def _speaker_entry(project: Project, name: str) -> SpeakerEntry | None:
    """The speaker's entry; None for a speaker of some line not cast yet; an unknown speaker is refused."""
    if name in project.speakers:
        return project.speakers[name]
    if any(line.speaker == name for line in project.lines):
        return None
    known = ", ".join(repr(n) for n in dict.fromkeys([*project.speakers, *(line.speaker for line in project.lines)]))
    raise UsageError(f"there is no speaker {name!r} in this project (speakers: {known or 'none'})")


def _checked_voice(project: Project, entry: SpeakerEntry, voice: str | None, config: Config | None) -> str:
    """The voice the entry's engine speaks for `voice` (its name for a blend; its default for None), or raise
    why it cannot: the engine cannot run here, has no such voice, or needs a clip."""
    engine = registry.get_engine(entry.engine, config)
    clip = None
    if entry.reference and engine.capabilities.cloning != "none":
        clip = Reference(Path(entry.reference), entry.reference_text, entry.reference_lang)
    return engine.check_voice_choice(project.lang, voice or None, reference=clip)


def _forget_match(entry: SpeakerEntry, default_too: bool) -> None:
    """Drop what matching measured: it was for another voice (and, `default_too`, another engine or clip)."""
    entry.matched, entry.similarity = False, None
    entry.pitch_semitones, entry.pitched_similarity = 0.0, None
    entry.tuned_from, entry.tuned, entry.tune_reason, entry.tune_seconds = "", False, "", None
    entry.tune_similarity = entry.tune_judged = entry.tune_wer = None
    if default_too:
        entry.default_similarity = None
