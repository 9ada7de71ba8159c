"""Which speakers share a voice: one engine and voice; a cloning engine only with one clip."""

from __future__ import annotations

from dubber.project.store import SpeakerEntry
from dubber.voices.sharing import SharedVoice, shared_voices


def test_the_samples_two_speakers_on_the_default_voice_share_it() -> None:
    speakers = [SpeakerEntry("Aiko", "piper", "en_US-joe-medium"), SpeakerEntry("Kenji", "piper", "en_US-joe-medium")]
    assert shared_voices(speakers) == [SharedVoice("piper", "en_US-joe-medium", ("Aiko", "Kenji"))]


def test_another_voice_or_engine_is_not_shared() -> None:
    speakers = [SpeakerEntry("Aiko", "kokoro", "jf_alpha"), SpeakerEntry("Kenji", "kokoro", "jm_kumo"),
                SpeakerEntry("Hiro", "piper", "jf_alpha"), SpeakerEntry("Mei", "kokoro", "jf_alpha*0.6+jm_kumo*0.4")]
    assert shared_voices(speakers) == []


def test_every_group_in_the_order_first_met() -> None:
    speakers = [SpeakerEntry("A", "kokoro", "jm_kumo"), SpeakerEntry("B", "kokoro", "jf_alpha"),
                SpeakerEntry("C", "kokoro", "jf_alpha"), SpeakerEntry("D", "kokoro", "jm_kumo"),
                SpeakerEntry("E", "piper", "en_US-joe-medium")]
    assert shared_voices(speakers) == [SharedVoice("kokoro", "jm_kumo", ("A", "D")),
                                       SharedVoice("kokoro", "jf_alpha", ("B", "C"))]


def test_a_cloning_engine_shares_a_voice_only_with_one_clip() -> None:
    speakers = [SpeakerEntry("A", "cosyvoice", "reference", reference="refs/a.wav"),
                SpeakerEntry("B", "cosyvoice", "reference", reference="refs/b.wav"),
                SpeakerEntry("C", "cosyvoice", "reference", reference="refs/a.wav")]
    assert shared_voices(speakers, cloning={"cosyvoice"}) == [
        SharedVoice("cosyvoice", "reference", ("A", "C"), "refs/a.wav")]
    # Not known to clone: the clip does not tell them apart (a stock voice ignores it).
    assert shared_voices(speakers) == [SharedVoice("cosyvoice", "reference", ("A", "B", "C"))]
