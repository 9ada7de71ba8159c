"""Timing by keyboard, pressed as an editor presses it: next and previous line, nudges, start and end set to
the playhead (each undone by Ctrl+Z), and the shortcuts dialog built from the window's own actions."""

from __future__ import annotations


import pytest
from dubber.ui.shortcuts_dialog import OTHER_KEYS, plain, shortcut_rows
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from tests.ui.opened import close, open_once, window_over_copy
from tests.ui.shortcut_check import ambiguous
from tests.ui.test_main_window import SlowToneEngine, idle

ALT, SHIFT, CTRL = (Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ShiftModifier,
                    Qt.KeyboardModifier.ControlModifier)


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    return open_once(tmp_path_factory.mktemp("opened"))


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch):
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, SlowToneEngine(), position=1)
    yield win
    close(win)


def timing(win, position=1):
    line = win.session.project.lines[position]
    return line.start_ms, line.end_ms


def undo(qtbot, win):
    qtbot.keyClick(win.table, Qt.Key.Key_Z, CTRL)


@pytest.mark.parametrize("where", ["table", "text box"])
def test_next_and_previous_line_by_alt_arrows(qtbot, window, where):
    target = window.table if where == "table" else window.editor.text_edit
    target.setFocus()
    text = window.editor.text_edit.toPlainText()
    qtbot.keyClick(target, Qt.Key.Key_Down, ALT)
    assert window.current_position() == 2
    qtbot.keyClick(target, Qt.Key.Key_Up, ALT)
    qtbot.keyClick(target, Qt.Key.Key_Up, ALT)
    assert window.current_position() == 0
    qtbot.keyClick(target, Qt.Key.Key_Up, ALT)  # the first line stays selected
    assert window.current_position() == 0
    if where == "text box":  # the keys moved the selection, they typed nothing
        assert window.editor.text_edit.toPlainText() == window.session.project.lines[0].text != text


def test_up_and_down_in_the_timeline_move_between_lines(qtbot, window):
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_Down)
    assert window.current_position() == 2
    qtbot.keyClick(window.strip, Qt.Key.Key_Up)
    qtbot.keyClick(window.strip, Qt.Key.Key_Up)
    assert window.current_position() == 0


@pytest.mark.parametrize(("key", "modifiers", "delta"), [
    (Qt.Key.Key_Left, ALT, -10), (Qt.Key.Key_Right, ALT, 10),
    (Qt.Key.Key_Left, ALT | SHIFT, -100), (Qt.Key.Key_Right, ALT | SHIFT, 100)])
def test_a_nudge_key_moves_the_line_and_ctrl_z_undoes_it(qtbot, window, key, modifiers, delta):
    before = timing(window)
    qtbot.keyClick(window.table, key, modifiers)
    assert timing(window) == (before[0] + delta, before[1] + delta)
    assert window.undo.count() == 1
    assert window.message.text() == f"Nudge line {window.current_line().index} by {delta:+d} ms: done."
    undo(qtbot, window)
    assert timing(window) == before


def test_set_start_and_end_to_the_playhead_by_key(qtbot, window):
    start, end = timing(window)
    window.strip.set_playhead(start - 200)  # as the player sets it while it plays
    qtbot.keyClick(window.table, Qt.Key.Key_3, CTRL)
    idle(qtbot, window)  # a new length renders a new take, as a typed start does
    assert timing(window) == (start - 200, end)
    assert window.undo.count() == 1
    window.strip.set_playhead(end + 300)
    qtbot.keyClick(window.table, Qt.Key.Key_4, CTRL)
    idle(qtbot, window)
    assert timing(window) == (start - 200, end + 300)
    assert window.undo.count() == 2
    undo(qtbot, window)
    assert timing(window) == (start - 200, end)
    undo(qtbot, window)
    assert timing(window) == (start, end)


def test_selecting_a_line_gives_the_keys_a_playhead_where_its_speech_starts(qtbot, window):
    line = window.current_line()
    at = line.target_start_ms if line.target_start_ms is not None else line.start_ms
    assert window.strip.playhead() == at
    qtbot.keyClick(window.table, Qt.Key.Key_3, CTRL)  # the start to where the actor starts
    if line.start_ms != at:
        assert window.current_line().start_ms == at and window.undo.count() == 1
    else:
        assert "already starts at the playhead" in window.message.text(), window.message.text()


def test_without_a_playhead_the_keys_say_so_and_do_nothing(qtbot, window):
    window.strip.set_playhead(None)  # as before anything is selected or played
    before = timing(window)
    for key in (Qt.Key.Key_3, Qt.Key.Key_4):
        window.message.show_status("")
        qtbot.keyClick(window.table, key, CTRL)
        assert window.message.text().startswith("No playhead yet"), window.message.text()
        assert not window.jobs.busy and window.undo.count() == 0 and timing(window) == before


def test_a_playhead_past_the_end_is_refused_in_words(qtbot, window):
    start, end = timing(window)
    window.strip.set_playhead(end + 50)
    qtbot.keyClick(window.table, Qt.Key.Key_3, CTRL)
    assert "set its end first" in window.message.text(), window.message.text()
    assert not window.jobs.busy and window.undo.count() == 0 and timing(window) == (start, end)


def test_the_shortcuts_dialog_lists_every_action_with_a_key(qtbot, window):
    qtbot.keyClick(window.table, Qt.Key.Key_F1)
    dialog = window.shortcuts_dialog
    assert dialog.isVisible()
    listed = dialog.listed()
    native = QKeySequence.SequenceFormat.NativeText
    keyed = [a for a in window.findChildren(QAction) if a.shortcuts()]
    assert sorted((text, keys) for _, text, keys in listed) == sorted(
        (plain(a.text()), ", ".join(k.toString(native) for k in a.shortcuts())) for a in keyed)
    groups = {group: [text for g, text, _ in listed if g == group] for group, _, _ in listed}
    assert "Nudge the line 100 ms later" in groups["Timing"]
    assert "Keyboard shortcuts" in groups["Help"] and "Undo" in groups["Edit"]
    assert groups[OTHER_KEYS] == ["Previous line", "Next line"]  # Up and Down in the table and strip
    assert list(groups)[:6] == ["File", "Edit", "Dub", "View", "Timing", "Help"]
    assert listed == shortcut_rows(window)
    dialog.close()
    qtbot.keyClick(window.table, Qt.Key.Key_Slash, CTRL)
    assert dialog.isVisible()


def test_no_key_is_given_twice_with_the_timing_keys(window):
    assert ambiguous(window) == {}
    keys = {k.toString(QKeySequence.SequenceFormat.PortableText) for a in window.findChildren(QAction)
            for k in a.shortcuts()}
    assert {"Alt+Up", "Alt+Down", "Alt+Left", "Alt+Right", "Alt+Shift+Left", "Alt+Shift+Right", "Ctrl+3", "Ctrl+4",
            "F1", "Ctrl+/"} <= keys
