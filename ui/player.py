"""The preview player: the still frame of the selected line, or one preview clip playing (see
dubber.pipeline.preview), over a small transport row."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from dubber.ui.still_frame import StillFrame

_STATES = {
    QMediaPlayer.PlaybackState.PlayingState: "playing",
    QMediaPlayer.PlaybackState.PausedState: "paused",
    QMediaPlayer.PlaybackState.StoppedState: "stopped",
}


def format_ms(ms: int) -> str:
    """Spell a time as m:ss.mmm (minutes run past 59 rather than growing an hours field)."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    minutes, rest = divmod(ms, 60_000)
    return f"{sign}{minutes}:{rest // 1000:02d}.{rest % 1000:03d}"


class PreviewPlayer(QWidget):
    """A video area with Play/Pause and a position readout; positions are reported within the played file,
    and `absolute_ms` maps them to the source video's time. Once playback stops the area shows
    the still frame set by `show_still`."""

    positionChanged = Signal(int)  # ms within the played file
    stateChanged = Signal(str)  # "playing" | "paused" | "stopped"
    failed = Signal(str)  # plain-words error message

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.offset_ms = 0  # the source video's time of the played file's first sample
        self._path: Path | None = None
        self._original = False  # A/B: hear the clip's second track (the original) instead of the dub

        self._video = QVideoWidget(self)
        self.still = StillFrame(self)
        self._screen = QStackedWidget(self)
        self._screen.addWidget(self.still)
        self._screen.addWidget(self._video)
        self._audio = QAudioOutput(self)
        self._player = QMediaPlayer(self)
        self._player.setVideoOutput(self._video)

        self._button = QPushButton("Play", self)
        self._button.setEnabled(False)
        self._button.clicked.connect(self.toggle)
        self._time = QLabel(format_ms(0), self)
        self._time.setToolTip("Position in the source video")

        transport = QHBoxLayout()
        transport.addWidget(self._button)
        transport.addWidget(self._time)
        transport.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._screen, 1)
        layout.addLayout(transport)

        self._player.positionChanged.connect(self._on_position)
        self._player.playbackStateChanged.connect(self._on_state)
        self._player.errorOccurred.connect(self._on_error)
        self._player.tracksChanged.connect(self._pick_track)

    @property
    def media_player(self) -> QMediaPlayer:
        """The underlying QMediaPlayer (for its media status and duration)."""
        return self._player

    def play_file(self, path: Path, offset_ms: int = 0) -> None:
        """Load `path` and play it from its start; `offset_ms` is the source time of its first sample."""
        self._path = Path(path)
        self.offset_ms = int(offset_ms)
        # Qt ignores setSource with the URL it already has, but a preview is often rewritten under
        # the same name: clearing first makes it reload the new file.
        self._player.stop()
        self._player.setSource(QUrl())
        self._on_position(0)
        if not self._path.is_file():
            self._button.setEnabled(False)
            self.failed.emit(f"Cannot play the preview {str(self._path)!r}: the file does not exist.")
            return
        self._button.setEnabled(True)
        self._connect_sound()
        self._player.setSource(QUrl.fromLocalFile(str(self._path.resolve())))
        self._screen.setCurrentWidget(self._video)
        self._player.play()

    def show_still(self, video: Path | None, at_ms: int, text: str) -> None:
        """Show `video`'s frame at `at_ms` with `text` over it whenever nothing plays (None: black)."""
        self.still.show_frame(video, at_ms, text)

    def showing_still(self) -> bool:
        return self._screen.currentWidget() is self.still

    @staticmethod
    def has_sound() -> bool:
        """Whether Qt reports a sound device to play through (asked again each time: one may be plugged in)."""
        return bool(QMediaDevices.audioOutputs())

    def _connect_sound(self) -> None:
        """Play through the sound device once there is one. Without, the picture plays silent: Qt's audio
        thread would only warn, and a warning from that thread can deadlock a stop() made at that moment
        (the handler waits for the interpreter the stopping thread holds)."""
        has_device = self.has_sound()
        if has_device != (self._player.audioOutput() is not None):
            self._player.setAudioOutput(self._audio if has_device else None)

    def set_heard(self, original: bool) -> None:
        """A/B: hear the original (a preview's second audio track) or the dub, switching without a gap."""
        self._original = bool(original)
        self._pick_track()

    def hears_original(self) -> bool:
        """Whether the original is asked for (heard once the playing clip has its track)."""
        return self._original

    def active_track(self) -> int:
        """The audio track playing: 0 the dub, 1 the original (-1: none loaded)."""
        return self._player.activeAudioTrack() if self._player.audioTracks() else -1

    def _pick_track(self) -> None:
        if len(self._player.audioTracks()) > 1:
            self._player.setActiveAudioTrack(1 if self._original else 0)

    def covers(self, ms: int) -> bool:
        """Whether the loaded clip (playing or paused) holds the source time `ms`."""
        if self._player.source().isEmpty() or self._player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
            return False
        return self.offset_ms <= ms < self.offset_ms + self._player.duration()

    def seek(self, ms: int) -> None:
        """Move the loaded clip to the source time `ms` (see `covers`)."""
        self._player.setPosition(max(0, int(ms) - self.offset_ms))

    def is_paused(self) -> bool:
        return self._player.playbackState() == QMediaPlayer.PlaybackState.PausedState

    def absolute_ms(self, position_ms: int) -> int:
        """Map a position within the played file to the source video's time."""
        return self.offset_ms + int(position_ms)

    def toggle(self) -> None:
        """Pause while playing; otherwise play (from the start again once the clip has ended)."""
        if self._player.source().isEmpty():
            return
        if self.is_playing():
            self._player.pause()
        else:
            self._player.play()

    def stop(self) -> None:
        self._player.stop()

    def is_playing(self) -> bool:
        return self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    @Slot("qint64")
    def _on_position(self, position_ms: int) -> None:
        self._time.setText(format_ms(self.absolute_ms(position_ms)))
        self.positionChanged.emit(int(position_ms))

    @Slot(QMediaPlayer.PlaybackState)
    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        self._button.setText("Pause" if state == QMediaPlayer.PlaybackState.PlayingState else "Play")
        if state == QMediaPlayer.PlaybackState.StoppedState:
            self._screen.setCurrentWidget(self.still)
        self.stateChanged.emit(_STATES.get(state, "stopped"))

    @Slot(QMediaPlayer.Error, str)
    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        self._screen.setCurrentWidget(self.still)
        reason = message.strip().rstrip(".") or "the player could not read it"
        self.failed.emit(f"Cannot play the preview {str(self._path)!r}: {reason}.")
