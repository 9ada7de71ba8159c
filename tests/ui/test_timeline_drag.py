"""The timeline strip under a real mouse: dragging edges and bodies, snapping, cancelling, seeking, panning."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from dubber.ui.timeline_snap import MIN_LENGTH_MS, PLAYHEAD, SPEECH  # noqa: E402
from dubber.ui.timeline_strip import StripCue, TimelineStrip  # noqa: E402

LEFT, RIGHT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton
NONE, SHIFT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier

CUES = [
    StripCue(1, 1000, 2500, "Hello there", "ok", target=(1050, 2300), speaker="Ann"),
    StripCue(2, 3000, 4500, "Who is it?", "off", target=(3300, 4700), speaker="Bob"),
    StripCue(3, 6000, 7000, "Me", "pending", target=(5800, 6900), speaker="Ann"),
]


def shown_strip(qtbot, cues: list[StripCue]) -> TimelineStrip:
    """A strip 1000 px wide showing `cues` over 0-10 s: 10 ms per pixel."""
    widget = TimelineStrip()
    qtbot.addWidget(widget)
    widget.resize(1000, 230)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_cues(cues)
    widget.set_window(0, 10_000)
    return widget


@pytest.fixture
def strip(qtbot) -> TimelineStrip:
    return shown_strip(qtbot, CUES)


class Recorder:
    """Every emission of the strip's signals, in order."""

    def __init__(self, strip: TimelineStrip) -> None:
        self.moved: list[tuple[int, int, int]] = []
        self.dragging: list[tuple[int, int, int]] = []
        self.seeks: list[int] = []
        self.clicked: list[int] = []
        strip.blockMoved.connect(lambda *a: self.moved.append(a))
        strip.blockDragging.connect(lambda *a: self.dragging.append(a))
        strip.seekRequested.connect(self.seeks.append)
        strip.lineClicked.connect(self.clicked.append)


def at(strip: TimelineStrip, ms: int, cue: StripCue) -> QPoint:
    """The point at time ms on the height of cue's block."""
    return QPoint(round(strip.x_at(ms)), round(strip.block_rect(cue).center().y()))


def drag(strip: TimelineStrip, start: QPoint, end: QPoint, modifier=NONE, release: bool = True,
         via: QPoint | None = None) -> None:
    """Press at start, move to end in steps (by way of via), release (with modifier) at end."""
    QTest.mousePress(strip, LEFT, NONE, start)
    for point in ([via] if via is not None else []) + [start + (end - start) * step / 4 for step in range(1, 5)]:
        QTest.mouseMove(strip, point)
    if release:
        QTest.mouseRelease(strip, LEFT, modifier, end)


def test_dragging_the_right_edge_moves_the_end_only(strip):
    signals = Recorder(strip)
    first = CUES[0]
    drag(strip, at(strip, 2500, first), at(strip, 2760, first))
    assert signals.moved == [(1, 1000, 2760)]
    assert signals.dragging and all(d[:2] == (1, 1000) for d in signals.dragging)
    assert signals.dragging[-1] == (1, 1000, 2760)
    assert signals.clicked == [1] and signals.seeks == []  # pressing a block selects it and seeks nowhere
    assert strip.drag_preview() is None


def test_dragging_the_body_moves_both_edges_by_the_same_amount(strip):
    signals = Recorder(strip)
    first = CUES[0]
    drag(strip, at(strip, 1700, first), at(strip, 1900, first))
    assert signals.moved == [(1, 1200, 2700)]
    assert signals.clicked == [1]


def test_a_press_without_moving_moves_nothing(strip):
    signals = Recorder(strip)
    point = at(strip, 1700, CUES[0])
    QTest.mousePress(strip, LEFT, NONE, point)
    QTest.mouseMove(strip, point + QPoint(2, 0))  # under the drag threshold
    QTest.mouseRelease(strip, LEFT, NONE, point + QPoint(2, 0))
    assert signals.moved == [] and signals.dragging == [] and signals.clicked == [1]


def test_an_edge_released_near_another_lines_speech_edge_snaps_onto_it(strip):
    signals = Recorder(strip)
    first = CUES[0]
    drag(strip, at(strip, 2500, first), at(strip, 3300, first) + QPoint(5, 0))  # 50 ms past Bob's speech onset
    assert signals.moved == [(1, 1000, 3300)]
    preview_hits = []
    strip.blockDragging.connect(lambda *a: preview_hits.append(strip.drag_preview()))
    drag(strip, at(strip, 2500, first), at(strip, 3300, first) + QPoint(5, 0), release=False)
    assert preview_hits[-1][1:3] == (1000, 3300) and preview_hits[-1][3].kind == SPEECH
    QTest.mouseRelease(strip, LEFT, NONE, at(strip, 3300, first) + QPoint(5, 0))


