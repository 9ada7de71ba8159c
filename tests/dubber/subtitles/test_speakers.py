"""The --speakers mapping file and how cues get their speakers."""

from __future__ import annotations

from pathlib import Path

import pytest

from dubber.errors import UsageError
from dubber.subtitles.cue import Cue
from dubber.subtitles.load import load_subtitles
from dubber.subtitles.speakers import UNNAMED, SpeakerMap, assign_speakers, load_speakers, speaker_names

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "speakers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_mapping_file(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "aiko.wav").write_bytes(b"RIFF")
    path = _write(tmp_path, '[speakers.Aiko]\nvoice = "jf_alpha"\nengine = "kokoro"\nreference = "clips/aiko.wav"\n'
                            'reference_text = " What Aiko says. "\nreference_lang = "ja"\n\n'
                            '[speakers.Kenji]\nvoice = "auto"\n\n[cues]\n"3" = "Kenji"\n"5-6" = " Aiko "\n')
    mapping = load_speakers(path)
    aiko = mapping.settings("Aiko")
    assert (aiko.voice, aiko.engine, aiko.reference_text, aiko.reference_lang) == ("jf_alpha", "kokoro",
                                                                                   "What Aiko says.", "ja")
    assert aiko.reference == tmp_path / "clips" / "aiko.wav"
    assert mapping.settings("Kenji").voice == "auto" and mapping.settings("Nobody").voice is None
    assert mapping.cues == {3: "Kenji", 5: "Aiko", 6: "Aiko"}


def test_speakers_come_from_the_file_then_the_mapping():
    cues = load_subtitles(SAMPLES / "demo.en.ass").cues
    assert speaker_names(assign_speakers(cues, None)) == ["Aiko", "Kenji"]
    moved = assign_speakers(cues, SpeakerMap(cues={2: "Narrator"}))
    assert [c.speaker for c in moved] == ["Aiko", "Narrator", "Aiko", "Kenji", "Aiko", "Kenji"]
    assert moved[0] is cues[0]  # untouched cues are the same objects


def test_cues_without_a_speaker_share_the_unnamed_one():
    cues = [Cue(1, 0, 1000, "a"), Cue(2, 1000, 2000, "b", speaker="Ann")]
    assigned = assign_speakers(cues, None)
    assert [c.speaker for c in assigned] == [UNNAMED, "Ann"] and speaker_names(assigned) == [UNNAMED, "Ann"]


@pytest.mark.parametrize("text,where,needle", [
    ('[speakers.Aiko]\nvoise = "jf_alpha"\n', 2, "unknown setting 'voise'"),
    ('[speaker.Aiko]\nvoice = "x"\n', 1, "unknown table 'speaker'"),
    ('[speakers.Aiko]\nvoice = 3\n', 2, "must be a string"),
    ('[speakers.Aiko]\nreference = "missing.wav"\n', 2, "no such audio file"),
    ('[cues]\n"x" = "Aiko"\n', 2, "not a cue number"),
    ('[cues]\n"9-3" = "Aiko"\n', 2, "runs backwards"),
    ('[speakers.Aiko\nvoice = "x"\n', 1, "bad TOML"),
])
def test_mistakes_name_the_file_and_line(tmp_path, text, where, needle):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError, match=needle) as err:
        load_speakers(path)
    assert str(err.value).startswith(f"{path}:{where}:")


def test_a_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such speakers file"):
        load_speakers(tmp_path / "nope.toml")
