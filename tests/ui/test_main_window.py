"""The panel, offscreen: open, dub, re-roll, undo, edit, drop, cancel, preview, export."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel
from PySide6.QtMultimedia import QMediaPlayer

from dubber.audio.media import probe, video_packet_checksums
from dubber.pipeline.session import OK, PENDING, STALE
from dubber.plugin import registry
from dubber.project.edits import change_line
from dubber.project.store import load_project
from dubber.subtitles.load import load_subtitles
from dubber.ui.commands import EditCommand
from dubber.ui.export_dialog import ExportChoice
from dubber.ui.line_editor import parse_emotion
from dubber.ui.line_model import COL_ERROR, COL_STATUS, COL_TAKES, COL_TEXT, COL_VOICE, STATUS_COLOURS
from dubber.ui.main_window import MainWindow, classify
from tests.conftest import ToneEngine
from tests.dubber.audio.test_loudness import ebur128
from tests.ui.opened import close, shown_window

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
WAIT_MS = 120_000


@pytest.fixture
def sample(tmp_path):
    """The bundled sample copied aside: opening it writes the project beside the video."""
    video, subs = tmp_path / "demo.mp4", tmp_path / "demo.en.srt"
    shutil.copy(SAMPLES / "demo.mp4", video)
    shutil.copy(SAMPLES / "demo.en.srt", subs)
    return video, subs


class SlowToneEngine(ToneEngine):
    """The tone engine, slow enough to cancel, and failing on lines that say 'boom'."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(ms_per_char=50, pause_ms=50)  # a pace at which every sample line fits
        self.delay_s = delay_s
        self.started = threading.Event()

    def synthesize(self, request):
        self.started.set()
        if "boom" in request.text:
            raise RuntimeError("the engine fell over")
        time.sleep(self.delay_s)
        return super().synthesize(request)


@pytest.fixture
def engine(monkeypatch):
    tone = SlowToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: tone)
    return tone


@pytest.fixture
def window(qtbot):
    win = shown_window(qtbot)
    yield win
    close(win)


def started(qtbot, win):
    """Wait until the player has the file open: stopping it in the instant after play() can hang Qt's
    FFmpeg backend (seen once in a full run, in QObject::disconnect)."""
    loaded = (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferingMedia,
              QMediaPlayer.MediaStatus.BufferedMedia, QMediaPlayer.MediaStatus.EndOfMedia)
    qtbot.waitUntil(lambda: win.player.media_player.mediaStatus() in loaded, timeout=10_000)


def idle(qtbot, win):
    qtbot.waitUntil(lambda: not win.jobs.busy, timeout=WAIT_MS)


def opened(qtbot, win, *paths):
    win.open_paths([Path(p) for p in paths])
    assert win.session is not None, win.message.last_message
    return win.session


def dubbed(qtbot, win, *paths):
    session = opened(qtbot, win, *paths)
    win.takes.dub_pending()
    idle(qtbot, win)
    return session


def cell(win, row, column):
    return win.model.index(row, column).data()


def test_open_the_sample_fills_the_table_and_writes_the_project(qtbot, window, sample):
    video, subs = sample
    session = opened(qtbot, window, subs, video)  # either order
    cues = load_subtitles(subs).cues
    assert window.model.rowCount() == len(cues) == 6
    assert [cell(window, r, 0) for r in range(6)] == [str(c.index) for c in cues]
    assert cell(window, 0, COL_TEXT) == cues[0].text
    assert all(cell(window, r, COL_STATUS) == "not dubbed" for r in range(6))
    assert session.path == video.with_name("demo.dubber.json")
    assert len(load_project(session.path).lines) == 6
    assert window.table.currentIndex().row() == 0
    assert "demo.mp4" in window.windowTitle()


