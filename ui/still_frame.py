"""The still picture: the video's frame at a moment, with a subtitle over it, fetched off the GUI thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from dubber.pipeline.preview import frame_at

FRAME_WIDTH = 640  # fetched this wide whatever the widget's size: one cache entry per moment, ~0.7 MB
CACHE_FRAMES = 32
_TEXT_FLAGS = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap

Key = tuple[str, int]  # (video path, ms)


def to_image(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of a [height, width, 3] uint8 RGB array (safe off the GUI thread)."""
    height, width = rgb.shape[:2]
    return QImage(rgb.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class StillFrame(QWidget):
    """Shows the frame of `video` at `at_ms`, scaled to fit with its aspect kept, and a subtitle over it.

    One fetch runs at a time on a thread of its own; a request made meanwhile waits in its place, so only
    the latest is fetched next and a result for an older one is cached but not shown. Until the new frame
    arrives the previous one stays (no flash of black); a frame that cannot be had shows black, the reason
    in the tooltip.
    """

    frameShown = Signal(int)  # the ms of the frame now on screen
    _fetched = Signal(object, object)  # key, QImage or the exception (from the fetching thread)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._text = ""
        self._wanted: Key | None = None
        self._running: Key | None = None
        self._next: Key | None = None
        self._cache: OrderedDict[Key, QImage] = OrderedDict()
        self._fetched.connect(self._on_fetched)
        self.setMinimumSize(160, 90)

    def image(self) -> QImage | None:
        """The frame on screen (unscaled), or None."""
        return self._image

    def subtitle(self) -> str:
        """The text drawn over the picture."""
        return self._text

    def wanted(self) -> Key | None:
        """The (video, ms) last asked for."""
        return self._wanted

    def show_frame(self, video: Path | None, at_ms: int, text: str) -> None:
        """Show `video` at `at_ms` with `text` over it; no video: black, and no text."""
        self._text = text if video is not None else ""
        if video is None:
            self._wanted, self._image = None, None
            self.setToolTip("")
            self.update()
            return
        key = (str(video), max(0, int(at_ms)))
        self._wanted = key
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self._show(cached, key[1])
        elif self._running is None:
            self._start(key)
        elif self._running != key:
            self._next = key
        self.update()  # the new text at once, over the previous frame until this one comes

    def _start(self, key: Key) -> None:
        self._running = key

        def fetch() -> None:
            try:
                result: object = to_image(frame_at(Path(key[0]), key[1], FRAME_WIDTH))
            except Exception as exc:  # said in the tooltip; a still must never stop the panel
                result = exc
            try:
                self._fetched.emit(key, result)
            except RuntimeError:  # the widget was deleted meanwhile
                pass

        threading.Thread(target=fetch, name="still-frame", daemon=True).start()

    @Slot(object, object)
    def _on_fetched(self, key: Key, result: object) -> None:
        self._running = None
        if isinstance(result, QImage):
            self._cache[key] = result
            while len(self._cache) > CACHE_FRAMES:
                self._cache.popitem(last=False)
        if key == self._wanted:
            if isinstance(result, QImage):
                self._show(result, key[1])
            else:
                self._image = None
                self.setToolTip(str(getattr(result, "message", result)))
                self.update()
        following, self._next = self._next, None
        if following is not None and following == self._wanted and following not in self._cache:
            self._start(following)

    def _show(self, image: QImage, at_ms: int) -> None:
        self._image = image
        self.setToolTip("")
        self.update()
        self.frameShown.emit(at_ms)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        area = self.rect()
        if self._image is not None and not self._image.isNull():
            area = QRect(QPoint(0, 0), self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio))
            area.moveCenter(self.rect().center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(area, self._image)
        if self._text:
            self._draw_subtitle(painter, area)
        painter.end()

    def _draw_subtitle(self, painter: QPainter, area: QRect) -> None:
        """White text, bottom-centred on a dark band: readable over any picture."""
        font = painter.font()
        font.setPixelSize(max(11, area.height() // 14))
        painter.setFont(font)
        margin = max(4, area.height() // 24)
        room = area.adjusted(area.width() // 20, margin, -area.width() // 20, -margin)
        bounds = painter.boundingRect(room, _TEXT_FLAGS, self._text)
        pad = font.pixelSize() // 3
        painter.fillRect(bounds.adjusted(-pad, -pad // 2, pad, pad // 2), QColor(0, 0, 0, 170))
        painter.setPen(Qt.GlobalColor.white)
        painter.drawText(room, _TEXT_FLAGS, self._text)
