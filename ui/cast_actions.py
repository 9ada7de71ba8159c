"""What the cast panel's buttons do: give a speaker another engine, voice or clip, match its voice to the
original (auto) or tune it toward the original (tune), and re-dub its lines; each is one undoable step.

The speaker's new plan is made on the worker (matching takes seconds to minutes), and its dubbed lines are
rendered with it there before anything changes; when the job ends, the speaker edit and every new take land
together as one `EditGroup`. A cancel keeps the lines finished before it (the others show as needing a new
take); a failure changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget

from dubber.plugin import registry
from dubber.plugin.engine import Reference
from dubber.project.edits import EditGroup, SpeakerEdit, add_take, change_speaker, recast_speaker
from dubber.project.store import TakeRecord, references_folder, relative_to_project
from dubber.subtitles.speakers import AUTO, TUNE
from dubber.ui.cast_panel import CastPanel, redub_positions, who
from dubber.ui.commands import EditCommand
from dubber.ui.messages import describe
from dubber.ui.panel import Panel
from dubber.voices.casting import OriginalAudio, SpeakerPlan, entry_reference, plan_from_entry, plan_speaker

CLIP_FILTER = "Audio (*.wav *.flac *.mp3 *.m4a *.ogg *.opus);;All files (*)"


def speaks_otherwise(edit: SpeakerEdit) -> bool:
    """Whether the speaker's lines would sound otherwise: another engine, voice or pitch, or, for an engine
    that clones, another clip. A stock voice's takes stay as they are when only the clip changes."""
    before, after = edit.before, edit.after
    if before is None or (before.engine, before.voice, before.pitch_semitones) != \
            (after.engine, after.voice, after.pitch_semitones):
        return True
    try:
        clones = registry.engine_class(after.engine).capabilities.cloning != "none"
    except Exception:
        clones = True  # not known here: re-dub rather than keep takes that may be of the old clip
    return clones and (before.reference, before.reference_text, before.reference_lang) != \
        (after.reference, after.reference_text, after.reference_lang)


