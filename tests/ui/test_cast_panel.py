"""The cast panel on the two-speaker sample: a speaker's new voice re-dubs its lines as one undoable step,
two speakers on one voice are warned of, a refused choice changes nothing, and auto matches from the panel."""

from __future__ import annotations

import copy

import pytest
from PySide6.QtCore import Qt

from dubber.errors import EngineUnavailable
from dubber.plugin import registry
from dubber.project.store import SpeakerEntry, load_project
from dubber.ui.cast_panel import NOT_CAST, redub_positions
from dubber.ui.line_model import COL_TEXT
from tests.ui.opened import close, open_once, shown_window, window_over_copy
from tests.ui.shortcut_check import PRESSES
from tests.ui.test_line_editor import RECIPE, Entry, GhostEngine
from tests.ui.test_main_window import SlowToneEngine, idle

WAIT_MS = 120_000


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    """The two-speaker sample (Aiko and Kenji), opened once."""
    return open_once(tmp_path_factory.mktemp("cast"), "demo.en.ass")


@pytest.fixture
def engine(monkeypatch):
    """The registry holds the tone engine (voices a and b) and a ghost that cannot run here."""
    tone = SlowToneEngine()
    monkeypatch.setattr(registry, "entries", lambda: {"ghost": Entry(GhostEngine), "tone": Entry(SlowToneEngine)})
    return tone


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch, engine):
    """The sample dubbed by the tone engine, the cast panel shown."""
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, engine)

    def get_engine(name, config=None):
        if name == "ghost":
            raise EngineUnavailable(f"engine 'ghost' is not available: {RECIPE}", engine="ghost", hint=RECIPE)
        return engine

    monkeypatch.setattr(registry, "get_engine", get_engine)
    win.takes.dub_pending()
    idle(qtbot, win)
    win.show_cast()
    yield win
    close(win)


def lines_of(project, name):
    return [line for line in project.lines if line.speaker == name]


def test_the_cast_shows_each_speaker_with_its_engine_voice_and_lines(window):
    cast = window.cast
    rows = [[cast.table.item(r, c).text() for c in range(cast.table.columnCount())]
            for r in range(cast.table.rowCount())]
    assert rows == [["Aiko", "3/3", "tone", "a", "—"], ["Kenji", "3/3", "tone", "a", "—"]]
    assert cast.selected() == "Aiko" and cast.engine_box.currentText() == "tone"
    assert [cast.voice_box.itemText(k) for k in range(cast.voice_box.count())] == ["a", "b"]
    assert cast.apply_button.text() == "Apply and re-dub 3 lines"


def test_the_two_speakers_of_the_sample_on_one_voice_are_warned_of_until_one_gets_another(qtbot, window):
    """The bug: Aiko and Kenji got the same voice, with no warning."""
    cast = window.cast
    assert cast.warning.isVisible()
    assert "Aiko and Kenji share one voice (tone a)" in cast.warning.text()
    cast.select("Kenji")
    cast.voice_box.setCurrentText("b")
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    idle(qtbot, window)
    assert not cast.warning.isVisible() and not cast.warning.text()
    window.undo.undo()
    assert cast.warning.isVisible() and "Aiko and Kenji" in cast.warning.text()


def test_a_new_voice_for_kenji_redubs_his_lines_as_one_step(qtbot, window, engine):
    session, cast = window.session, window.cast
    before = copy.deepcopy(session.project)
    cast.select("Kenji")
    assert cast.title.text().startswith("Kenji · 3 spoken lines")
    cast.voice_box.setCurrentText("b")
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    assert window.jobs.busy and not cast.apply_button.isEnabled()  # rendered on the worker
    idle(qtbot, window)

    kenji, aiko = lines_of(session.project, "Kenji"), lines_of(session.project, "Aiko")
    assert session.project.speakers["Kenji"].voice == "b"
    assert all(len(line.takes) == 2 and line.take.voice == "b" and line.take is line.takes[1] for line in kenji)
    assert aiko == lines_of(before, "Aiko") and session.project.speakers["Aiko"] == before.speakers["Aiko"]
    assert all(session.status(line) == "ok" for line in session.project.lines), window.message.last_message
    assert load_project(session.path).speakers["Kenji"].voice == "b"  # saved
    assert cast.table.item(1, 3).text() == "b"
    assert window.undo.count() == 2 and window.undo.text(1) == "Cast Kenji: tone b"  # the dub, then this

    calls = engine.calls
    qtbot.keyClick(window.table, *PRESSES["Ctrl+Z"])  # one step: the voice and every take
    assert session.project.speakers == before.speakers
    assert [line.take for line in session.project.lines] == [line.take for line in before.lines]
    assert all(len(line.takes) == 2 for line in lines_of(session.project, "Kenji"))  # takes are never deleted
    assert cast.table.item(1, 3).text() == "a"
    qtbot.keyClick(window.table, *PRESSES["Ctrl+Shift+Z"])
    assert session.project.speakers["Kenji"].voice == "b"
    assert all(line.take.voice == "b" and len(line.takes) == 2 for line in lines_of(session.project, "Kenji"))
    assert engine.calls == calls and not window.jobs.busy  # redone without rendering


