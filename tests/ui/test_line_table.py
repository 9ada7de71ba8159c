"""The line table in a window 1024 px wide: every column inside the view, the words elided to fit."""

from __future__ import annotations

from dubber.ui.line_model import COL_ERROR, COL_STATUS, COL_TAKES, COL_TEXT, COLUMNS
from tests.ui.test_main_window import opened, sample, window  # noqa: F401 (fixtures)


def column_ends(table) -> dict[str, int]:
    header = table.horizontalHeader()
    return {COLUMNS[c]: header.sectionViewportPosition(c) + header.sectionSize(c)
            for c in range(len(COLUMNS)) if not table.isColumnHidden(c)}


def test_at_1024_px_every_column_ends_inside_the_view(qtbot, window, sample):  # noqa: F811
    session = opened(qtbot, window, *sample)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() == 1024)
    table = window.table
    for speakers in (False, True):
        if speakers:  # the speaker column too, with a long name
            for line in session.project.lines:
                line.speaker = "The harbour master of the old town"
            table.show_lines(session.project.lines)
        ends = column_ends(table)
        assert {COLUMNS[c] for c in (COL_ERROR, COL_STATUS, COL_TAKES)} <= set(ends)
        assert all(end <= table.viewport().width() for end in ends.values()), (table.viewport().width(), ends)
        assert not table.horizontalScrollBar().isVisible()
        # The text keeps room to tell lines apart, beside a speaker column too (the voice gives way).
        assert table.horizontalHeader().sectionSize(COL_TEXT) >= table.text_min_px()