def test_an_edge_snaps_onto_its_own_speech_edge_and_shift_lands_unsnapped(strip):
    signals = Recorder(strip)
    first = CUES[0]
    away = at(strip, 1500, first)  # out and back: 4 px short of its own speech onset
    drag(strip, at(strip, 1000, first), at(strip, 1050, first) - QPoint(4, 0), via=away)
    assert signals.moved == [(1, 1050, 2500)]
    drag(strip, at(strip, 1000, first), at(strip, 1050, first) - QPoint(4, 0), via=away, modifier=SHIFT)
    assert signals.moved[-1] == (1, 1010, 2500)


def test_a_body_snaps_by_its_nearest_edge(strip):
    signals = Recorder(strip)
    first = CUES[0]
    # moved 770 ms right its end would be at 3270, 30 ms short of Bob's speech onset: the block follows
    drag(strip, at(strip, 1700, first), at(strip, 2470, first))
    assert signals.moved == [(1, 1800, 3300)]


def test_an_edge_snaps_to_the_playhead_and_to_frames(strip):
    signals = Recorder(strip)
    first = CUES[0]
    strip.set_playhead(5000)
    drag(strip, at(strip, 2500, first), at(strip, 5060, first))
    assert signals.moved == [(1, 1000, 5000)]
    strip.set_playhead(None)
    drag(strip, at(strip, 2500, first), at(strip, 2830, first))
    assert signals.moved[-1] == (1, 1000, 2830)  # nothing near: where released
    strip.set_frame_rate(25.0)
    drag(strip, at(strip, 2500, first), at(strip, 2830, first))
    assert signals.moved[-1] == (1, 1000, 2840)  # the nearest 40 ms frame boundary
    drag(strip, at(strip, 2500, first), at(strip, 3270, first))
    assert signals.moved[-1] == (1, 1000, 3300)  # a frame (3280) is nearer, but speech comes first


def test_the_snap_guide_names_what_it_snapped_to(strip):
    first = CUES[0]
    strip.set_playhead(5000)
    drag(strip, at(strip, 2500, first), at(strip, 5030, first), release=False)
    index, start, end, hit = strip.drag_preview()
    assert (index, start, end, hit.kind, hit.ms) == (1, 1000, 5000, PLAYHEAD, 5000)
    strip.cancel_drag()


def test_escape_or_a_right_click_cancels_a_drag(strip):
    signals = Recorder(strip)
    first = CUES[0]
    drag(strip, at(strip, 2500, first), at(strip, 3000, first), release=False)
    assert strip.drag_preview() is not None
    QTest.keyClick(strip, Qt.Key.Key_Escape)
    assert strip.drag_preview() is None
    QTest.mouseRelease(strip, LEFT, NONE, at(strip, 3000, first))
    drag(strip, at(strip, 1700, first), at(strip, 2000, first), release=False)
    QTest.mouseClick(strip, RIGHT, NONE, at(strip, 2000, first))
    QTest.mouseRelease(strip, LEFT, NONE, at(strip, 2000, first))
    assert signals.moved == [] and signals.dragging and strip.drag_preview() is None


def test_edges_never_cross(strip):
    signals = Recorder(strip)
    first = CUES[0]
    drag(strip, at(strip, 2500, first), at(strip, 200, first))
    assert signals.moved == [(1, 1000, 1000 + MIN_LENGTH_MS)]
    drag(strip, at(strip, 1000, first), at(strip, 4000, first))
    assert signals.moved[-1] == (1, 2500 - MIN_LENGTH_MS, 2500)


def test_the_edges_show_a_resize_cursor(strip):
    first = CUES[0]
    QTest.mouseMove(strip, at(strip, 2500, first) + QPoint(3, 0))
    assert strip.cursor().shape() == Qt.CursorShape.SizeHorCursor
    QTest.mouseMove(strip, at(strip, 1700, first))
    assert strip.cursor().shape() == Qt.CursorShape.ArrowCursor


