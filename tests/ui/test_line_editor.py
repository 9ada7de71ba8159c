"""The line editor: engines that cannot run are greyed and said plainly, a failed choice goes back, a line
that leaves the view leaves nothing behind, and every take is readable."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from dubber.errors import EngineUnavailable
from dubber.plugin import registry
from dubber.project.store import TakeRecord
from dubber.ui.line_editor import SPEAKERS_CHOICE, TAKES_ROWS, LineEditor
from tests.conftest import ToneEngine
from tests.ui.test_main_window import SAMPLES, idle, opened, sample, window  # noqa: F401 (fixtures)

RECIPE = ("the ghost package is not installed: pip install ghost-tts (it needs torch); set engines.ghost.ckpt_path "
          "to the checkpoint: download ghost.safetensors from the Hugging Face repo someone/ghost")


class GhostEngine(ToneEngine):
    """An engine registered but not installed here."""

    name = "ghost"

    @classmethod
    def availability(cls, settings=None, probe=False):
        return RECIPE


class Entry:
    """A registry entry that loads its class without an entry point."""

    def __init__(self, cls):
        self.cls = cls

    def load_class(self):
        return self.cls


@pytest.fixture
def engines(monkeypatch):
    """The registry holds the tone engine and the ghost; asking for the ghost fails as the registry does."""
    tone = ToneEngine(ms_per_char=50, pause_ms=50)
    monkeypatch.setattr(registry, "entries", lambda: {"ghost": Entry(GhostEngine), "tone": Entry(ToneEngine)})

    def get_engine(name, config=None):
        if name == "ghost":
            raise EngineUnavailable(f"engine 'ghost' is not available: {RECIPE}", engine="ghost", hint=RECIPE)
        return tone

    monkeypatch.setattr(registry, "get_engine", get_engine)
    return tone


def test_an_engine_that_cannot_run_is_greyed_with_its_reason(qtbot, engines):
    editor = LineEditor()
    qtbot.addWidget(editor)
    editor.fill_engines("en")
    box, model = editor.engine_box, editor.engine_box.model()
    assert [box.itemText(k) for k in range(box.count())] == [SPEAKERS_CHOICE, "ghost", "tone"]
    ghost, tone = model.item(1), model.item(2)
    assert not ghost.isEnabled() and tone.isEnabled()
    assert ghost.toolTip().startswith("ghost cannot run here: the ghost package is not installed.\n")
    assert RECIPE in ghost.toolTip()  # the recipe in the details
    assert not tone.toolTip()


def test_a_failed_engine_goes_back_to_the_lines_and_is_said_plainly(qtbot, window, sample, engines):  # noqa: F811
    session = opened(qtbot, window, *sample)
    window.select_position(1)
    box = window.editor.engine_box
    box.setCurrentText("ghost")
    assert box.currentText() == "ghost"
    window.edits.apply_voice()
    idle(qtbot, window)
    line = session.project.lines[1]
    assert line.engine is None and not line.takes
    assert box.currentText() == SPEAKERS_CHOICE  # the line's engine: the speaker's
    assert window.message.last_message[1] == "Line 2: ghost cannot run here: the ghost package is not installed."


def test_a_line_that_leaves_the_filtered_view_leaves_nothing_in_the_editor(qtbot, window, tmp_path):  # noqa: F811
    video, subs = tmp_path / "v.mp4", tmp_path / "v.srt"
    shutil.copy(SAMPLES / "demo.mp4", video)
    subs.write_text("1\n00:00:01,000 --> 00:00:02,500\n[MUSIC PLAYING]\n\n"
                    "2\n00:00:04,000 --> 00:00:05,500\n[DOOR SLAMS]\n", encoding="utf-8")
    session = opened(qtbot, window, video, subs)
    editor = window.editor
    for position in (0, 1):  # spoken anyway: both need a take, so both show under the filter
        window.select_position(position)
        window.edits.toggle_speak()
    window.set_filter(True)
    assert window.proxy.rowCount() == 2
    window.select_position(1)
    assert editor.text_edit.toPlainText() == "[DOOR SLAMS]"

    window.undo.undo()  # line 2 is not spoken again: it leaves the view, the editor follows line 1
    assert window.proxy.rowCount() == 1
    assert editor.line_title.text().startswith("Line 1 ")
    assert editor.text_edit.toPlainText() == "[MUSIC PLAYING]"
    assert editor.start_box.value() == session.project.lines[0].start_ms

    window.undo.undo()  # and line 1: nothing is selected, and nothing of it is left to edit
    assert window.proxy.rowCount() == 0
    assert editor.line_title.text() == "No line selected"
    assert editor.text_edit.toPlainText() == "" and editor.start_box.value() == editor.end_box.value() == 0
    assert editor.engine_box.currentText() in ("", SPEAKERS_CHOICE) and not editor.emotion_edit.text()
    assert not any(widget.isEnabled() for widget in editor.fields)


def test_every_take_has_its_full_description_and_no_row_is_cut(qtbot, window, sample):  # noqa: F811
    session = opened(qtbot, window, *sample)
    window.resize(1024, 768)
    line = session.project.lines[0]
    words = "Good morning. Today we are sailing to the old harbour, with the camera and the sandwiches."
    base = TakeRecord(seed=0, engine="kokoro", voice="af_heart*0.6+am_michael*0.4", status="ok", error_ms=12,
                      speech_ms=2000, reason="70 ms shorter than the original speech")
    line.takes = [replace(base, seed=k, text=words if k == 2 else line.text) for k in range(5)]
    line.chosen = 2
    window.editor.show_line(session, line)
    takes = window.editor.takes_list
    qtbot.waitUntil(lambda: takes.isVisible())
    tips = [takes.item(k).toolTip() for k in range(takes.count())]
    assert all(f"seed {k}, kokoro af_heart*0.6+am_michael*0.4" in tip and "70 ms shorter" in tip
               for k, tip in enumerate(tips))
    assert f"“{words}”" in tips[2] and "(in use)" in tips[2]
    rows = [takes.visualItemRect(takes.item(k)) for k in range(takes.count())]
    shown = [r for r in rows if r.bottom() >= 0 and r.top() < takes.viewport().height()]
    assert len(shown) == TAKES_ROWS
    assert all(r.top() >= 0 and r.bottom() < takes.viewport().height() for r in shown)  # whole rows only
    assert not takes.horizontalScrollBar().isVisible()  # elided at the edge, the tooltip has the rest
