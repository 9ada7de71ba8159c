"""Voice tuning: the search, its acceptance by a judge and Whisper, its cache, and its determinism.

The logic runs on a stand-in engine whose takes carry their style pack's mean timbre in their first
samples, read back by a stand-in embedder, so a search step is instant. One test tunes real Kokoro
with a tiny budget.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from dubber.errors import UnknownVoice, UsageError
from dubber.models.kokoro import KokoroEngine
from dubber.models.onnx_graph import CACHE_ENV
from dubber.models.speaker_embedding import cosine
from dubber.plugin.engine import Capabilities, Engine, SynthesisRequest, Take
from dubber.voices.tune import TuneSettings, can_tune, search, shifted, timbre_basis, tune_voice

RATE = 16000  # the probe rate: nothing is resampled
DIMS = 6  # timbre dims of the stand-in packs
SCALE = 0.01  # timbre values as sample amplitudes
VOICES = ("a", "b", "c", "d", "e")
PROBES, CHECKS = ("one two",), ("three four", "five six")


class PackVoices(Engine):
    """Five style packs (8 rows of 2 * DIMS); a take's first DIMS samples are its pack's mean timbre."""

    name = "packvoices"
    capabilities = Capabilities(languages=("en",), sample_rate=RATE, voices=VOICES, default_voice={"en": "a"})
    timbre_dims = DIMS

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self.packs = {v: np.repeat(rng.normal(0, 1, (1, 2 * DIMS)), 8, axis=0).astype(np.float32) for v in VOICES}
        self.saved: dict[str, np.ndarray] = {}
        self.spoken: list[str] = []

    def check_voice_choice(self, lang, voice, reference=None, emotion=None):
        if voice in self.packs:  # a voice or a tuned pack of this engine
            super().check_voice_choice(lang, None, reference, emotion)
            return voice
        return super().check_voice_choice(lang, voice, reference, emotion)

    def synthesize(self, request: SynthesisRequest) -> Take:
        voice = self.check_request(request)
        self.spoken.append(voice)
        samples = np.zeros(RATE // 2, np.float32)
        samples[:DIMS] = self.packs[voice][:, :DIMS].mean(axis=0) * SCALE
        return Take(samples, RATE, request.text, engine=self.name, voice=voice, seed=request.seed)

    def voice_pack(self, voice: str) -> np.ndarray:
        return self.packs[self.check_voice_choice("en", voice)].copy()

    def tuned_voice(self, pack: np.ndarray, *, keep: bool = True) -> str:
        name = "tuned-" + hashlib.sha256(np.asarray(pack, np.float32).tobytes()).hexdigest()[:16]
        self.packs[name] = np.array(pack, np.float32)
        if keep:
            self.saved[name] = self.packs[name]
        return name


class Reader:
    """The stand-in embedder: a take's timbre, read back from its first samples."""

    name = "reader"

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        return np.asarray(samples[:DIMS], np.float64) / SCALE


class StartLover:
    """A judge that hears the start voice in the reference: every step away from it sounds farther."""

    def __init__(self, start: np.ndarray, reference: np.ndarray) -> None:
        self.start, self.reference = start, reference

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        if np.array_equal(samples, self.reference):
            return np.array([1.0, 0.0])
        return np.array([1.0, float(np.linalg.norm(samples[:DIMS] / SCALE - self.start))])


class Whisper:
    """Hears the check sentences right from the start voice, and one word wrong from any tuned voice."""

    def __init__(self, engine: PackVoices) -> None:
        self.engine = engine

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        return "wrong words" if self.engine.spoken[-1].startswith("tuned-") else "right words"

    def wer(self, references: list[str], hypotheses: list[str]) -> float:
        return sum(h == "wrong words" for h in hypotheses) / (2 * len(references))


class Perfect(Whisper):
    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        return "right words"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))


def reference(engine: PackVoices) -> np.ndarray:
    """A speaker between voices b and c, a little off their line."""
    timbre = 0.5 * engine.packs["b"][0, :DIMS] + 0.5 * engine.packs["c"][0, :DIMS] + 0.3
    samples = np.zeros(RATE, np.float32)
    samples[:DIMS] = timbre * SCALE
    return samples


