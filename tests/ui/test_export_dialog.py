"""The export dialog reads back what the editor chose: files, mix, ducker, loudness, hand-off files."""

from __future__ import annotations

from pathlib import Path

from dubber.mix.mixing import Ducking
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


def test_default_paths_name_the_sidecars_after_the_dubbed_video(tmp_path: Path) -> None:
    paths = default_paths(tmp_path / "film.mp4")
    assert paths == {"video": tmp_path / "film.dubbed.mp4", "stem": tmp_path / "film.dubbed.dub.wav",
                     "subtitles": tmp_path / "film.dubbed.srt", "report": tmp_path / "film.dubbed.report.json"}


def _answer(monkeypatch, button):
    """Stand in for the question box: record what it asked, answer `button`."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def question(parent, title, text, *args):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_export_asks_before_replacing_files_and_names_them(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QDialog, QMessageBox

    video = tmp_path / "film.mp4"
    paths = default_paths(video)
    paths["video"].write_bytes(b"an earlier export")
    paths["subtitles"].write_text("1\n", encoding="utf-8")
    dialog = ExportDialog(video)
    qtbot.addWidget(dialog)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and len(asked) == 1
    assert str(paths["video"]) in asked[0] and str(paths["subtitles"]) in asked[0]
    assert not dialog.choice().overwrite

    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.choice().overwrite


def test_export_of_new_files_asks_nothing_and_two_files_at_one_path_are_refused(qtbot, tmp_path: Path,
                                                                                  monkeypatch) -> None:
    from PySide6.QtWidgets import QDialog, QMessageBox

    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *args: warned.append(text))
    dialog = ExportDialog(tmp_path / "film.mp4")
    qtbot.addWidget(dialog)
    dialog.handoff["srt"].setChecked(True)  # film.dubbed.srt, as the dubbed subtitles are by default
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and "film.dubbed.srt" in warned[0] and not asked
    dialog.handoff["srt"].setChecked(False)
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and not asked and not dialog.choice().overwrite