def test_clicking_the_ruler_seeks_and_dragging_it_scrubs(strip, qtbot):
    signals = Recorder(strip)
    QTest.mouseClick(strip, LEFT, NONE, QPoint(420, 8))
    assert signals.seeks == [4200] and strip.playhead() == 4200
    drag(strip, QPoint(100, 8), QPoint(300, 8))
    assert signals.seeks[1:] == [1000, 1500, 2000, 2500, 3000]  # the press and each move; the release adds none
    assert strip.hasFocus()


def test_clicking_the_original_lane_or_empty_lane_space_seeks_and_a_block_does_not(strip):
    signals = Recorder(strip)
    QTest.mouseClick(strip, LEFT, NONE, QPoint(550, strip.original_lane().center().y()))
    QTest.mouseClick(strip, LEFT, NONE, at(strip, 8000, CUES[0]))  # Ann's lane, no block there
    assert signals.seeks == [5500, 8000]
    QTest.mouseClick(strip, LEFT, NONE, at(strip, 3500, CUES[1]))
    assert signals.seeks == [5500, 8000] and signals.clicked == [2]


def test_each_speakers_cue_is_found_in_its_own_lane(strip):
    assert strip.speakers() == ("Ann", "Bob")
    ann, bob = strip.speaker_lane("Ann"), strip.speaker_lane("Bob")
    assert strip.original_lane().bottom() < ann.top() and ann.bottom() < bob.top()
    x = strip.x_at(3500)
    assert strip.cue_at(QPointF(x, bob.center().y())) == CUES[1]
    assert strip.cue_at(QPointF(x, ann.center().y())) is None
    assert strip.cue_at(QPointF(strip.x_at(6500), ann.center().y())) == CUES[2]
    assert strip.cue_at(QPointF(strip.x_at(6500), bob.center().y())) is None


def test_the_middle_button_pans(strip):
    strip.set_duration(60_000)
    QTest.mousePress(strip, MIDDLE, NONE, QPoint(500, 120))
    QTest.mouseMove(strip, QPoint(400, 120))
    QTest.mouseRelease(strip, MIDDLE, NONE, QPoint(400, 120))
    assert strip.window() == (1000, 11_000)


def test_selecting_the_block_being_pressed_keeps_the_view(strip):
    """The window selects a line when its block is pressed; the view must not jump under the pointer."""
    strip.lineClicked.connect(strip.set_selected)
    first = CUES[0]
    drag(strip, at(strip, 1700, first), at(strip, 1900, first), release=False)
    assert strip.window() == (0, 10_000) and strip.selected() == 1
    QTest.mouseRelease(strip, LEFT, NONE, at(strip, 1900, first))


def test_a_shift_drag_sent_as_qmouseevents_lands_unsnapped(strip):
    signals = Recorder(strip)
    first = CUES[0]
    types = QMouseEvent.Type
    press, move, release = types.MouseButtonPress, types.MouseMove, types.MouseButtonRelease
    no_button = Qt.MouseButton.NoButton
    for kind, ms, button, held in ((press, 2500, LEFT, LEFT), (move, 3000, no_button, LEFT),
                                   (move, 3320, no_button, LEFT), (release, 3320, LEFT, no_button)):
        pos = QPointF(at(strip, ms, first))
        QApplication.sendEvent(strip, QMouseEvent(kind, pos, strip.mapToGlobal(pos), button, held, SHIFT))
    assert signals.dragging[-1] == (1, 1000, 3320) and signals.moved == [(1, 1000, 3320)]


def test_escape_cancels_a_drag_before_the_windows_escape_shortcut_and_only_then(qtbot):
    """The window's Esc (cancel the job) must not swallow the strip's Esc while a block is dragged."""
    window = QWidget()
    qtbot.addWidget(window)
    strip = TimelineStrip(window)
    strip.resize(1000, 230)
    fired: list[bool] = []
    cancel = QAction("Cancel", window)
    cancel.setShortcut(QKeySequence("Esc"))
    cancel.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    cancel.triggered.connect(lambda: fired.append(True))
    window.addAction(cancel)
    window.resize(1000, 230)
    window.show()
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)  # shortcuts fire in the active window only
    strip.set_cues(CUES)
    strip.set_window(0, 10_000)
    signals = Recorder(strip)
    first = CUES[0]
    drag(strip, at(strip, 2500, first), at(strip, 3000, first), release=False)
    QTest.keyClick(strip, Qt.Key.Key_Escape)
    QTest.mouseRelease(strip, LEFT, NONE, at(strip, 3000, first))
    assert signals.moved == [] and fired == []
    QTest.keyClick(strip, Qt.Key.Key_Escape)  # no drag: the window's shortcut
    assert fired == [True]
