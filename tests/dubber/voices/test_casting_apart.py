"""Speakers cast with one voice are named in a warning: listeners cannot tell them apart."""

from __future__ import annotations

from dubber.project.store import SpeakerEntry
from dubber.subtitles.speakers import UNNAMED
from dubber.voices.casting import cast_warnings


def test_speakers_sharing_a_voice_are_named_once_per_voice():
    speakers = {
        "Aiko": SpeakerEntry("Aiko", "kokoro", "jf_alpha"),
        "Kenji": SpeakerEntry("Kenji", "kokoro", "jf_alpha"),
        "Mio": SpeakerEntry("Mio", "kokoro", "jf_alpha"),
        "Ren": SpeakerEntry("Ren", "kokoro", "jf_alpha", pitch_semitones=-3.0),  # shifted: another voice
        "Sora": SpeakerEntry("Sora", "piper", "jf_alpha"),  # another engine
        UNNAMED: SpeakerEntry(UNNAMED, "kokoro", "jf_alpha"),  # lines nobody is named for
        "Clone A": SpeakerEntry("Clone A", "indextts2", ""),  # a cloning engine speaks each one's reference
        "Clone B": SpeakerEntry("Clone B", "indextts2", ""),
    }
    notes = cast_warnings(speakers, "film.en.srt", "en")
    assert [(n.path, n.line, n.severity, n.code) for n in notes] == [("film.en.srt", None, "warning", "shared-voice")]
    assert "Aiko, Kenji and Mio" in notes[0].message and "kokoro's voice jf_alpha" in notes[0].message
    assert cast_warnings({"Aiko": speakers["Aiko"], "Ren": speakers["Ren"]}, "x", "en") == []