def tune(engine: PackVoices, *, judge=None, transcriber=None, settings=TuneSettings(evaluations=24), **kw):
    return tune_voice(engine, "en", reference(engine), "a", rate=RATE, embedder=Reader(), judge=judge or Reader(),
                      transcriber=transcriber or Perfect(engine), settings=settings, probes=PROBES,
                      check_probes=CHECKS, **kw)


@pytest.mark.parametrize(("subspace", "pick"), [("voices", "mean"), ("full", "mean"), ("voices", "best")])
def test_tuning_moves_toward_the_reference_and_keeps_a_voice_both_encoders_prefer(subspace: str, pick: str) -> None:
    engine = PackVoices()
    steps = []
    result = tune(engine, settings=TuneSettings(evaluations=24, subspace=subspace, pick=pick, finalists=1),
                  progress=lambda done, total: steps.append((done, total)))
    assert result.kept and result.voice.startswith("tuned-") and result.voice in engine.saved
    assert result.end_similarity > result.start_similarity + 0.05 and result.end_judged > result.start_judged
    assert result.history[0] == result.start_similarity and result.start_wer == result.end_wer == 0
    # The answer is the search's mean, scored last, or the best point scored.
    assert result.end_similarity == (result.history[-1] if pick == "mean" else max(result.history))
    assert result.evaluations == len(result.history) <= 24
    assert [done for done, _ in steps] == sorted({done for done, _ in steps}) and steps[-1] == (27, 27)
    assert {total for _, total in steps} == {27}  # 24 evaluations, the start's check, the answer's and its retreat
    # Only the timbre half moved, by one delta for every row.
    delta = engine.saved[result.voice] - engine.packs["a"]
    assert np.allclose(delta[:, DIMS:], 0) and np.allclose(delta, delta[0])
    assert "kept" in result.describe() and "tuned-" in result.describe()


def test_the_judge_disagreeing_keeps_the_start() -> None:
    engine = PackVoices()
    judge = StartLover(engine.packs["a"][0, :DIMS], reference(engine))
    result = tune(engine, judge=judge)
    assert not result.kept and result.voice == "a" and not engine.saved
    assert result.end_similarity > result.start_similarity and result.end_judged < result.start_judged
    assert "judge" in result.reason and result.candidate.startswith("tuned-")


def test_whisper_mishearing_more_keeps_the_start() -> None:
    engine = PackVoices()
    result = tune(engine, transcriber=Whisper(engine))
    assert not result.kept and result.voice == "a" and not engine.saved
    assert (result.start_wer, result.end_wer) == (0.0, 0.5) and "WER" in result.reason


class FarWhisper(Perfect):
    """Mishears every word spoken further than `limit` from the start voice's timbre."""

    def __init__(self, start: np.ndarray, limit: float) -> None:
        self.start, self.limit = start, limit

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        far = np.linalg.norm(samples[:DIMS] / SCALE - self.start) > self.limit
        return "wrong words" if far else "right words"


def test_a_winner_too_far_to_be_understood_gives_way_to_the_point_halfway() -> None:
    engine = PackVoices()
    start = engine.packs["a"][0, :DIMS]
    winner = tune(engine, cache=False)
    distance = float(np.linalg.norm(engine.packs[winner.voice][0, :DIMS] - start))
    result = tune(engine, cache=False, transcriber=FarWhisper(start, 0.75 * distance),
                  settings=TuneSettings(evaluations=24, finalists=1))
    assert result.kept and result.voice != winner.voice and result.end_wer == 0
    assert np.allclose(engine.saved[result.voice][0, :DIMS] - start, 0.5 * (engine.packs[winner.voice][0, :DIMS] -
                                                                           start), atol=1e-5)
    assert "Whisper" in result.reason and "0.5 of the way: closer" in result.reason
    assert result.start_similarity < result.end_similarity < winner.end_similarity
    no_retreat = tune(engine, cache=False, transcriber=FarWhisper(start, 0.75 * distance),
                      settings=TuneSettings(evaluations=24, retreats=0, finalists=1))
    assert not no_retreat.kept and no_retreat.candidate == winner.voice


