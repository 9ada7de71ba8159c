"""The export dialog: which files to write (video, stem, subtitles, report, hand-off files) and how to mix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from dubber.audio.loudness import BROADCAST_LUFS, WEB_LUFS
from dubber.errors import OutputClash
from dubber.handoff.export import EXPORT_KINDS, planned_files
from dubber.handoff.outputs import check_outputs, existing, report_path_for, sidecar, stem_path_for
from dubber.mix.mixing import MIX_MODES, Ducking

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
    ducking: Ducking = field(default_factory=Ducking)
    loudness: float | None = None  # LUFS target for the dub track; None: as mixed
    exports: tuple[str, ...] = ()  # hand-off files written beside the video (dubber.handoff.export.EXPORT_KINDS)
    overwrite: bool = False  # the editor agreed to replace the files that exist


def default_paths(video: Path) -> dict[str, Path]:
    """Where each export goes by default: the dubbed video beside the video, the rest named after it."""
    stem = video.with_suffix("")
    out = stem.with_name(stem.name + ".dubbed" + (video.suffix or ".mp4"))
    return {"video": out, "stem": stem_path_for(out), "subtitles": sidecar(out, ".srt"),
            "report": report_path_for(out)}


class ExportDialog(QDialog):
    """Pick the files to write; `choice()` reads the result."""

    FILTERS = {"video": "Video (*.mp4 *.mkv *.mov)", "stem": "WAV audio (*.wav)", "subtitles": "SubRip (*.srt)",
               "report": "JSON (*.json)"}
    LABELS = {"video": "Dubbed video", "stem": "Dub stem (speech only)", "subtitles": "Dubbed subtitles",
              "report": "Report"}
    HANDOFF = {"otio": "OpenTimelineIO", "fcpxml": "Final Cut Pro XML", "edl": "CMX 3600 EDL",
               "srt": "SRT", "ass": "ASS", "vtt": "WebVTT", "stems": "Stems and one WAV per line"}

    def __init__(self, video: Path, mix: str = "duck", ducking: Ducking | None = None,
                 loudness: float | None = None, exports: tuple[str, ...] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.video, self.overwrite = Path(video), False
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
        ducking = ducking or Ducking()
        self.duck = QDoubleSpinBox()
        self.duck.setRange(0.0, 60.0)
        self.duck.setSuffix(" dB")
        self.duck.setValue(ducking.depth_db)
        form.addRow("Duck the original by", self.duck)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(-96.0, 0.0)
        self.threshold.setSuffix(" dBFS")
        self.threshold.setSpecialValueText("whole takes")  # at -96: duck under each whole take
        self.threshold.setValue(-96.0 if ducking.threshold_db is None else ducking.threshold_db)
        self.threshold.setToolTip("duck where the dub is louder than this")
        form.addRow("Under speech above", self.threshold)
        self.attack, self.release = QSpinBox(), QSpinBox()
        for box, value in ((self.attack, ducking.attack_ms), (self.release, ducking.release_ms)):
            box.setRange(0, 10_000)
            box.setSuffix(" ms")
            box.setValue(value)
        form.addRow("Attack (falls before speech)", self.attack)
        form.addRow("Release (returns after)", self.release)
        duck_rows = (self.duck, self.threshold, self.attack, self.release)
        self.mix.currentTextChanged.connect(lambda mode: [w.setEnabled(mode == "duck") for w in duck_rows])
        for widget in duck_rows:
            widget.setEnabled(mix == "duck")
        self.loudness = QComboBox()
        for label, value in LOUDNESS_CHOICES:
            self.loudness.addItem(label, value)
        values = [value for _, value in LOUDNESS_CHOICES]
        self.loudness.setCurrentIndex(values.index(loudness) if loudness in values else 0)
        self.loudness.setToolTip("integrated loudness of the dub track, true peak at most -1 dBTP")
        form.addRow("Loudness", self.loudness)
        self.handoff: dict[str, QCheckBox] = {}
        kinds = QWidget()
        box = QHBoxLayout(kinds)
        box.setContentsMargins(0, 0, 0, 0)
        for kind in EXPORT_KINDS:
            check = QCheckBox(self.HANDOFF[kind])
            check.setChecked(kind in exports)
            check.setToolTip("written beside the dubbed video, named after it")
            box.addWidget(check)
            self.handoff[kind] = check
        form.addRow("For the editor", kinds)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        """Close on Export, once the editor agrees to replace the files that already exist (if any)."""
        choice = self.choice()
        planned = planned_files(choice.video, choice.stem, choice.subtitles, choice.report,
                                choice.exports if choice.video else ())
        try:  # two files at one path, or the video itself: say so while the paths can still be changed
            check_outputs(planned, [self.video], overwrite=True)
        except OutputClash as exc:
            QMessageBox.warning(self, "A file is in the way", str(exc))
            return
        found = existing(planned)
        if found:
            names = "\n".join(str(path) for path in found)
            answer = QMessageBox.question(self, "Replace files?",
                                          f"These already exist and will be replaced:\n{names}",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                          QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.overwrite = bool(found)
        super().accept()

    def _browse(self, key: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.LABELS[key], self.paths[key].text(), self.FILTERS[key])
        if path:
            self.paths[key].setText(path)
            self.checks[key].setChecked(True)

    def choice(self) -> ExportChoice:
        def wanted(key: str) -> Path | None:
            text = self.paths[key].text().strip()
            return Path(text) if self.checks[key].isChecked() and text else None

        threshold = self.threshold.value()
        ducking = Ducking(self.duck.value(), None if threshold <= -96.0 else threshold, self.attack.value(),
                          self.release.value())
        exports = tuple(kind for kind, check in self.handoff.items() if check.isChecked())
        return ExportChoice(wanted("video"), wanted("stem"), wanted("subtitles"), wanted("report"),
                            self.mix.currentText(), ducking, self.loudness.currentData(), exports, self.overwrite)