def test_a_new_user_dubs_the_sample_rerolls_undoes_and_exports(qtbot, window, sample, tmp_path):
    """The whole path with the real default engine: dub every line, re-roll one, undo, export."""
    video, subs = sample
    session = dubbed(qtbot, window, video, subs)
    assert [session.status(line) for line in session.project.lines] == [OK] * 6, window.message.last_message
    for row in range(6):
        error = int(cell(window, row, COL_ERROR).split()[0])
        assert abs(error) <= 50
        colour = window.model.index(row, COL_ERROR).data(Qt.ItemDataRole.ForegroundRole).color().name()
        assert colour == STATUS_COLOURS[OK]

    window.select_position(2)
    before = session.project.lines[2].take
    qtbot.keyClick(window.table, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: len(session.project.lines[2].takes) == 2, timeout=WAIT_MS)
    idle(qtbot, window)
    after = session.project.lines[2].take
    assert after.seed == before.seed + 1 and after.audio != before.audio  # a new seed speaks differently
    assert cell(window, 2, COL_TAKES) == "2"
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.project.lines[2].take == before and session.project.lines[2].takes == [before, after]
    assert load_project(session.path).lines[2].take == before  # saved, too

    out = tmp_path / "dubbed.mp4"
    window.exports.export_to(ExportChoice(out, None, tmp_path / "dubbed.srt", tmp_path / "report.json", "duck",
                                  loudness=-16.0, exports=("otio", "stems")))
    idle(qtbot, window)
    assert window.message.last_message[0] == "Exported", window.message.last_message
    assert "6/6 dubbed lines within ±50 ms" in window.message.last_message[1]
    assert re.search(r"Loudness -1[56]\.\d+ LUFS", window.message.last_message[1])
    integrated, _ = ebur128(out)
    assert abs(integrated + 16) <= 0.5
    assert video_packet_checksums(out) == video_packet_checksums(video)  # the picture is never re-encoded
    assert len(probe(out).audio_streams) == 2
    assert [c.text for c in load_subtitles(tmp_path / "dubbed.srt").cues] == [c.text for c in load_subtitles(subs).cues]
    # the hand-off files for an editor: a timeline of six clips pointing at six line WAVs
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(tmp_path / "dubbed.otio"))
    clips = [clip for track in timeline.audio_tracks() if track.name == "Dub" for clip in track.find_clips()]
    assert [clip.metadata["dubber"]["index"] for clip in clips] == [1, 2, 3, 4, 5, 6]
    assert all(Path(clip.media_reference.target_url.removeprefix("file://")).is_file() for clip in clips)
    assert f"{tmp_path / 'dubbed.stems'}/ (" in window.message.last_message[1]


def test_reroll_changes_the_take_and_undo_restores_it(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(1)
    first = session.project.lines[1].take
    calls = engine.calls
    window.edits.reroll()
    idle(qtbot, window)
    line = session.project.lines[1]
    assert len(line.takes) == 2 and line.chosen == 1 and line.take.seed == first.seed + 1
    assert line.take.audio != first.audio
    rerolled = line.take
    window.undo.undo()
    assert session.project.lines[1].takes == [first, rerolled] and session.project.lines[1].chosen == 0
    assert load_project(session.path).lines[1].takes == [first, rerolled]  # takes are never deleted
    calls_before_redo = engine.calls
    window.undo.redo()  # the same take comes back, not a new rendering
    assert session.project.lines[1].take == rerolled and engine.calls == calls_before_redo
    assert calls_before_redo > calls


def test_a_drop_of_two_files_opens_them(qtbot, window, sample):
    video, subs = sample
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(subs)), QUrl.fromLocalFile(str(video))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=10_000)
    assert window.session.video == video


