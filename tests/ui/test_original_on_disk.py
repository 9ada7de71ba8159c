"""The panel over a session whose original audio is a DiskAudio (a feature film's sound stays on disk): the
original lane, its spectrogram, the A/B track and a speaker's clip cut from the original are what they are with
the same samples in an array, and none of them loads the track whole."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from dubber.audio.source import DiskAudio, decode_to_disk
from dubber.pipeline.session import Session
from dubber.ui.line_preview import original_part
from dubber.ui.peaks import Peaks
from dubber.voices.casting import OriginalAudio
from dubber.voices.references import find_references, write_reference
from tests.ui.opened import close, open_once, window_over_copy
from tests.ui.test_cast_panel import engine  # noqa: F401 (a fixture)
from tests.ui.test_main_window import idle

WAIT_MS = 120_000


class CountedDiskAudio(DiskAudio):
    """A DiskAudio that counts the times it is loaded whole."""

    whole = 0

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        type(self).whole += 1
        return super().__array__(dtype, copy)


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    return open_once(tmp_path_factory.mktemp("disk"), "demo.en.ass")


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch, engine):  # noqa: F811
    """The two-speaker sample dubbed by the tone engine, its original decoded to a file beside the project (as
    the session keeps a long video's sound)."""

    def on_disk(session: Session) -> CountedDiskAudio:
        decoded = decode_to_disk(session.video, session.rate, session.path.parent)
        return CountedDiskAudio(decoded.path, decoded.channels, decoded.sample_rate)

    replaced = cached_property(on_disk)
    replaced.__set_name__(Session, "original")
    monkeypatch.setattr(Session, "original", replaced)
    monkeypatch.setattr(CountedDiskAudio, "whole", 0)
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, engine)
    win.takes.dub_pending()
    idle(qtbot, win)
    yield win
    close(win)


def in_memory(session: Session) -> np.ndarray:
    """The same samples as an array."""
    disk = session.original
    assert isinstance(disk, CountedDiskAudio)
    return np.fromfile(disk.path, "<f4").reshape(-1, disk.channels)


def picture(win) -> np.ndarray:
    image = win.strip.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).copy()


@pytest.mark.parametrize("spectrogram", [False, True])
def test_the_original_lane_from_disk_is_drawn_as_from_an_array(qtbot, window, spectrogram):
    strip, session = window.strip, window.session
    qtbot.waitUntil(lambda: strip.original() is not None, timeout=WAIT_MS)
    from_disk = strip.original()
    assert from_disk.samples is session.original  # the pyramid holds the file, not its samples
    array = in_memory(session)
    assert array.shape[0] > 48_000 * 5
    strip.set_spectrogram(spectrogram)
    pictures = []
    for peaks in (from_disk, Peaks(array, session.rate)):
        strip.set_original_peaks(peaks)
        for window_ms in ((0, session.duration_ms), (2_000, 2_300), (4_000, 4_040)):  # whole, zoomed, past a sample
            strip.set_window(*window_ms)
            pictures.append(picture(window))
    assert not np.array_equal(pictures[0], pictures[1])  # the views differ: the comparison below can fail
    for disk_picture, array_picture in zip(pictures[:3], pictures[3:]):
        assert np.array_equal(disk_picture, array_picture)
    assert CountedDiskAudio.whole == 0


def test_the_a_b_track_is_read_by_range(window):
    session = window.session
    array = in_memory(session)
    audio = np.zeros((48_000 * 3, 2), np.float32)
    for start_ms in (0, 1_500, session.duration_ms - 1_000):  # the last runs past the original's end
        part = original_part(session, audio, start_ms)
        a = start_ms * session.rate // 1000
        expected = np.zeros((audio.shape[0], array.shape[1]), np.float32)
        expected[: array[a:a + audio.shape[0]].shape[0]] = array[a:a + audio.shape[0]]
        np.testing.assert_array_equal(part, expected)
    assert CountedDiskAudio.whole == 0


def test_a_clip_cut_from_the_original_on_disk_is_the_one_cut_from_the_array(qtbot, window, tmp_path):
    session, cast = window.session, window.cast
    window.show_cast()
    cast.select("Kenji")
    qtbot.mouseClick(cast.auto_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    kenji = session.project.speakers["Kenji"]
    assert kenji.matched and kenji.reference_source == "extracted", window.message.last_message
    assert CountedDiskAudio.whole == 0
    array = in_memory(session)
    audio = OriginalAudio(array, session.rate, [session.cue(x) for x in session.project.lines])
    (best,) = find_references(array, session.rate, audio.cues, "Kenji", keep=1, speech=audio.speech)
    expected = write_reference(best, array, session.rate, tmp_path / "array")
    clip = session.path.parent / kenji.reference
    assert clip.name == expected.audio_path.name and clip.read_bytes() == expected.audio_path.read_bytes()