def test_when_the_answer_fails_the_judge_keeps_the_closest_of_the_next_best_points_that_pass() -> None:
    engine = PackVoices()
    start = engine.packs["a"][0, :DIMS]
    alone = tune(engine, cache=False, settings=TuneSettings(evaluations=24, finalists=1, retreats=0))
    distance = float(np.linalg.norm(engine.packs[alone.voice][0, :DIMS] - start))
    # Whisper mishears the answer; some of the next best points lie nearer the start and are understood.
    whisper = FarWhisper(start, 0.97 * distance)
    none = tune(engine, cache=False, transcriber=whisper, settings=TuneSettings(evaluations=24, finalists=1,
                                                                                retreats=0))
    assert not none.kept
    result = tune(engine, cache=False, transcriber=whisper, settings=TuneSettings(evaluations=24, finalists=8,
                                                                                  retreats=0))
    assert result.kept and result.voice != alone.voice and result.end_wer == 0
    assert np.linalg.norm(engine.saved[result.voice][0, :DIMS] - start) <= 0.97 * distance
    assert result.start_judged < result.end_judged < alone.end_judged
    assert "point 1: Whisper mishears" in result.reason and "closest of the 8 best points" in result.reason
    assert result.end_similarity in result.history and result.end_similarity < alone.end_similarity


def test_a_slack_of_one_point_allows_one_point() -> None:
    engine = PackVoices()
    result = tune(engine, transcriber=Whisper(engine), settings=TuneSettings(evaluations=24, wer_slack=0.5))
    assert result.kept


def test_nothing_better_than_the_start_keeps_it() -> None:
    engine = PackVoices()
    result = tune_voice(engine, "en", np.concatenate([engine.packs["a"][0, :DIMS] * SCALE, np.zeros(99)]), "a",
                        rate=RATE, embedder=Reader(), judge=Reader(), transcriber=Perfect(engine),
                        settings=TuneSettings(evaluations=6), probes=PROBES, check_probes=CHECKS)
    assert not result.kept and result.voice == result.candidate == "a" and "no voice closer" in result.reason


def test_a_second_call_costs_no_synthesis() -> None:
    engine = PackVoices()
    first = tune(engine)
    spoken = len(engine.spoken)
    again = tune(engine, progress=lambda done, total: None)
    assert len(engine.spoken) == spoken and again.cached and not first.cached
    assert again == type(first)(**{**first.__dict__, "cached": True})
    # Another seed, reference or start is another tuning.
    tune(engine, settings=TuneSettings(evaluations=24, seed=1))
    assert len(engine.spoken) > spoken


def test_a_cached_voice_whose_pack_is_gone_is_tuned_again() -> None:
    first_engine = PackVoices()
    first = tune(first_engine)
    other = PackVoices()  # knows none of the first engine's tuned packs
    again = tune(other)
    assert not again.cached and other.spoken and again.voice == first.voice


def test_the_same_seed_gives_the_same_search() -> None:
    runs = [tune(PackVoices(), cache=False, settings=TuneSettings(evaluations=16, seed=seed)) for seed in (3, 3, 4)]
    assert runs[0].history == runs[1].history and runs[0].voice == runs[1].voice
    assert runs[0].history != runs[2].history


@pytest.mark.parametrize("pick", ["best", "mean"])
def test_search_stays_within_its_budget_and_starts_at_the_origin(pick: str) -> None:
    calls = []

    def f(x: np.ndarray) -> float:
        return -float(np.sum((x - 0.3) ** 2))

    def score(x: np.ndarray) -> float:
        calls.append(x.copy())
        return f(x)

    best_x, best = search(score, 3, TuneSettings(evaluations=22, seed=0, pick=pick, popsize=5))
    assert len(calls) == 22 and not np.any(calls[0]) and best > f(np.zeros(3))
    if pick == "best":  # every evaluation spent, the best one returned
        assert best == max(f(x) for x in calls)
    else:  # the origin, 4 whole generations of 5, then their mean
        assert np.array_equal(best_x, calls[-1]) and best == f(calls[-1])
    calls.clear()
    x, value = search(score, 3, TuneSettings(evaluations=1, pick=pick))
    assert len(calls) == 1 and not np.any(x) and value == f(np.zeros(3))