def test_the_empty_window_shows_where_to_drop_and_a_drop_there_opens_both(qtbot, window, sample):
    video, subs = sample
    labels = window.centralWidget().findChildren(QLabel)
    says = [w for w in labels if w.isVisible() and "drop a video" in w.text().lower()]
    assert len(says) == 1 and not window.table.isVisible()  # one placeholder, not an empty table
    zone = says[0]
    assert "drop a video and its subtitles" in zone.text().lower() and "File › Open" in zone.text()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video)), QUrl.fromLocalFile(str(subs))])
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(zone, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(zone, drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: window.session is not None, timeout=10_000)
    assert window.session.video == video and window.model.rowCount() == 6
    assert window.table.isVisible() and not zone.isVisible()  # the lines take its place


def test_drops_one_at_a_time_in_either_order(qtbot, window, sample):
    video, subs = sample
    window.open_paths([subs])
    assert window.session is None and "now drop the video" in window.message.text()
    window.open_paths([video])
    assert window.model.rowCount() == 6
    # Reopening the video alone finds its project.
    other = MainWindow()
    qtbot.addWidget(other)
    other.open_paths([video])
    assert other.model.rowCount() == 6 and other.session.path == window.session.path


def test_a_file_that_is_neither_is_named(qtbot, window, tmp_path):
    junk = tmp_path / "notes.docx"
    junk.write_text("x")
    window.open_paths([junk])
    assert "notes.docx" in window.message.last_message[1]


def test_cancel_keeps_the_lines_already_dubbed_and_is_one_undo_step(qtbot, window, sample, engine):
    engine.delay_s = 0.4
    session = opened(qtbot, window, *sample)
    window.takes.dub_pending()
    qtbot.waitUntil(lambda: any(line.take for line in session.project.lines), timeout=WAIT_MS)
    window.cancel_job()
    idle(qtbot, window)
    done = sum(line.take is not None for line in session.project.lines)
    assert 1 <= done < 6
    assert "cancelled" in window.message.text()
    assert not window.jobs.progress.isVisible() and not window.jobs.cancel_button.isVisible()
    assert window.undo.count() == 1  # the batch is one step
    window.undo.undo()
    assert all(line.take is None for line in session.project.lines)


def test_the_window_keeps_drawing_while_a_job_runs(qtbot, window, sample, engine):
    engine.delay_s = 0.3
    opened(qtbot, window, *sample)
    window.takes.dub_pending()
    qtbot.waitUntil(lambda: window.jobs.progress.isVisible() and window.jobs.progress.maximum() == 6, timeout=WAIT_MS)
    window.step(+1)  # the editor can move around (and the event loop ran to get here)
    assert window.current_position() == 1
    assert not window.editor.reroll_button.isEnabled()  # but not start another job
    window.cancel_job()
    idle(qtbot, window)


def test_edit_text_is_one_undoable_step_that_speaks_the_new_words(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(0)
    old = session.project.lines[0]
    window.editor.text_edit.setPlainText("A shorter line.")
    window.edits.apply_text()
    idle(qtbot, window)
    line = session.project.lines[0]
    assert line.text == "A shorter line." and line.take.text == "A shorter line." and session.status(line) != STALE
    window.undo.undo()
    assert session.project.lines[0].text == old.text and session.project.lines[0].take == old.take
    assert session.project.lines[0].takes == [*old.takes, line.take]  # takes are never deleted


def test_nudge_moves_the_line_and_keeps_its_take(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(3)
    line = session.project.lines[3]
    calls = engine.calls
    window.edits.nudge(100)
    moved = session.project.lines[3]
    assert (moved.start_ms, moved.end_ms) == (line.start_ms + 100, line.end_ms + 100)
    assert moved.take == line.take and session.status(moved) == OK and engine.calls == calls
    assert window.editor.start_box.value() == line.start_ms + 100
    window.undo.undo()
    assert session.project.lines[3] == line


def test_set_timing_to_a_new_length_renders_for_the_new_slot(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(4)
    line = session.project.lines[4]
    window.editor.end_box.setValue(line.end_ms + 400)
    window.edits.apply_timing()
    idle(qtbot, window)
    new = session.project.lines[4]
    assert new.end_ms == line.end_ms + 400 and line.target_start_ms is not None
    assert new.target_start_ms is None  # typed timing takes the line off its original speech
    assert new.take.window_ms == session.slots()[new.index].window_ms  # rendered for its new slot
    assert session.status(new) == OK


def test_bad_timing_is_refused_in_plain_words_naming_the_line(qtbot, window, sample, engine):
    dubbed(qtbot, window, *sample)
    window.select_position(1)
    window.editor.end_box.setValue(window.editor.start_box.value())
    window.edits.apply_timing()
    assert "line 2" in window.message.last_message[1].lower() and "after the start" in window.message.last_message[1]
    assert window.undo.count() == 1 and not window.jobs.busy  # nothing was pushed or started


def test_pick_an_earlier_take(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(0)
    window.edits.reroll()
    idle(qtbot, window)
    assert session.project.lines[0].chosen == 1
    window.edits.use_take(0)
    assert session.project.lines[0].chosen == 0
    assert window.editor.takes_list.count() == 2 and window.editor.takes_list.currentRow() == 0


def test_voice_change_renders_with_the_new_voice(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(2)
    window.editor.voice_box.setCurrentText("b")
    window.edits.apply_voice()
    idle(qtbot, window)
    line = session.project.lines[2]
    assert line.voice == "b" and line.take.voice == "b" and session.status(line) != STALE
    assert "tone b" in cell(window, 2, COL_VOICE)


def test_an_engine_failure_names_the_line_and_the_rest_are_dubbed(qtbot, window, tmp_path, engine):
    video = tmp_path / "v.mp4"
    shutil.copy(SAMPLES / "demo.mp4", video)
    subs = tmp_path / "v.srt"
    subs.write_text("1\n00:00:01,000 --> 00:00:02,500\nGood morning, how are you today?\n\n"
                    "2\n00:00:04,000 --> 00:00:05,500\nThis line goes boom.\n\n"
                    "3\n00:00:07,000 --> 00:00:08,500\nWe are still speaking here, fine.\n", encoding="utf-8")
    session = dubbed(qtbot, window, video, subs)
    assert [session.status(line) for line in session.project.lines] == [OK, "failed", OK]
    assert "Line 2" in window.message.last_message[1] and "fell over" in window.message.last_message[1]
    colour = window.model.index(1, COL_ERROR).data(Qt.ItemDataRole.ForegroundRole).color().name()
    assert colour == STATUS_COLOURS["failed"]


def test_filter_shows_only_lines_that_need_work_and_regenerate_fixes_them(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    edit = change_line(session.project, 4, "edit", text="Look at the water, it is so calm this morning.")  # stale
    window.undo.push(EditCommand(session, edit, window.lines_changed))
    assert session.status(session.project.lines[4]) == STALE
    window.set_filter(True)
    assert window.proxy.rowCount() == 1
    assert window.proxy.index(0, 0).data() == str(session.project.lines[4].index)
    window.takes.regenerate_out_of_sync()
    idle(qtbot, window)
    assert window.proxy.rowCount() == 0
    assert session.status(session.project.lines[4]) == OK


def test_space_plays_the_line_in_context(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(2)
    line = session.project.lines[2]
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.preview.job is None and window.player.offset_ms > 0, timeout=WAIT_MS)
    # the cue, the original speech and the take as placed (at the speech's onset), 1.5 s either side
    onset = session.slots()[line.index].onset_ms
    first = min(line.start_ms, line.target_start_ms, onset)
    last = max(line.end_ms, line.target_end_ms, onset + line.take.speech_ms)
    assert window.player.offset_ms == first - 1500
    source = Path(window.player.media_player.source().toLocalFile())
    info = probe(source)
    assert info.video_streams and info.audio_streams
    assert abs(info.duration_ms - (last - first + 3000)) <= 80
    started(qtbot, window)


def test_play_take_alone(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(0)
    window.preview.play_take()
    take = session.project.lines[0].take
    assert Path(window.player.media_player.source().toLocalFile()) == session.path.parent / take.audio
    started(qtbot, window)


def test_the_strip_follows_the_selection(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    window.select_position(3)
    line = session.project.lines[3]
    assert window.strip.selected() == line.index
    cue = window.strip.cues()[3]
    assert cue.target == (line.target_start_ms, line.target_end_ms)  # the sample's speech was found
    first = min(line.start_ms, line.target_start_ms)
    assert window.strip.window() == (first - 2000, max(line.end_ms, line.target_end_ms, cue.slot[1]) + 2000)
    assert [c.state for c in window.strip.cues()] == ["ok"] * 6


def test_classify_and_parse_emotion():
    video, subs, project, unknown = classify([Path("a.MKV"), Path("b.vtt"), Path("c.dubber.json"), Path("d.txt")])
    assert (video.name, subs.name, project.name, [p.name for p in unknown]) == ("a.MKV", "b.vtt", "c.dubber.json",
                                                                                 ["d.txt"])
    assert parse_emotion("0, 0.5,0,0,0,0,0,0.8").vector == (0, 0.5, 0, 0, 0, 0, 0, 0.8)
    assert parse_emotion("calm and warm").text == "calm and warm"
    assert parse_emotion("  ") is None


def test_reopened_project_shows_the_takes(qtbot, window, sample, engine):
    session = dubbed(qtbot, window, *sample)
    other = MainWindow()
    qtbot.addWidget(other)
    other.open_paths([session.path])
    assert other.model.rowCount() == 6
    assert [cell(other, r, COL_STATUS) for r in range(6)] == ["in sync"] * 6
    assert np.all([line.take is not None for line in other.session.project.lines])
    assert PENDING not in [other.session.status(line) for line in other.session.project.lines]


def test_export_never_replaces_an_input_and_replaces_a_file_once_confirmed(qtbot, window, sample, engine, tmp_path):
    import json

    video, subs = sample
    opened(qtbot, window, video, subs)
    before = subs.read_bytes()
    window.exports.export_to(ExportChoice(None, None, subs, None, "duck", overwrite=True))
    idle(qtbot, window)
    assert window.message.last_message[0] == "A file is in the way" and str(subs) in window.message.last_message[1]
    assert subs.read_bytes() == before
    notes = tmp_path / "notes.json"
    notes.write_text("{}", encoding="utf-8")
    window.exports.export_to(ExportChoice(None, None, None, notes, "duck", overwrite=True))  # the dialog asked
    idle(qtbot, window)
    assert window.message.last_message[0] == "Exported", window.message.last_message
    assert json.loads(notes.read_text(encoding="utf-8"))["summary"]["not_rendered"] == 6


def test_selecting_a_line_shows_its_frame_with_its_subtitle(qtbot, window, sample):
    session = opened(qtbot, window, *sample)
    still = window.player.still
    pictures = []
    for position in (1, 3):
        line = session.project.lines[position]
        at = line.target_start_ms if line.target_start_ms is not None else line.start_ms
        with qtbot.waitSignal(still.frameShown, check_params_cb=lambda ms, at=at: ms == at, timeout=10_000):
            window.select_position(position)
        assert still.wanted() == (str(session.video), at) and still.subtitle() == line.text
        picture = still.grab().toImage()
        assert window.player.showing_still() and picture.width() > 100
        pictures.append(np.array([[picture.pixelColor(x, y).getRgb()[:3] for x in range(0, picture.width(), 8)]
                                  for y in range(0, picture.height(), 8)], dtype=float))
        assert pictures[-1].mean() > 40  # the test pattern, not black
    assert np.abs(pictures[0] - pictures[1]).mean() > 5  # another moment of the video replaced it
    assert session.project.lines[1].target_start_ms is not None  # the sample's speech onset was used