class CastActions:
    """Wires the cast panel's buttons to the session, the job runner and the undo stack."""

    def __init__(self, panel: Panel, cast: CastPanel, play: Callable[[Path], None], dialogs: QWidget) -> None:
        self.panel, self.cast, self._play, self._dialogs = panel, cast, play, dialogs
        cast.apply_button.clicked.connect(lambda _=False: self.apply())
        cast.auto_button.clicked.connect(lambda _=False: self.match())
        cast.tune_button.clicked.connect(lambda _=False: self.match(TUNE))
        cast.choose_button.clicked.connect(lambda _=False: self.choose_clip())
        cast.play_button.clicked.connect(lambda _=False: self.play_clip())
        panel.jobs.changed.connect(lambda: cast.set_busy(panel.jobs.busy))

    def apply(self) -> None:
        """Give the selected speaker the form's engine, voice and clip, and re-dub its dubbed lines."""
        session, name = self._ready()
        if session is None or name is None:
            return
        cast = self.cast
        voice = cast.voice_box.currentText().strip()
        if voice in (AUTO, TUNE):  # as on the command line
            self.match(voice)
            return
        engine = cast.engine_box.currentText()
        try:  # checked on this thread: a choice the engine refuses changes nothing and starts nothing
            edit = change_speaker(session.project, name, "", engine=engine, voice=voice or None,
                                  reference=cast.clip, reference_text=cast.clip_text.text().strip(),
                                  config=session.options.config)
        except Exception as exc:
            self.panel.message.show_error(exc)
            return
        if edit.after == edit.before:
            self.panel.message.show_status(f"{who(name)} already speaks with {engine} {edit.after.voice}.")
            return
        edit.label = f"Cast {who(name)}: {edit.after.engine} {edit.after.voice}"
        self._recast(name, edit.label,
                     lambda _control: plan_from_entry(edit.after, session.path, session.options.config),
                     edit, redub=speaks_otherwise(edit))

    def match(self, voice: str = AUTO) -> None:
        """Match the selected speaker's voice to its clip (cut from the original when it has none), as
        `--voice auto` does, on the form's engine (with `voice` TUNE, then tune it as `--voice tune` does); then
        re-dub its dubbed lines."""
        session, name = self._ready()
        if session is None or name is None:
            return
        engine = self.cast.engine_box.currentText() or None
        clip = self.cast.clip_path()
        reference = Reference(clip, self.cast.clip_text.text().strip()) if clip is not None else None
        entry = session.project.speakers.get(name)
        if reference is None and entry is not None and entry.reference:
            reference = entry_reference(entry, session.path)
        if reference is None and not session.info.audio_streams:  # said here in the panel's words, not the CLI's
            self.panel.message.show_status(f"{session.video.name} has no sound of its own to cut a clip of "
                                           f"{who(name)} from: choose a clip (Choose…), then match to it.")
            return

        title = f"{'Tune' if voice == TUNE else 'Match'} {who(name)} to the original"

        def make_plan(control: Any) -> SpeakerPlan:
            def tuning(_speaker: str, done: int, total: int) -> None:
                control.check()  # Esc stops the search between two steps
                control.progress(done, total, f"{title}: searching the voice, step {done} of {total}")

            request = replace(session.options.voice_request(), lang=session.project.lang, engine=engine, voice=voice,
                              reference=reference, speakers=None, progress=tuning)
            audio = None
            if reference is None and session.original is not None:  # every cue bounds the clip cut
                audio = OriginalAudio(session.original, session.rate, [session.cue(x) for x in session.project.lines])
            # Matched apart from the rest of the cast, as a dub matches its speakers together.
            plan = plan_speaker(name, request, audio, references_folder(session.path), session.path,
                                settled=session.project.speakers)
            if entry is not None and plan.entry.reference == entry.reference:
                plan.entry.reference_source = entry.reference_source  # still its clip, however it came
            return plan

        self._recast(name, title, make_plan, None)

    def choose_clip(self) -> None:
        """Put a clip chosen from the disk in the form (Apply gives it to the speaker)."""
        session = self.panel.session
        if session is None or self.cast.selected() is None:
            return
        name, _ = QFileDialog.getOpenFileName(self._dialogs, f"A clip of {who(self.cast.selected() or '')}",
                                              str(session.path.parent), CLIP_FILTER)
        if name:
            self.cast.set_clip(relative_to_project(name, session.path))
            self.panel.message.show_status("Clip chosen: Apply gives it to the speaker, or match to it (auto).")

    def play_clip(self) -> None:
        clip = self.cast.clip_path()
        if clip is not None:
            self._play(clip)

    def _ready(self) -> tuple[Any, str | None]:
        session = self.panel.session
        if session is None:
            return None, None
        if self.panel.jobs.busy:
            self.panel.message.show_status("A job is running: wait for it or cancel it (Esc).")
            return None, None
        name = self.cast.selected()
        if name is None:
            self.panel.message.show_status("Select a speaker first.")
        return session, name

    def _recast(self, name: str, title: str, make_plan: Callable[[Any], SpeakerPlan], edit: SpeakerEdit | None,
                redub: bool = True) -> None:
        """On the worker: make the speaker's plan, then render each of its dubbed lines with it (`redub`); when
        the job ends, land the speaker edit (`edit`, else one made from the plan) and the takes as one step."""
        panel = self.panel
        session = panel.session
        assert session is not None
        positions = redub_positions(session.project, name) if redub else []
        state: dict[str, Any] = {"edit": edit, "planned": False, "takes": []}

        def work(control: Any) -> int:
            total = len(positions) + 1
            control.progress(0, total, f"{title}: choosing the voice…")
            plan = make_plan(control)
            control.hand_over(("plan", plan))
            for k, position in enumerate(positions):
                control.check()
                line = session.project.lines[position]
                control.progress(k + 1, total, f"Line {line.index}: speaking “{line.text[:40]}”")
                try:
                    take: TakeRecord | Exception = session.render(line, speaker=plan)
                except Exception as exc:  # e.g. an engine that fails on one line: say which
                    take = exc
                control.hand_over(("take", position, line.index, take))
            control.progress(total, total, "done")
            return len(positions)

        def landed(item: Any) -> None:
            if item[0] == "plan":
                if state["edit"] is None:
                    try:
                        state["edit"] = recast_speaker(session.project, name, title, item[1].entry,
                                                       session.options.config)
                    except Exception as exc:
                        panel.jobs.errors.append(describe(exc)[1])
                        panel.jobs.cancel()
                        return
                state["planned"] = True
                return
            _, position, index, take = item
            if isinstance(take, Exception):
                panel.jobs.errors.append(describe(take, index)[1])
                return
            if take.status == "failed":
                panel.jobs.errors.append(f"Line {index}: {take.reason}")
            state["takes"].append((position, index, take))

        def end() -> None:
            if not state["planned"]:
                return  # the voice could not be chosen: nothing changes
            edits: list[Any] = [state["edit"]]
            edits += [add_take(session.project, position, take, f"{title}: line {index}")
                      for position, index, take in state["takes"]]
            panel.undo.push(EditCommand(session, EditGroup(title, edits), panel.lines_changed))

        panel.jobs.start(title, work, on_item=landed, on_end=end)