def test_a_search_that_finds_nothing_better_returns_the_origin() -> None:
    x, value = search(lambda x: -float(np.sum(x ** 2)), 4, TuneSettings(evaluations=18, popsize=8))
    assert not np.any(x) and value == 0


def test_the_voices_basis_spans_their_differences() -> None:
    engine = PackVoices()
    basis = timbre_basis(engine, "voices")
    assert basis.shape == (4, DIMS)  # five voices differ along at most four directions
    means = np.stack([engine.packs[v][:, :DIMS].mean(axis=0) for v in VOICES])
    centred = means - means.mean(axis=0)
    assert np.allclose(centred @ np.linalg.pinv(basis) @ basis, centred, atol=1e-5)
    assert timbre_basis(engine, "full").shape == (DIMS, DIMS)
    moved = shifted(engine.packs["a"], basis, np.ones(4), DIMS)
    assert np.allclose(moved[:, DIMS:], engine.packs["a"][:, DIMS:])


def test_refusals() -> None:
    engine = PackVoices()
    with pytest.raises(UsageError, match="subspace"):
        tune(engine, settings=TuneSettings(subspace="all"))
    with pytest.raises(UnknownVoice):
        tune_voice(engine, "en", reference(engine), "zz", rate=RATE, embedder=Reader(), judge=Reader(),
                   transcriber=Perfect(engine), probes=PROBES, check_probes=CHECKS)
    with pytest.raises(UsageError, match="sample rate"):
        tune_voice(engine, "en", reference(engine), "a", embedder=Reader(), judge=Reader(),
                   transcriber=Perfect(engine), probes=PROBES, check_probes=CHECKS)
    class Plain(Engine):
        name = "plain"
        capabilities = Capabilities(languages=("en",), sample_rate=RATE, voices=("x",))

        def synthesize(self, request):
            raise AssertionError

    assert can_tune(engine) and not can_tune(Plain())
    with pytest.raises(UsageError, match="style packs"):
        tune_voice(Plain(), "en", reference(engine), "x", rate=RATE, embedder=Reader(), judge=Reader())


@pytest.mark.skipif(KokoroEngine.unavailable_reason() is not None, reason=str(KokoroEngine.unavailable_reason()))
def test_tunes_real_kokoro_and_the_tuned_voice_is_spoken_by_name(monkeypatch, tmp_path) -> None:
    from dubber.models import kokoro_voices
    from dubber.models.speaker_embedding import default_embedder

    monkeypatch.setattr(kokoro_voices, "tuned_folder", lambda: tmp_path / "tuned")
    engine = KokoroEngine()
    embedder = default_embedder()
    # Tuning jm_kumo toward jf_alpha; the judge is the search's encoder and the checks its probe, so it agrees.
    take = engine.synthesize(SynthesisRequest("Thanks for waiting so long.", "en", "jf_alpha"))
    settings = TuneSettings(evaluations=4, popsize=3, sigma=1.0, pick="best", retreats=0)
    result = tune_voice(engine, "en", take.samples, "jm_kumo", rate=take.sample_rate, embedder=embedder,
                        judge=embedder, transcriber=Perfect(None), settings=settings, probes=("Hi there.",),
                        check_probes=("Hi there.",))
    assert result.evaluations == 4 and result.start_voice == "jm_kumo"
    assert result.kept and result.end_similarity > result.start_similarity, result.describe()
    assert sorted(p.name for p in (tmp_path / "tuned").iterdir()) == [f"{result.voice}.npy"]
    fresh = KokoroEngine()  # finds the pack in the cache folder by its name
    tuned = fresh.synthesize(SynthesisRequest("Hi there.", "en", result.voice))
    start = fresh.synthesize(SynthesisRequest("Hi there.", "en", "jm_kumo"))
    assert tuned.voice == result.voice and np.array_equal(tuned.durations, start.durations)
    target = embedder.embed(take.samples, take.sample_rate)
    assert cosine(embedder.embed(tuned.samples, 24000), target) > cosine(embedder.embed(start.samples, 24000), target)
