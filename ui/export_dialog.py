"""The export dialog: which files to write (video, stem, dubbed subtitles, report) and how to mix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from dubber.loudness import BROADCAST_LUFS, WEB_LUFS
from dubber.mixing import MIX_MODES

LOUDNESS_CHOICES = [("As mixed (not normalised)", None), (f"Web, {WEB_LUFS:g} LUFS", WEB_LUFS),
                    (f"Broadcast, EBU R128 {BROADCAST_LUFS:g} LUFS", BROADCAST_LUFS)]


@dataclass
class ExportChoice:
    """What the editor asked to export; None for a file not wanted."""

    video: Path | None
    stem: Path | None
    subtitles: Path | None
    report: Path | None
    mix: str
    duck_db: float
    loudness: float | None = None  # LUFS target for the dub track; None: as mixed


def default_paths(video: Path) -> dict[str, Path]:
    """Where each export goes by default: beside the video, named after it."""
    stem = video.with_suffix("")
    return {"video": stem.with_name(stem.name + ".dubbed" + (video.suffix or ".mp4")),
            "stem": stem.with_name(stem.name + ".dub.wav"),
            "subtitles": stem.with_name(stem.name + ".dubbed.srt"),
            "report": stem.with_name(stem.name + ".dubbed.report.json")}


class ExportDialog(QDialog):
    """Pick the files to write; `choice()` reads the result."""

    FILTERS = {"video": "Video (*.mp4 *.mkv *.mov)", "stem": "WAV audio (*.wav)", "subtitles": "SubRip (*.srt)",
               "report": "JSON (*.json)"}
    LABELS = {"video": "Dubbed video", "stem": "Dub stem (speech only)", "subtitles": "Dubbed subtitles",
              "report": "Report"}

    def __init__(self, video: Path, mix: str = "duck", duck_db: float = 15.0, loudness: float | None = None,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.checks: dict[str, QCheckBox] = {}
        self.paths: dict[str, QLineEdit] = {}
        form = QFormLayout(self)
        for key, path in default_paths(video).items():
            check = QCheckBox(self.LABELS[key])
            check.setChecked(key in ("video", "subtitles"))
            edit = QLineEdit(str(path))
            browse = QPushButton("…")
            browse.setFixedWidth(32)
            browse.clicked.connect(lambda _=False, k=key: self._browse(k))
            row = QWidget()
            box = QHBoxLayout(row)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(edit)
            box.addWidget(browse)
            form.addRow(check, row)
            self.checks[key], self.paths[key] = check, edit
        self.mix = QComboBox()
        self.mix.addItems(MIX_MODES)
        self.mix.setCurrentText(mix)
        self.mix.setToolTip("duck: the original stays under the dub, lowered while a line speaks; "
                            "replace: the dub alone")
        form.addRow("Mix", self.mix)
        self.duck = QDoubleSpinBox()
        self.duck.setRange(0.0, 60.0)
        self.duck.setSuffix(" dB")
        self.duck.setValue(duck_db)
        form.addRow("Duck the original by", self.duck)
        self.mix.currentTextChanged.connect(lambda mode: self.duck.setEnabled(mode == "duck"))
        self.duck.setEnabled(mix == "duck")
        self.loudness = QComboBox()
        for label, value in LOUDNESS_CHOICES:
            self.loudness.addItem(label, value)
        values = [value for _, value in LOUDNESS_CHOICES]
        self.loudness.setCurrentIndex(values.index(loudness) if loudness in values else 0)
        self.loudness.setToolTip("integrated loudness of the dub track, true peak at most -1 dBTP")
        form.addRow("Loudness", self.loudness)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self, key: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.LABELS[key], self.paths[key].text(), self.FILTERS[key])
        if path:
            self.paths[key].setText(path)
            self.checks[key].setChecked(True)

    def choice(self) -> ExportChoice:
        def wanted(key: str) -> Path | None:
            text = self.paths[key].text().strip()
            return Path(text) if self.checks[key].isChecked() and text else None

        return ExportChoice(wanted("video"), wanted("stem"), wanted("subtitles"), wanted("report"),
                            self.mix.currentText(), self.duck.value(), self.loudness.currentData())