def test_an_engine_that_cannot_run_says_why_and_changes_nothing(qtbot, window, engine):
    session, cast = window.session, window.cast
    before, calls, steps = copy.deepcopy(session.project), engine.calls, window.undo.count()
    cast.select("Kenji")
    cast.engine_box.setCurrentText("ghost")
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    assert not window.jobs.busy
    assert window.message.last_message == ("The engine is not available",
                                           "ghost cannot run here: the ghost package is not installed.")
    assert session.project == before and load_project(session.path).speakers == before.speakers
    assert engine.calls == calls and window.undo.count() == steps


def test_a_cancel_keeps_the_lines_finished_before_it_and_the_rest_need_a_new_take(qtbot, window, engine):
    session, cast = window.session, window.cast
    before = copy.deepcopy(session.project)
    engine.delay_s = 0.4
    cast.select("Kenji")
    cast.voice_box.setCurrentText("b")
    calls = engine.calls
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: engine.calls > calls, timeout=WAIT_MS)  # the first line is at the engine
    window.cancel_job()
    idle(qtbot, window)
    kenji = lines_of(session.project, "Kenji")
    redone = [line for line in kenji if len(line.takes) == 2]
    assert session.project.speakers["Kenji"].voice == "b" and 1 <= len(redone) < 3
    assert all(session.status(line) == ("ok" if line in redone else "stale") for line in kenji)
    window.undo.undo()  # still one step
    assert session.project.speakers == before.speakers
    assert [line.take for line in session.project.lines] == [line.take for line in before.lines]


def test_a_match_that_cannot_run_changes_nothing(qtbot, window):
    session, cast = window.session, window.cast
    before = copy.deepcopy(session.project)
    cast.select("Kenji")
    cast.engine_box.setCurrentText("ghost")
    qtbot.mouseClick(cast.auto_button, Qt.MouseButton.LeftButton)
    idle(qtbot, window)
    assert window.message.last_message == ("The engine is not available",
                                           "ghost cannot run here: the ghost package is not installed.")
    assert session.project == before and window.undo.count() == 1  # the dub alone


def test_the_ghost_engine_is_greyed_with_its_reason(window):
    box = window.cast.engine_box
    ghost = box.model().item(box.findText("ghost"))
    assert not ghost.isEnabled() and ghost.toolTip().startswith("ghost cannot run here")


