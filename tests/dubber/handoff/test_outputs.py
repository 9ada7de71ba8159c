"""The rule for every file a run writes: never over an input, never twice, never over a file unless asked."""

from __future__ import annotations

import os

import pytest

from dubber.errors import OutputClash, UsageError
from dubber.handoff.export import export_paths, export_plan, stems_folder
from dubber.handoff.outputs import Planned, check_outputs, existing, report_path_for, sidecar, stem_path_for
from dubber.project.store import project_path_for


def test_sidecars_are_named_after_the_output_like_the_project_and_the_exports(tmp_path):
    out = tmp_path / "film.dub.mp4"
    assert report_path_for(out) == tmp_path / "film.dub.report.json"
    assert stem_path_for(out) == tmp_path / "film.dub.dub.wav"
    assert sidecar(out, ".dubber.json") == project_path_for(out)
    assert sidecar(out, ".srt") == export_paths(out, ("srt",))["srt"] and sidecar(out, ".stems") == stems_folder(out)


def test_an_input_is_never_written_over_even_when_overwriting(tmp_path):
    srt = tmp_path / "clip.srt"
    srt.write_text("keep", encoding="utf-8")
    planned = [Planned(tmp_path / "clip.mkv", "the dubbed video"), *export_plan(tmp_path / "clip.mkv", ("srt",))]
    for overwrite in (False, True):
        with pytest.raises(OutputClash) as refused:
            check_outputs(planned, [tmp_path / "clip.mp4", srt], overwrite=overwrite)
        assert refused.value.path == str(srt) and str(srt) in str(refused.value)
        assert isinstance(refused.value, UsageError)


@pytest.mark.parametrize("spelling", ["link", "dots", "hard link"])
def test_an_input_is_found_however_its_path_is_spelt(tmp_path, spelling):
    (tmp_path / "sub").mkdir()
    clip = tmp_path / "voice.wav"
    clip.write_bytes(b"RIFF")
    if spelling == "link":
        target = tmp_path / "sub" / "alias.wav"
        target.symlink_to(clip)
    elif spelling == "dots":
        target = tmp_path / "sub" / ".." / "voice.wav"
    else:
        target = tmp_path / "sub" / "same.wav"
        os.link(clip, target)
    with pytest.raises(OutputClash, match="input"):
        check_outputs([Planned(target, "the WAV")], [clip], overwrite=True)


def test_an_input_inside_a_stems_folder_is_refused(tmp_path):
    out = tmp_path / "film.dub.mp4"
    clip = stems_folder(out) / "speakers" / "Anna.wav"  # a stem of an earlier run, given as a reference clip
    with pytest.raises(OutputClash, match="Anna.wav"):
        check_outputs(export_plan(out, ("stems",)), [clip], overwrite=True)
    # the timelines write line WAVs there too, even without the stems
    assert [p.path for p in export_plan(out, ("otio",))][-1] == stems_folder(out) / "lines"
    with pytest.raises(OutputClash):
        check_outputs(export_plan(out, ("otio",)), [stems_folder(out) / "lines" / "0001.wav"], overwrite=True)


def test_an_edl_per_track_never_lands_on_an_input(tmp_path):
    out = tmp_path / "film[1].mp4"  # a name with glob characters: matched as written
    with pytest.raises(OutputClash):
        check_outputs(export_plan(out, ("edl",)), [tmp_path / "film[1].Anna.edl"], overwrite=True)
    check_outputs(export_plan(out, ("edl",)), [tmp_path / "film1.Anna.edl"], overwrite=True)


def test_two_outputs_of_one_run_at_one_path_clash(tmp_path):
    out = tmp_path / "film.mp4"
    with pytest.raises(OutputClash, match="both"):
        check_outputs([Planned(out, "the dubbed video"), Planned(tmp_path / "film.srt", "the dubbed subtitles"),
                       *export_plan(out, ("srt",))], [])
    with pytest.raises(OutputClash, match="both"):  # a stem inside the stems folder
        check_outputs([*export_plan(out, ("stems",)), Planned(stems_folder(out) / "dialogue.wav", "the stem")], [],
                      overwrite=True)


def test_an_existing_file_is_replaced_only_when_asked(tmp_path):
    report = tmp_path / "film.report.json"
    report.write_text("{}", encoding="utf-8")
    stems = stems_folder(tmp_path / "film.mp4")
    stems.mkdir()
    planned = [Planned(tmp_path / "film.mp4", "the dubbed video"), Planned(report, "the report"),
               *export_plan(tmp_path / "film.mp4", ("stems",))]
    with pytest.raises(OutputClash) as refused:
        check_outputs(planned, [])
    assert refused.value.path == str(report) and refused.value.existing == [str(report), str(stems)]
    assert str(report) in str(refused.value) and str(stems) in str(refused.value)
    check_outputs(planned, [], overwrite=True)
    assert existing(planned) == [report, stems]


def test_the_project_is_resumed_not_a_clash(tmp_path):
    project = project_path_for(tmp_path / "film.mp4")
    project.write_text("{}", encoding="utf-8")
    check_outputs([Planned(tmp_path / "film.mp4", "the dubbed video"), Planned(project, "the project", resumed=True)],
                  [tmp_path / "film.src.mp4"])
    with pytest.raises(OutputClash):  # but never written over an input
        check_outputs([Planned(project, "the project", resumed=True)], [project], overwrite=True)


def test_a_folder_where_a_file_goes_is_refused(tmp_path):
    (tmp_path / "film.report.json").mkdir()
    with pytest.raises(OutputClash, match="folder"):
        check_outputs([Planned(tmp_path / "film.report.json", "the report")], [], overwrite=True)
