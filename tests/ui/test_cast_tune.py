""""Tune to the original" in the cast panel: offered only for an engine with a style vector, it tunes a speaker
on the worker with progress, re-dubs its lines, and lands as one undoable step.

The engine is test_casting_tune.py's stand-in (tones whose pitch is their style pack), with its spectral
encoders; the tuning itself is tested there and in test_tune.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dubber.plugin import registry
from dubber.project.store import SpeakerEntry
from dubber.voices import casting, match, tune
from tests.dubber.voices.test_casting_tune import TunableTones, Understood
from tests.dubber.voices.test_casting_together import Spectrum
from tests.ui.opened import close, open_once, window_over_copy
from tests.ui.test_line_editor import Entry
from tests.ui.test_main_window import SlowToneEngine, idle

WAIT_MS = 120_000


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    """The two-speaker sample (Aiko and Kenji), opened once."""
    return open_once(tmp_path_factory.mktemp("cast-tune"), "demo.en.ass")


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch):
    """The sample dubbed by the tone engine; the registry also holds the tunable tones."""
    monkeypatch.setenv("DUBBER_CACHE_DIR", str(tmp_path / "cache"))
    tone, tunable = SlowToneEngine(), TunableTones()
    monkeypatch.setattr(registry, "entries",
                        lambda: {"tone": Entry(SlowToneEngine), "tunabletones": Entry(TunableTones)})
    for module in (match, casting, tune):
        monkeypatch.setattr(module, "default_embedder", Spectrum)
    monkeypatch.setattr(tune, "default_judge", Spectrum)
    monkeypatch.setattr(tune, "Whisper", Understood)
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, tone)
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: tunable if name == tunable.name else tone)
    win.takes.dub_pending()
    idle(qtbot, win)
    win.show_cast()
    yield win
    close(win)


def test_tune_is_offered_only_where_the_engine_tunes_and_tunes_kenji_as_one_step(qtbot, window, monkeypatch):
    session, cast = window.session, window.cast
    cast.select("Kenji")
    assert cast.engine_box.currentText() == "tone" and not cast.tune_button.isEnabled()
    assert cast.auto_button.isEnabled()
    cast.engine_box.setCurrentText("tunabletones")
    assert cast.tune_button.isEnabled()

    said: list[str] = []
    shown = window.jobs._on_progress
    monkeypatch.setattr(window.jobs, "_on_progress", lambda *step: (said.append(step[2]), shown(*step)))
    qtbot.mouseClick(cast.tune_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    kenji = session.project.speakers["Kenji"]
    assert kenji.engine == "tunabletones" and kenji.tuned_from and kenji.reference_source == "extracted", \
        window.message.last_message
    assert kenji.voice.startswith("tuned-") if kenji.tuned else kenji.voice == kenji.tuned_from
    assert any("searching the voice, step" in text for text in said), said
    lines = [line for line in session.project.lines if line.speaker == "Kenji"]
    assert all(line.take.engine == "tunabletones" and line.take.voice == kenji.voice for line in lines)
    assert ("tuned from " if kenji.tuned else "tuning kept ") + kenji.tuned_from in cast.similarity_label.text()

    window.undo.undo()
    assert session.project.speakers["Kenji"] == SpeakerEntry("Kenji", "tone", "a")