def test_auto_matches_kenji_to_his_clip_cut_from_the_original_as_one_step(qtbot, window):
    session, cast = window.session, window.cast
    cast.select("Kenji")
    qtbot.mouseClick(cast.auto_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    kenji = session.project.speakers["Kenji"]
    assert kenji.matched and kenji.similarity is not None and kenji.default_similarity is not None, \
        window.message.last_message
    assert kenji.reference and kenji.reference_source == "extracted" and (session.path.parent / kenji.reference).is_file()
    assert kenji.voice in ("a", "b")
    assert all(line.take.voice == kenji.voice and len(line.takes) == 2 for line in lines_of(session.project, "Kenji"))
    assert f"{kenji.similarity:.2f}" == cast.table.item(1, 4).text()
    assert "(matched)" in cast.similarity_label.text()
    assert cast.clip_label.text() == kenji.reference.split("/")[-1] and cast.play_button.isEnabled()  # the form too
    window.undo.undo()
    assert session.project.speakers["Kenji"] == SpeakerEntry("Kenji", "tone", "a")


def test_auto_on_a_video_without_sound_asks_for_a_clip_in_the_panels_words(qtbot, tmp_path, engine):
    from dubber.audio.media import make_test_video
    from dubber.pipeline.session import Session
    from dubber.project.store import LineEntry, Project, save_project

    video = make_test_video(tmp_path / "silent.mp4", 3000, None, 48000)
    project = Project(str(video), str(tmp_path / "silent.srt"), "en",
                      lines=[LineEntry(1, 500, 1500, "Hello there.", "Ann")])
    save_project(project, tmp_path / "silent.dubber.json")
    win = shown_window(qtbot, Session(project, tmp_path / "silent.dubber.json"))
    win.show_cast()
    win.cast.select("Ann")
    qtbot.mouseClick(win.cast.auto_button, Qt.MouseButton.LeftButton)
    said = win.message.text()
    assert "has no sound of its own" in said and "Choose" in said and "--reference" not in said, said
    assert not win.jobs.busy and win.undo.count() == 0
    close(win)


def test_a_clip_chosen_from_disk_is_the_speakers_after_apply_and_plays(qtbot, window, monkeypatch, tmp_path):
    import numpy as np

    from dubber.audio.media import write_wav

    clip = tmp_path / "kenji.wav"
    write_wav(clip, np.zeros(24000, np.float32), 24000)
    monkeypatch.setattr("dubber.ui.cast_actions.QFileDialog.getOpenFileName", lambda *a, **k: (str(clip), ""))
    played = []
    monkeypatch.setattr(window.casting, "_play", played.append)
    cast = window.cast
    cast.select("Kenji")
    qtbot.mouseClick(cast.choose_button, Qt.MouseButton.LeftButton)
    assert cast.clip_label.text() == "kenji.wav" and cast.play_button.isEnabled()
    qtbot.mouseClick(cast.play_button, Qt.MouseButton.LeftButton)
    assert played == [clip]
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    idle(qtbot, window)
    kenji = window.session.project.speakers["Kenji"]
    assert (kenji.reference, kenji.reference_source, kenji.voice) == (str(clip), "user", "a")
    # A stock voice is unchanged by a clip: its lines keep their takes, and nothing was rendered for them.
    assert all(len(line.takes) == 1 for line in lines_of(window.session.project, "Kenji"))


def test_ctrl_k_goes_to_the_cast_and_back_to_the_line(qtbot, window):
    assert window.cast.isVisible() and window.cast_action.isChecked()
    qtbot.keyClick(window.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert not window.cast.isVisible() and window.editor.isVisible() and not window.cast_action.isChecked()
    qtbot.keyClick(window.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.cast.isVisible() and not window.editor.isVisible() and window.cast_action.isChecked()


def test_the_real_sample_gives_both_speakers_pipers_one_voice_and_says_so(qtbot, opened_sample, tmp_path):
    """The installed engines, nothing dubbed: Piper has one voice, so both speakers get it; Kokoro for Kenji
    clears the warning."""
    import shutil

    from dubber.pipeline.session import Session

    shutil.copytree(opened_sample, tmp_path / "sample")
    session = Session.open(tmp_path / "sample" / "demo.mp4")
    win = shown_window(qtbot, session)
    cast = win.cast
    assert cast.table.item(0, 3).text() == NOT_CAST and not cast.warning.isVisible()  # not cast yet
    session.plans()  # what the first dub does
    cast.show_cast(session)
    assert "Aiko and Kenji share one voice (piper en_US-joe-medium)" in cast.warning.text()
    cast.select("Kenji")
    assert redub_positions(session.project, "Kenji") == []
    cast.engine_box.setCurrentText("kokoro")
    assert cast.voice_box.currentText() == "jm_kumo" and cast.voice_box.isEditable()  # Kokoro's English default
    cast.voice_box.setCurrentText("jf_alpha*0.6+nobody")  # a voice Kokoro refuses: said, nothing changes
    before = copy.deepcopy(session.project)
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    assert not win.jobs.busy and session.project == before and win.undo.count() == 0
    assert win.message.last_message[0] == "No such voice"
    assert win.message.last_message[1].startswith("Kokoro cannot read 'nobody' in voice 'jf_alpha*0.6+nobody'")
    cast.voice_box.setCurrentText("jm_kumo*0.4+jf_alpha*0.6")  # a blend
    qtbot.mouseClick(cast.apply_button, Qt.MouseButton.LeftButton)
    idle(qtbot, win)
    assert session.project.speakers["Kenji"].voice == "jf_alpha*0.6+jm_kumo*0.4", win.message.last_message
    assert not cast.warning.text()
    close(win)


def test_at_1024_by_640_the_cast_shows_whole_and_is_photographed(qtbot, window):
    """Every control of the cast can be scrolled into view at 1024×640, whole (the table keeps its room: the cast
    is a tab beside the line); the picture goes to tests/artifacts/."""
    from pathlib import Path

    from tests.ui.test_panel_layout import shown_in_window

    window.resize(1024, 640)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (1024, 640), timeout=5_000)
    window.cast.select("Kenji")
    qtbot.wait(50)
    cast = window.cast
    view = window.cast_scroll.viewport()
    for widget in (cast.warning, cast.table, cast.engine_box, cast.voice_box, cast.choose_button, cast.play_button,
                   cast.clip_text, cast.apply_button, cast.auto_button):
        window.cast_scroll.ensureWidgetVisible(widget, 0, 4)
        if widget.height() <= view.height():  # a control: whole; the speakers' table: as much as the view holds
            assert widget.isVisible() and shown_in_window(window, widget), widget
        else:
            assert widget.visibleRegion().boundingRect().height() >= view.height() - 1, widget
    assert window.table.horizontalHeader().sectionSize(COL_TEXT) >= window.table.text_min_px()
    window.cast_scroll.verticalScrollBar().setValue(0)
    assert cast.apply_button.width() >= cast.apply_button.sizeHint().width()  # its label whole
    shot = Path(__file__).resolve().parents[1] / "artifacts" / "cast_panel.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(shot))


def test_two_voices_measured_too_close_are_warned_of_like_one_voice():
    from dubber.ui.cast_panel import sharing_words
    from dubber.voices.sharing import CloseVoices

    text = sharing_words([], [CloseVoices("kokoro", ("Aiko", "Mio"), ("jf_gongitsune", "jf_nezumi"), 0.087)])
    assert text.startswith("Aiko and Mio have voices only 0.09 apart (kokoro jf_gongitsune, jf_nezumi)")
    assert text.endswith("match each to the original (auto).")
