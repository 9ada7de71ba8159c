"""Request limits: long lines split at punctuation, spoken piece by piece, and joined with exact frames."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dubber.audio.samples import samples_to_ms
from dubber.audio.speech import speech_span
from dubber.config import EngineSettings
from dubber.errors import SynthesisError, UsageError
from dubber.fitting.fitter import STATUS_OK, FitPolicy, fit_line
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, Capabilities, Engine, Reference, SynthesisRequest, Take
from dubber.synthesis.guard import guard_engine
from dubber.synthesis.limits import LimitedEngine, join_durations, limit_engine, split_frames, split_text
from dubber.text.pronunciation import Phonetic, Pinyin, parse, plain

SR = 16000
STEP = 160  # 10 ms frames
LEAD, TRAIL = 5, 7  # the fake's silence before and after its speech, in frames
PAUSE_FRAMES = 15  # the 150 ms pause between pieces, in the fake's frames

ENGLISH = ("The storm had passed by morning, and the village woke to a strange quiet. Nobody spoke of the night "
           "before; they swept the streets, mended the fences, and waited for the boats to come home.")
CHINESE = "昨天晚上下了一场很大的雨，街上的积水到现在还没有退去。我们打算等天晴了再出门，顺便去超市买点东西，你觉得怎么样？"


class FrameEngine(Engine):
    """A deterministic engine: a tone per symbol (its characters), 4 frames each (2 for a space) at rate 1."""

    name = "frames"
    capabilities = Capabilities(languages=("en", "zh"), sample_rate=SR, voices=("v",), default_voice={"en": "v"},
                                duration_control=DURATION_NATIVE_FRAMES, duration_step_samples=STEP)

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []  # (method, text, target or frames)

    def natural_frames(self, text: str, rate: float = 1.0) -> np.ndarray:
        symbols = [max(1, round((2 if ch == " " else 4) / rate)) for ch in " ".join(text.split())]
        return np.array([LEAD, *symbols, TRAIL], dtype=np.int32)

    def synthesize(self, request):
        voice = self.check_request(request)
        text, target_ms, rate = request.text, request.target_ms, request.rate
        self.calls.append(("synthesize", text, target_ms))
        frames = self.natural_frames(text, rate)
        if target_ms is not None:  # the symbols re-timed to the target, to the nearest frame; silences kept
            want = (target_ms * SR + 500 * STEP) // (1000 * STEP)
            frames[1:-1] = _proportional(want, frames[1:-1])
        take = self._render(text, voice, frames, request.seed)
        take.rate = rate if target_ms is None else 1.0
        return take

    def synthesize_frames(self, request, frames):
        voice = self.check_request(request)
        text = request.text
        frames = self.check_frames(text, " ".join(text.split()), frames)
        self.calls.append(("frames", text, frames.copy()))
        return self._render(text, voice, frames, request.seed)

    def _render(self, text: str, voice: str, frames: np.ndarray, seed: int) -> Take:
        phonemes = " ".join(text.split())
        parts = [np.zeros(frames[0] * STEP, np.float32)]
        for ch, n in zip(phonemes, frames[1:-1]):
            t = np.arange(n * STEP) / SR
            parts.append((0.4 * np.sin(2 * np.pi * (200 + 7 * (ord(ch) % 40)) * t)).astype(np.float32))
        parts.append(np.zeros(frames[-1] * STEP, np.float32))
        return Take(np.concatenate(parts), SR, phonemes, durations=np.asarray(frames, np.int32), frame_samples=STEP,
                    engine=self.name, voice=voice, seed=seed)


class CloningFrameEngine(FrameEngine):
    """The same engine, cloning: it records the reference each call was given."""

    name = "cloning_frames"
    capabilities = Capabilities(languages=("en",), sample_rate=SR, voices=("v",), cloning="zero_shot",
                                duration_control=DURATION_NATIVE_FRAMES, duration_step_samples=STEP,
                                max_text_chars=60)

    def __init__(self) -> None:
        super().__init__()
        self.references: list[Reference | None] = []

    def synthesize(self, request):
        self.references.append(request.reference)
        return super().synthesize(replace(request, voice="v"))

    def synthesize_frames(self, request, frames):
        self.references.append(request.reference)
        return super().synthesize_frames(replace(request, voice="v"), frames)


def _proportional(total: int, weights: np.ndarray) -> np.ndarray:
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int32)
    out[np.argsort(out - exact)[:total - out.sum()]] += 1
    return np.maximum(out, 1)


@pytest.fixture
def fake() -> FrameEngine:
    return FrameEngine()


# -- split_text ------------------------------------------------------------------------------------


def test_english_splits_at_sentences_then_clauses() -> None:
    assert split_text(ENGLISH, 100) == [
        "The storm had passed by morning, and the village woke to a strange quiet.",
        "Nobody spoke of the night before; they swept the streets, mended the fences,",
        "and waited for the boats to come home.",
    ]
    assert split_text(ENGLISH, 40) == [
        "The storm had passed by morning,",
        "and the village woke to a strange quiet.",
        "Nobody spoke of the night before;",
        "they swept the streets,",
        "mended the fences,",
        "and waited for the boats to come home.",
    ]


def test_chinese_splits_without_spaces() -> None:
    assert split_text(CHINESE, 30) == ["昨天晚上下了一场很大的雨，街上的积水到现在还没有退去。",
                                       "我们打算等天晴了再出门，顺便去超市买点东西，你觉得怎么样？"]
    assert split_text(CHINESE, 20) == ["昨天晚上下了一场很大的雨，", "街上的积水到现在还没有退去。",
                                       "我们打算等天晴了再出门，", "顺便去超市买点东西，你觉得怎么样？"]
    # No punctuation at all: a hard cut at the limit.
    assert split_text("一二三四五六七八九十" * 2 + "一二三", 10) == ["一二三四五六七八九十"] * 2 + ["一二三"]


def test_closing_quotes_stay_with_their_sentence_and_numbers_are_not_cut() -> None:
    assert split_text('He said "stop." Then he left, quickly.', 20) == ['He said "stop."', "Then he left,", "quickly."]
    assert split_text("他说：“走吧。”然后就离开了，头也不回地走了。", 12) == ["他说：“走吧。”", "然后就离开了，",
                                                                "头也不回地走了。"]
    # 3.14 and 12:30 have no cut inside; the space after the sentence is where the cut goes.
    assert split_text("It is 3.14 at 12:30 today. We wait.", 30) == ["It is 3.14 at 12:30 today.", "We wait."]


def test_cuts_avoid_the_first_third_of_the_window() -> None:
    # A comma at 4 characters is too early in a 30-character window: the cut goes at the later space.
    assert split_text("Yes, the light over the harbour was fading fast", 30) == [
        "Yes, the light over the", "harbour was fading fast"]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 13, 21, 34, 55])
@pytest.mark.parametrize("text", [ENGLISH, CHINESE, "a  b\n c", "Hello there, 你好，世界。Good night!"])
def test_pieces_fit_and_join_back(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert all(piece == piece.strip() and piece for piece in pieces)
    # The pieces are the text in order, with only whitespace dropped between them.
    rest = text
    for piece in pieces:
        rest = rest.lstrip()
        assert rest.startswith(piece)
        rest = rest[len(piece):]
    assert rest.strip() == ""


def test_joining_the_pieces_gives_the_text_back() -> None:
    assert " ".join(split_text(ENGLISH, 40)) == ENGLISH
    assert "".join(split_text(CHINESE, 20)) == CHINESE
    mixed = "Hello there, 你好，世界。Good night, my friend!"
    assert split_text(mixed, 12) == ["Hello there,", "你好，世界。", "Good night,", "my friend!"]
    assert split_text(mixed, 16) == ["Hello there, 你好，", "世界。Good night,", "my friend!"]


MARKED = ("她的爱好[h][ào]是画画，我们都很喜欢她的画。银行[yin2][hang2]门口有很多人在排队，"
          "大家都说{tomato|təˈmɑːtoʊ}好吃。长[zhang3]大以后，他[laughs]成了老师。")


@pytest.mark.parametrize("limit", range(2, 40))
def test_markup_is_never_cut(limit: int) -> None:
    pieces = split_text(MARKED, limit)
    assert "".join(pieces) == MARKED  # Chinese drops no spaces: the pieces are the text
    written = [p.written for p in parse(MARKED) if isinstance(p, (Pinyin, Phonetic))]
    found = [p.written for piece in pieces for p in parse(piece) if isinstance(p, (Pinyin, Phonetic))]
    assert found == written  # every tag still follows its characters, every override is whole
    assert sum("[laughs]" in piece for piece in pieces) == 1
    for piece in pieces:  # counted without markup; only a unit longer than the limit may exceed it, alone
        if len(plain(piece)) > limit:
            assert piece in ("{tomato|təˈmɑːtoʊ}", "[laughs]")


def test_markup_counts_without_its_tags() -> None:
    # 11 characters without markup, 24 with: it fits in 11.
    text = "银行[yin2][hang2]门口有很多人在排队"
    assert len(plain(text)) == 11
    assert split_text(text, 11) == [text]
    assert split_text(text, 9) == ["银行[yin2][hang2]门口有很多人在", "排队"]
    # A tag that is not pinyin still stays with its character (and counts, as `plain` keeps it).
    assert split_text("好好[xyz3]好好好好", 3) == ["好", "好[xyz3]", "好好好", "好"]


def test_a_text_that_fits_comes_back_as_it_is() -> None:
    assert split_text("  Hello there.  ", 12) == ["  Hello there.  "]
    with pytest.raises(UsageError):
        split_text("Hello", 0)


# -- the engine ----------------------------------------------------------------------------------


def _piece_frames(fake: FrameEngine, pieces: list[str]) -> int:
    return sum(int(fake.natural_frames(piece).sum()) for piece in pieces)


def test_short_text_passes_through_untouched(fake: FrameEngine) -> None:
    take = Take(np.ones(10, np.float32), SR, "x")
    fake.synthesize = lambda *args, **kwargs: take  # type: ignore[method-assign]
    fake.synthesize_frames = lambda *args, **kwargs: take  # type: ignore[method-assign]
    limited = LimitedEngine(fake, 80)
    assert limited.synthesize(SynthesisRequest("Hello there.", "en")) is take
    assert limited.synthesize_frames(SynthesisRequest("Hello there.", "en"), np.ones(14, np.int32)) is take


def test_the_wrapper_keeps_the_engine_interface(fake: FrameEngine) -> None:
    limited = LimitedEngine(fake, 50)
    assert limited.name == "frames" and limited.takes_durations
    assert limited.capabilities.max_text_chars == 50 and fake.capabilities.max_text_chars == 0
    assert limited.capabilities.to_dict() == {**fake.capabilities.to_dict(), "max_text_chars": 50}
    assert limited.calls is fake.calls  # any other attribute is the engine's
    assert limited.unavailable_reason() is None
    assert LimitedEngine(limited, 30).inner is fake  # one limit, never nested


def test_long_text_is_joined_with_frames_in_the_take_layout(fake: FrameEngine) -> None:
    limited = LimitedEngine(fake, 100)
    pieces = split_text(ENGLISH, 100)
    take = limited.synthesize(SynthesisRequest(ENGLISH, "en"))
    assert [call[1] for call in fake.calls] == pieces
    assert take.phonemes == " ".join(pieces)
    assert len(take.durations) == len(take.phonemes) + 2 and take.frame_samples == STEP
    # Lengths counted from the fake's rule: 4 frames a character, 2 a space, 5 + 7 of silence, 15 per pause.
    assert int(take.durations.sum()) == _piece_frames(fake, pieces) + 2 * PAUSE_FRAMES
    assert take.n_samples == int(take.durations.sum()) * STEP
    first = len(pieces[0]) + 1  # the entry of the space joining the first two pieces
    assert take.durations[first] == TRAIL + PAUSE_FRAMES + LEAD
    assert take.durations[0] == LEAD and take.durations[-1] == TRAIL
    assert take.durations[1] == 4 and take.durations[4] == 2  # "T" and the space after "The"
    # The pause is silence; the pieces' audio is there unchanged.
    own = fake.synthesize(SynthesisRequest(pieces[0], "en")).samples
    np.testing.assert_array_equal(take.samples[:own.size], own)
    assert not np.any(take.samples[own.size:own.size + PAUSE_FRAMES * STEP])
    # At a faster rate every piece is faster and the pause shorter: 100 ms at ×1.5.
    fast = limited.synthesize(SynthesisRequest(ENGLISH, "en", rate=1.5))
    assert fast.durations[first] == TRAIL + 10 + LEAD
    assert int(fast.durations.sum()) == sum(int(fake.natural_frames(p, 1.5).sum()) for p in pieces) + 2 * 10


def test_chinese_line_is_split_and_joined(fake: FrameEngine) -> None:
    take = LimitedEngine(fake, 20).synthesize(SynthesisRequest(CHINESE, "zh"))
    assert take.phonemes == " ".join(split_text(CHINESE, 20))
    assert int(take.durations.sum()) == _piece_frames(fake, split_text(CHINESE, 20)) + 3 * PAUSE_FRAMES


def test_frames_round_trip(fake: FrameEngine) -> None:
    limited = LimitedEngine(fake, 60)
    natural = limited.synthesize(SynthesisRequest(ENGLISH, "en"))
    # The natural frames give back the natural take, sample for sample, split by the natural takes
    # just spoken (the ones the fitter measured), not by new ones.
    fake.calls.clear()
    again = limited.synthesize_frames(SynthesisRequest(ENGLISH, "en"), natural.durations)
    np.testing.assert_array_equal(again.samples, natural.samples)
    assert [call[0] for call in fake.calls] == ["frames"] * len(split_text(ENGLISH, 60))
    # Any other frames come back exactly: durations equal to the frames, length their sum.
    rng = np.random.default_rng(3)
    frames = natural.durations + rng.integers(-1, 3, natural.durations.size).astype(np.int32)
    take = limited.synthesize_frames(SynthesisRequest(ENGLISH, "en"), frames)
    np.testing.assert_array_equal(take.durations, frames)
    assert take.n_samples == int(frames.sum()) * STEP
    assert take.phonemes == natural.phonemes
    # A wrapper that has not spoken the line yet takes the pieces naturally first, to the same result.
    fresh = LimitedEngine(fake, 60).synthesize_frames(SynthesisRequest(ENGLISH, "en"), frames)
    np.testing.assert_array_equal(fresh.samples, take.samples)
    with pytest.raises(SynthesisError, match="whole frame counts"):
        limited.synthesize_frames(SynthesisRequest(ENGLISH, "en"), frames[:-1])


def test_a_short_join_gives_up_the_pause_then_the_lead(fake: FrameEngine) -> None:
    limited = LimitedEngine(fake, 60)
    natural = limited.synthesize(
        SynthesisRequest("One two three four five six. Seven eight nine ten, eleven twelve.", "en"))
    pieces = split_text("One two three four five six. Seven eight nine ten, eleven twelve.", 60)
    assert len(pieces) == 2
    join = len(pieces[0]) + 1
    for entry, trail, lead in ((TRAIL + LEAD + 4, TRAIL, LEAD), (TRAIL + 3, TRAIL, 3), (4, 3, 1), (1, 1, 0)):
        frames = natural.durations.copy()
        frames[join] = entry
        fake.calls.clear()
        take = limited.synthesize_frames(SynthesisRequest(pieces[0] + " " + pieces[1], "en"), frames)
        sent = [call[2] for call in fake.calls if call[0] == "frames"]
        assert (int(sent[0][-1]), int(sent[1][0])) == (trail, lead)
        np.testing.assert_array_equal(take.durations, frames)
        assert take.n_samples == int(frames.sum()) * STEP


def test_split_frames_undoes_join_durations() -> None:
    parts = [np.array([2, 4, 4, 3]), np.array([1, 5, 6]), np.array([3, 2, 2, 2, 9])]
    joined = join_durations(parts, 15)
    np.testing.assert_array_equal(joined, [2, 4, 4, 3 + 15 + 1, 5, 6 + 15 + 3, 2, 2, 2, 9])
    back, pauses = split_frames(joined, parts)
    assert [b.tolist() for b in back] == [p.tolist() for p in parts] and pauses == [15, 15]


@pytest.mark.parametrize("factor", [0.8, 1.0, 1.3])
def test_a_target_is_shared_among_the_pieces(fake: FrameEngine, factor: float) -> None:
    limited = LimitedEngine(fake, 60)
    natural = limited.synthesize(SynthesisRequest(ENGLISH, "en"))
    natural_speech = int(natural.durations[1:-1].sum()) * 10  # ms
    target = round(natural_speech * factor) + 3
    take = limited.synthesize(SynthesisRequest(ENGLISH, "en", target_ms=target))
    # Frames between the silences at the ends: the target to the nearest frame.
    assert int(take.durations[1:-1].sum()) == round(target / 10)
    span = speech_span(take.samples, SR)
    assert abs(samples_to_ms(span.length, SR) - target) <= 10
    # Each piece got its share of the target, in proportion to its natural speech.
    targets = [call[2] for call in fake.calls if call[0] == "synthesize" and call[2] is not None]
    assert len(targets) == len(split_text(ENGLISH, 60)) == 4
    weights = [int(fake.natural_frames(p)[1:-1].sum()) for p in split_text(ENGLISH, 60)]
    for got, weight in zip(targets, weights):
        assert abs(got - (target - 10 * (len(weights) - 1) * (TRAIL + PAUSE_FRAMES + LEAD))
                   * weight / sum(weights)) <= 10


class PlainEngine(FrameEngine):
    """The same engine without frame durations, as engines that only take a rate or a target."""

    name = "plain"

    def _render(self, text: str, voice: str, frames: np.ndarray, seed: int) -> Take:
        take = super()._render(text, voice, frames, seed)
        take.durations = take.frame_samples = None
        return take


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_without_frames_the_pause_is_150_ms_and_the_target_is_shared_by_measure(factor: float) -> None:
    plain_engine = PlainEngine()
    limited = LimitedEngine(plain_engine, 60)
    pieces = split_text(ENGLISH, 60)
    natural = limited.synthesize(SynthesisRequest(ENGLISH, "en"))
    assert natural.durations is None and natural.frame_samples is None
    assert natural.n_samples == _piece_frames(plain_engine, pieces) * STEP + (len(pieces) - 1) * 150 * SR // 1000
    target = round(samples_to_ms(speech_span(natural.samples, SR).length, SR) * factor)
    take = limited.synthesize(SynthesisRequest(ENGLISH, "en", target_ms=target))
    # Measured speech includes a few ms of each piece's edges that its target does not: within 10 ms a piece.
    assert abs(samples_to_ms(speech_span(take.samples, SR).length, SR) - target) <= 10 * len(pieces)
    with pytest.raises(SynthesisError, match="no common frame durations"):
        limited.synthesize_frames(SynthesisRequest(ENGLISH, "en"), np.ones(len(natural.phonemes) + 2, np.int32))


@pytest.mark.parametrize("factor", [0.85, 1.0, 1.25])
def test_fit_line_fits_a_split_line(fake: FrameEngine, factor: float) -> None:
    limited = limit_engine(guard_engine(fake), EngineSettings("frames", {"max_chars": 60}))
    natural = fit_line(limited, SynthesisRequest(ENGLISH, "en"), 10_000).natural_ms
    target = round(natural * factor)
    fit = fit_line(limited, SynthesisRequest(ENGLISH, "en"), target)
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 50, (fit.method, fit.attempts)
    assert len(fit.take.phonemes) + 2 == len(fit.take.durations)
    assert {call[1] for call in fake.calls} == set(split_text(ENGLISH, 60))


def test_reference_is_forwarded_to_every_piece() -> None:
    cloner = CloningFrameEngine()
    reference = Reference(audio_path="voice.wav", text="hello")
    limited = limit_engine(cloner)
    assert isinstance(limited, LimitedEngine) and limited.limit == 60  # the limit it declares
    fit = fit_line(limited, SynthesisRequest(ENGLISH, "en", reference=reference), 9000)
    assert fit.take is not None and len(cloner.references) > 3
    assert all(ref is reference for ref in cloner.references)


def test_limit_engine_reads_the_config_table(fake: FrameEngine) -> None:
    assert limit_engine(fake) is fake  # no limit anywhere
    assert limit_engine(fake, EngineSettings("frames")) is fake
    limited = limit_engine(fake, EngineSettings("frames", {"max_chars": 80}))
    assert isinstance(limited, LimitedEngine) and limited.limit == 80 and limited.inner is fake
    assert limit_engine(limited, EngineSettings("frames", {"max_chars": 80})) is limited
    relimited = limit_engine(limited, EngineSettings("frames", {"max_chars": 40}))
    assert relimited.inner is fake and relimited.capabilities.max_text_chars == 40
    # The table beats the declared limit.
    assert limit_engine(CloningFrameEngine(), EngineSettings("cloning_frames", {"max_chars": 90})).limit == 90
    for bad in (0, -5, 2.5, "100", True):
        with pytest.raises(UsageError, match=r"engines\.frames\.max_chars"):
            limit_engine(fake, EngineSettings("frames", {"max_chars": bad}))


# -- a real engine -------------------------------------------------------------------------------


@pytest.mark.slow  # about 20 s on two cores: loading the voice, a natural take and one re-timed render
def test_piper_fits_a_long_line_split_at_120_characters() -> None:
    from dubber.models.piper import PiperEngine

    if PiperEngine.unavailable_reason() is not None:
        pytest.skip(str(PiperEngine.unavailable_reason()))
    text = ("The harbour lights came on one by one as the fog rolled in from the sea. Nobody on the pier said a "
            "word; they watched the last boat turn toward the breakwater, its engine coughing, its deck crowded "
            "with tired men. When it finally touched the dock, the children ran forward, shouting their names.")
    assert 290 <= len(text) <= 310
    pieces = split_text(text, 120)
    assert len(pieces) == 3 and all(len(piece) <= 120 for piece in pieces)
    limited = LimitedEngine(PiperEngine(), 120)
    target = 14_500  # about 0.9 of the natural speech (some 16 s): re-timed natively
    # One render from frames split among the pieces, then at most a residual stretch.
    fit = fit_line(limited, SynthesisRequest(text, "en"), target, policy=FitPolicy(max_native_steps=1))
    assert 13_000 <= fit.natural_ms <= 19_000 and fit.status == STATUS_OK, (fit.natural_ms, fit.attempts)
    assert abs(fit.error_ms) <= 50, (fit.method, fit.attempts)
    (step, speech_ms), = fit.attempts[1:]
    assert fit.method.startswith("native") and step.startswith("frames")
    assert abs(speech_ms - target) <= 100  # the frames alone land close: the pieces rendered what they were given
    take = fit.take
    assert take.phonemes.count(" ") > 40 and len(take.durations) == len(take.phonemes) + 2
    assert take.n_samples == int(take.durations.sum()) * take.frame_samples
