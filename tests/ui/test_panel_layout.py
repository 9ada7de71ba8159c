"""The panel's layout at 1024×640 and at 1920×1080, on the two-speaker sample dubbed, line 3 selected:
the table's text stays readable, every control of the line editor can be reached, nothing is clipped."""

from __future__ import annotations


import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QScrollArea, QStyle, QWidget

from dubber.ui.line_model import COL_SPEAKER, COL_TEXT, COL_VOICE
from tests.ui.opened import close, open_once, window_over_copy
from tests.ui.test_line_table import column_ends
from tests.ui.test_main_window import SlowToneEngine, idle


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    """The two-speaker sample, opened once."""
    return open_once(tmp_path_factory.mktemp("two_speakers"), "demo.en.ass")


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch):
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, SlowToneEngine())
    win.takes.dub_pending()
    idle(qtbot, win)
    win.select_position(2)
    yield win
    close(win)


def sized(qtbot, win, width, height):
    win.resize(width, height)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == (width, height), timeout=5_000)
    qtbot.wait(50)  # the table fits its columns on the resize


def editor_controls(win) -> list[QWidget]:
    """Every enabled button and field of the line editor."""
    editor = win.editor
    return [w for w in (*editor.findChildren(QAbstractButton), *editor.fields) if w.isEnabled()]


def shown_in_window(win, widget) -> bool:
    """Whether the widget lies whole inside the window and inside every ancestor's visible area."""
    rect = QRect(widget.mapTo(win, QPoint(0, 0)), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not win:
        if not QRect(parent.mapTo(win, QPoint(0, 0)), parent.size()).contains(rect):
            return False
        parent = parent.parentWidget()
    return win.rect().contains(rect)


def text_fits(widget) -> bool:
    """A button shows its whole label (a narrow one cuts it off at both ends, with no ellipsis)."""
    if not isinstance(widget, QAbstractButton):
        return True
    style = widget.style()
    padding = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_ButtonMargin, None, widget)
                   + style.pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, widget))
    return widget.width() >= widget.fontMetrics().horizontalAdvance(widget.text()) + padding


def scroll_area_of(widget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    return parent


def test_at_1024_by_640_the_text_keeps_its_minimum_and_every_column_shows(qtbot, window):
    sized(qtbot, window, 1024, 640)
    table = window.table
    assert not table.isColumnHidden(COL_SPEAKER)
    assert table.horizontalHeader().sectionSize(COL_TEXT) >= table.text_min_px()
    ends = column_ends(table)
    assert all(end <= table.viewport().width() for end in ends.values()), (table.viewport().width(), ends)
    assert not table.horizontalScrollBar().isVisible()
    # Where the voice gave way to the text, its words stay in the row's tooltip.
    if table.isColumnHidden(COL_VOICE):
        assert "Voice: " in window.model.index(2, COL_TEXT).data(Qt.ItemDataRole.ToolTipRole)


def test_at_1024_by_640_every_control_of_the_editor_can_be_reached(qtbot, window):
    sized(qtbot, window, 1024, 640)
    controls = editor_controls(window)
    assert len(controls) >= 15  # the play, re-roll, text, voice, timing, nudge and take controls
    for widget in controls:
        area = scroll_area_of(widget)
        if area is not None:  # scroll to the whole widget (ensureWidgetVisible shows a text box's cursor only)
            at = widget.mapTo(area.widget(), QPoint(0, 0))
            half_w, half_h = widget.width() // 2, widget.height() // 2
            area.ensureVisible(at.x() + half_w, at.y() + half_h, half_w + 1, half_h + 1)
        assert shown_in_window(window, widget), widget.metaObject().className()
        assert text_fits(widget), widget.text()


def test_at_1920_by_1080_nothing_is_clipped(qtbot, window):
    sized(qtbot, window, 1920, 1080)
    table = window.table
    ends = column_ends(table)
    assert not table.isColumnHidden(COL_VOICE)
    assert all(end <= table.viewport().width() for end in ends.values())
    assert table.horizontalHeader().sectionSize(COL_TEXT) >= table.text_min_px()
    for widget in editor_controls(window):  # all of them at once, with no scrolling
        assert shown_in_window(window, widget), widget.metaObject().className()
        assert text_fits(widget), widget.text()
    area = scroll_area_of(window.editor)
    assert area is None or area.verticalScrollBar().maximum() == 0


def test_many_speakers_lanes_scroll_rather_than_being_cut_off(qtbot, tmp_path):
    from dubber.project.store import LineEntry
    from dubber.ui.timeline_style import LANE_MIN
    from tests.ui.opened import project_session, shown_window

    lines = [LineEntry(k + 1, 500 + k * 700, 1100 + k * 700, f"Line {k + 1}.", f"Speaker {k + 1}") for k in range(8)]
    win = shown_window(qtbot)
    sized(qtbot, win, 1024, 640)
    win.set_session(project_session(tmp_path, lines, "cue"))
    strip, area = win.strip, win.strip_scroll
    assert len(strip.speakers()) == 8
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0, timeout=5_000)  # taller than its room
    assert min(strip.speaker_lane(name).height() for name in strip.speakers()) >= LANE_MIN - 1
    assert strip.speaker_lane("Speaker 8").bottom() < strip.height()  # the last lane is there, scrolled to
    assert area.height() <= 640 * 2 // 5 + 5  # the table and the picture keep their room
    close(win)
