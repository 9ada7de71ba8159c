"""Every error type has a title in plain words."""

from __future__ import annotations

from dubber.errors import OutputClash, UsageError
from dubber.ui.messages import describe


def test_a_file_in_the_way_has_its_own_title_and_names_the_file():
    title, text = describe(OutputClash("/films/a.srt already exists", path="/films/a.srt"))
    assert title == "A file is in the way" and "/films/a.srt" in text
    assert describe(UsageError("no"))[0] == "That cannot be done"
