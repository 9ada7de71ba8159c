"""The export dialog reads back what the editor chose: files, mix, ducker, loudness, hand-off files."""

from __future__ import annotations

from pathlib import Path

from dubber.mixing import Ducking
from dubber.ui.export_dialog import ExportDialog, default_paths


def test_the_dialog_starts_from_the_session_settings(qtbot, tmp_path: Path) -> None:
    video = tmp_path / "film.mp4"
    dialog = ExportDialog(video, "duck", Ducking(9.0, -40.0, 30, 400), -23.0, ("otio", "stems"))
    qtbot.addWidget(dialog)
    choice = dialog.choice()
    assert choice.video == default_paths(video)["video"] and choice.stem is None
    assert choice.ducking == Ducking(9.0, -40.0, 30, 400)
    assert choice.loudness == -23.0 and choice.exports == ("otio", "stems")


def test_the_editor_changes_the_ducker_and_the_hand_off(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path / "film.mp4")
    qtbot.addWidget(dialog)
    dialog.duck.setValue(20.0)
    dialog.threshold.setValue(-96.0)  # shown as "whole takes": no threshold
    dialog.attack.setValue(0)
    dialog.release.setValue(800)
    dialog.handoff["fcpxml"].setChecked(True)
    dialog.handoff["srt"].setChecked(True)
    choice = dialog.choice()
    assert choice.ducking == Ducking(20.0, None, 0, 800)
    assert choice.exports == ("fcpxml", "srt")
    assert dialog.threshold.text() == "whole takes"


def test_the_ducker_is_greyed_out_for_replace(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path / "film.mp4", "duck")
    qtbot.addWidget(dialog)
    dialog.mix.setCurrentText("replace")
    assert not any(w.isEnabled() for w in (dialog.duck, dialog.threshold, dialog.attack, dialog.release))
    dialog.mix.setCurrentText("duck")
    assert all(w.isEnabled() for w in (dialog.duck, dialog.threshold, dialog.attack, dialog.release))
