"""`dubber verify`'s slots from the project beside the media: a line that chose to borrow the gap is judged by
the slot it was dubbed into."""

from __future__ import annotations

from dubber.fitting.slots import GUARD_MS, SYNC_CUE
from dubber.handoff.verify import slots_for
from dubber.project.store import LineEntry, Project, project_path_for, save_project


def test_a_line_that_borrows_the_gap_is_verified_against_its_wider_slot(tmp_path):
    media = tmp_path / "talk.dub.wav"
    lines = [LineEntry(1, 1000, 2000, "a long line", "A", borrow_gap=True), LineEntry(2, 3000, 4000, "next", "A"),
             LineEntry(3, 5000, 5500, "last", "A")]
    save_project(Project("talk.mp4", "talk.srt", "en", lines=lines, sync=SYNC_CUE), project_path_for(media))
    slots, sync = slots_for(media, [])
    assert sync == SYNC_CUE
    assert slots[1].end_ms == 3000 - GUARD_MS  # borrowed up to the next line
    assert slots[2].end_ms == 4000  # its neighbour did not choose to
