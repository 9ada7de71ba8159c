"""Tune a voice toward a speaker (`--voice tune`, issue #23): search the style vector, no new weights.

Starting from the matched voice or blend (`dubber.voices.match`), CMA-ES (the `cma` package) moves the
timbre half of its style pack (the dims only the decoder reads; the prosody half, so the timing, stays)
by one delta added to every row. The delta lives in a subspace (`TuneSettings.subspace`): "voices",
the four directions along which the engine's five voices differ, each scaled by their spread, or
"full", every timbre dim scaled by the voices' spread in it. Each evaluation speaks the short search
probes (`TUNE_PROBES`) and scores the speaker vector of their audio against the reference's. The
answer is the best point scored, or the search's final mean (`pick`; on ten LibriSpeech readers the two
kept voices came out within noise of each other under the judge, bench/tune.py).

The search optimises its own encoder, so its gain is inflated: a point is kept only when an
independent encoder, the judge, also finds it closer to the reference, and Whisper's word error rate
is no worse than the start's by more than `wer_slack`, both over the check sentences (`CHECK_PROBES`,
never searched on) and the search probes. The answer and the next best points scored (`finalists`) are
checked, each that fails also at the point halfway to it (`retreats`); of those that pass, the one the
judge finds closest is kept (so the judge's own before/after is a selected, optimistic figure: the
benchmark judges on other clips of the speaker). When none passes, the start voice is returned with the
reasons. The result is cached
(`TUNE_FOLDER`) under everything it depends on, so a re-run costs no synthesis.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dubber.audio.pitch import shift_pitch
from dubber.audio.samples import resample
from dubber.errors import UnknownVoice, UsageError
from dubber.fitting.intelligibility import Transcriber as Whisper
from dubber.models.ge2e import default_judge
from dubber.models.onnx_graph import cache_dir
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.plugin.engine import Engine, Reference, SynthesisRequest
from dubber.voices.match import PROBE_RATE, PROBE_SEED, PROBES, Embedder, code_fingerprint
from dubber.voices.tune_io import read_record, reference_audio, write_record

TUNE_FORMAT = 1  # bump when what a cached result means, or how it is measured, changes
TUNE_FOLDER = ("voices", "tunings")  # under the cache root, beside the voice catalogue
# Short sentences the search speaks at every evaluation (the cost of an evaluation is their length).
TUNE_PROBES: dict[str, tuple[str, ...]] = {
    "en": ("Bring the blue cups to the kitchen.", "She thinks the garden looks lovely now."),
    "ja": ("駅の近くに本屋があります。", "明日は早く起きましょう。"),
}
CHECK_PROBES = PROBES  # what acceptance speaks: sentences the search never heard
Progress = Callable[[int, int], None]


class Judge(Protocol):
    """An independent speaker encoder: `dubber.models.ge2e.default_judge()` is one."""

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray: ...


class Transcriber(Protocol):
    """What the intelligibility check needs (`dubber.fitting.intelligibility.Transcriber` is one)."""

    def transcribe(self, samples: np.ndarray, rate: int) -> str: ...

    def wer(self, references: list[str], hypotheses: list[str]) -> float: ...


class TunableEngine(Protocol):
    """An engine whose voices are style packs it can name and speak (Kokoro)."""

    name: str
    timbre_dims: int

    def voice_pack(self, voice: str) -> np.ndarray: ...

    def tuned_voice(self, pack: np.ndarray, *, keep: bool = True) -> str: ...


@dataclass(frozen=True)
class TuneSettings:
    """How hard and where to search; part of the cache key."""

    evaluations: int = 34  # style packs spoken at most, the start included
    subspace: str = "voices"  # "voices" or "full" (see the module docstring)
    sigma: float = 0.6  # CMA-ES's first step, in units of the voices' spread along each direction
    popsize: int | None = None  # None: cma's default for the subspace's size (8 for the five voices' four)
    pick: str = "best"  # the answer: the "best" point scored, or the search's final "mean" (scored last)
    seed: int = 0
    wer_slack: float = 0.01  # the tuned voice may mishear this much more of the check sentences
    retreats: int = 1  # when the winner fails its checks, try the point halfway to it from the start, this often
    finalists: int = 3  # the best points scored that are checked (each with its retreats); the judge picks


@dataclass(frozen=True)
class TuneResult:
    """What tuning chose and why; similarities are cosines to the reference, WER a fraction of words."""

    voice: str  # the tuned voice, or the start voice when the tuning was not kept
    start_voice: str
    kept: bool
    reason: str
    start_similarity: float  # the search encoder on the search probes
    end_similarity: float
    start_judged: float | None = None  # the judge on the check sentences and the search probes
    end_judged: float | None = None
    start_wer: float | None = None  # on the same sentences; None where Whisper was not asked (not English)
    end_wer: float | None = None
    evaluations: int = 0
    seconds: float = 0.0  # spent tuning (a cached result keeps the first run's)
    pitch_semitones: float = 0.0  # the shift the start voice is spoken with, kept for the tuned one
    cached: bool = False
    candidate: str = ""  # the last voice checked (the start when nothing beat it); unkept, only this engine has it
    history: tuple[float, ...] = field(default=(), repr=False)  # each evaluation's similarity, in order

    def describe(self) -> str:
        """Say in one line what was chosen, the similarities before and after, and why."""
        text = f"{self.voice}: similarity {self.start_similarity:.3f} -> {self.end_similarity:.3f}"
        if self.start_judged is not None and self.end_judged is not None:
            text += f", judge {self.start_judged:.3f} -> {self.end_judged:.3f}"
        if self.start_wer is not None and self.end_wer is not None:
            text += f", WER {self.start_wer:.1%} -> {self.end_wer:.1%}"
        return f"{text}; {'kept' if self.kept else 'not kept'}: {self.reason} ({self.seconds:.0f} s)"


def can_tune(engine: Engine) -> bool:
    """Tell whether `engine` names and speaks style packs of its own (`TunableEngine`)."""
    return all(callable(getattr(engine, name, None)) for name in ("voice_pack", "tuned_voice")) and \
        isinstance(getattr(engine, "timbre_dims", None), int)


def tune_voice(engine: Engine, lang: str, reference: np.ndarray | Reference | str | os.PathLike[str],
               start_voice: str, *, rate: int | None = None, pitch_semitones: float = 0.0,
               embedder: Embedder | None = None, judge: Judge | None = None, transcriber: Transcriber | None = None,
               settings: TuneSettings = TuneSettings(), probes: Sequence[str] | None = None,
               check_probes: Sequence[str] | None = None, cache: bool = True,
               progress: Progress | None = None) -> TuneResult:
    """Search `engine`'s style pack from `start_voice` toward the speaker of `reference` (a clip, or samples at
    `rate`), spoken with `pitch_semitones` as the take will be; keep it only when the judge agrees and Whisper
    still understands it. `progress(done, total)` is called after each step."""
    if not can_tune(engine):
        raise UsageError(f"engine {engine.name!r} has no style packs to tune; tuning needs Kokoro",
                         engine=engine.name)
    start_voice = engine.check_voice_choice(lang, start_voice)
    texts = tuple(probes) if probes is not None else TUNE_PROBES.get(lang, ())
    checks = tuple(check_probes) if check_probes is not None else CHECK_PROBES.get(lang, ())
    if not texts or not checks:
        raise UsageError(f"voice tuning has no probe sentences for {lang!r}", lang=lang)
    if settings.subspace not in ("voices", "full") or settings.pick not in ("mean", "best") or \
            settings.evaluations < 1 or settings.finalists < 1:
        raise UsageError(f"bad tuning settings {settings}: subspace 'voices' or 'full', pick 'mean' or 'best', "
                         f"at least 1 evaluation")
    samples = reference_audio(reference, rate, PROBE_RATE)
    embedder = embedder or default_embedder()
    judge = judge or default_judge()
    key = _cache_key(engine, lang, start_voice, samples, texts, checks, settings, pitch_semitones, embedder, judge)
    path = cache_dir().parent.joinpath(*TUNE_FOLDER) / f"{key}.json"
    if cache:
        hit = _cached(engine, lang, path)
        if hit is not None:
            if progress:
                progress(1, 1)
            return hit
    if transcriber is None and lang == "en":  # Whisper tiny.en: English only
        transcriber = Whisper()  # raises with the install hint when it is missing, before any search
    result = _Tuning(engine, lang, samples, start_voice, texts, checks, settings, pitch_semitones, embedder,
                     judge, transcriber, progress).run()
    if cache:
        write_record(path, {"format": TUNE_FORMAT, **asdict(result)})
    return result


class _Tuning:
    """One search and its acceptance."""

    def __init__(self, engine: Any, lang: str, samples: np.ndarray, start_voice: str, texts: tuple[str, ...],
                 checks: tuple[str, ...], settings: TuneSettings, semitones: float, embedder: Embedder,
                 judge: Judge, transcriber: Transcriber | None, progress: Progress | None) -> None:
        self.engine, self.lang, self.start_voice = engine, lang, start_voice
        self.texts, self.checks, self.settings, self.semitones = texts, checks, settings, semitones
        self.embedder, self.judge, self.transcriber, self.progress = embedder, judge, transcriber, progress
        self.target = _unit(embedder.embed(samples, PROBE_RATE))
        self.judge_target = _unit(judge.embed(samples, PROBE_RATE))
        # The search, then the checks: the start's, then at most every finalist at each retreat.
        self.total = settings.evaluations + 1 + settings.finalists * (settings.retreats + 1)
        self.done = 0
        self._clips: dict[tuple[str, str], np.ndarray] = {}

    def run(self) -> TuneResult:
        """Search, then check the best points (each, when it fails, at its retreats) against the start; keep the one
        the judge finds closest among those that pass, or say why none did."""
        began = time.perf_counter()
        start = self.engine.voice_pack(self.start_voice)
        basis = timbre_basis(self.engine, self.settings.subspace)
        dims = self.engine.timbre_dims
        history: list[float] = []
        scored: list[tuple[np.ndarray, float]] = []

        def voice_at(x: np.ndarray) -> str:
            return self.start_voice if not np.any(x) else self.engine.tuned_voice(shifted(start, basis, x, dims),
                                                                                  keep=False)

        def score(x: np.ndarray) -> float:
            history.append(self._similarity(voice_at(x)))
            scored.append((np.asarray(x, dtype=np.float64).copy(), history[-1]))
            self._step()
            return history[-1]

        best_x, best = search(score, basis.shape[0], self.settings)
        if len(history) < self.settings.evaluations:  # the budget left over by whole generations
            self._step(self.settings.evaluations - len(history))
        result = TuneResult(self.start_voice, self.start_voice, False, "", history[0], best,
                            evaluations=len(history), pitch_semitones=self.semitones, candidate=self.start_voice,
                            history=tuple(history))
        points = finalists(scored, best_x, best, self.settings.finalists)
        if not points:
            reasons = ["the search found no voice closer than the start"]
        else:
            judged0, wer0 = self._check(self.start_voice)
            result = replace(result, start_judged=judged0, start_wer=wer0)
            failed: list[str] = []
            chosen: tuple[float, np.ndarray, TuneResult] | None = None  # the judge's best among those that pass
            closest: TuneResult | None = None  # the judge's best among all checked, to report when none passes
            for rank, (point, value) in enumerate(points):
                for retreat in range(self.settings.retreats + 1):
                    x = point * 0.5 ** retreat
                    trial = voice_at(x)
                    judged1, wer1 = self._check(trial)
                    checked = replace(result, end_similarity=value if retreat == 0 else self._similarity(trial),
                                      end_judged=judged1, end_wer=wer1, candidate=trial)
                    if closest is None or judged1 > (closest.end_judged or -1.0):
                        closest = checked
                    parts = ([f"point {rank + 1}"] if len(points) > 1 else []) + (
                        [f"{0.5 ** retreat:g} of the way"] if retreat else [])
                    where = ", ".join(parts) + ": " if parts else ""
                    if judged1 <= judged0:
                        failed.append(f"{where}the judge finds it no closer ({judged0:.3f} -> {judged1:.3f})")
                    elif wer0 is not None and wer1 is not None and wer1 > wer0 + self.settings.wer_slack:
                        failed.append(f"{where}Whisper mishears more of it (WER {wer0:.1%} -> {wer1:.1%})")
                    else:
                        if chosen is None or judged1 > chosen[0]:
                            chosen = (judged1, x, replace(checked, reason=where + "closer under both encoders" + (
                                ", as intelligible" if wer0 is not None else
                                " (intelligibility not checked: not English)")))
                        break  # a nearer point on the same line is no better a guess
            if chosen is not None:
                _, x, kept = chosen
                name = self.engine.tuned_voice(shifted(start, basis, x, dims), keep=True)
                note = f" (the judge's closest of the {len(points)} best points)" if len(points) > 1 else ""
                result = replace(kept, voice=name, kept=True, candidate=name)
                reasons = [kept.reason + note] + (["not kept: " + "; ".join(failed)] if failed else [])
            else:
                assert closest is not None
                result = closest
                reasons = failed
        if self.progress:
            self.progress(self.total, self.total)
        return replace(result, reason="; ".join(reasons), seconds=round(time.perf_counter() - began, 1))

    def _similarity(self, voice: str) -> float:
        """Return the search encoder's similarity of `voice` to the reference over the search probes."""
        return cosine(self.target, _mean_vector(self.embedder, [self._speak(text, voice) for text in self.texts]))

    def _check(self, voice: str) -> tuple[float, float | None]:
        """Return the judge's similarity of `voice` to the reference and Whisper's WER, over the check sentences and
        the search probes (those are spoken already)."""
        texts = [*self.checks, *self.texts]
        audio = [self._speak(text, voice) for text in texts]
        judged = cosine(self.judge_target, _mean_vector(self.judge, audio))
        wer = None
        if self.transcriber is not None:
            heard = [self.transcriber.transcribe(clip, PROBE_RATE) for clip in audio]
            wer = float(self.transcriber.wer(texts, heard))
        self._step()
        return judged, wer

    def _speak(self, text: str, voice: str) -> np.ndarray:
        """Speak `text` in `voice` at the probe rate, shifted in pitch as its takes will be (each clip once)."""
        if (text, voice) not in self._clips:
            take = self.engine.synthesize(SynthesisRequest(text, self.lang, voice, seed=PROBE_SEED))
            audio = resample(take.samples, take.sample_rate, PROBE_RATE)
            self._clips[text, voice] = shift_pitch(audio, PROBE_RATE, self.semitones) if self.semitones else audio
        return self._clips[text, voice]

    def _step(self, count: int = 1) -> None:
        self.done += count
        if self.progress:
            self.progress(self.done, self.total)


def search(score: Callable[[np.ndarray], float], dims: int, settings: TuneSettings) -> tuple[np.ndarray, float]:
    """Maximise `score` with CMA-ES from the origin (scored first) within `settings.evaluations` calls.

    Return the answer and its score: the search's final mean (scored last), or with pick "best" the best point
    scored; the origin when the answer does not beat it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cma warns that matplotlib is missing: its plots are not used
        import cma

    origin = score(np.zeros(dims))
    best_x, best = np.zeros(dims), origin
    rng = np.random.default_rng(settings.seed)
    options = {"seed": np.nan, "randn": lambda *shape: rng.standard_normal(shape), "verbose": -9,
               "verb_log": 0, "verb_disp": 0, "CMA_mirrors": 0}
    if settings.popsize:
        options["popsize"] = settings.popsize
    es = cma.CMAEvolutionStrategy(np.zeros(dims), settings.sigma, options)
    mean = settings.pick == "mean"
    left = settings.evaluations - 1 - mean  # the mean is scored once, at the end
    told = False
    while left >= (es.popsize if mean else 1):  # the mean moves only with whole generations
        points = es.ask()[:left]
        scores = [score(np.asarray(x)) for x in points]
        left -= len(points)
        for x, value in zip(points, scores):
            if value > best:
                best_x, best = np.asarray(x, dtype=np.float64), value
        if len(points) < es.popsize:
            break
        es.tell(points, [-value for value in scores])  # cma minimises
        told = True
    if mean and told:
        # The mean of the last generation's best half: a single best point is partly its luck.
        best_x = np.asarray(es.mean, dtype=np.float64).copy()
        best = score(best_x)
    return (best_x, best) if best > origin else (np.zeros(dims), origin)


def finalists(scored: Sequence[tuple[np.ndarray, float]], answer: np.ndarray, value: float,
              count: int) -> list[tuple[np.ndarray, float]]:
    """The points to check, best first: the search's answer, then the best other points scored above the origin
    (the first point scored), `count` in all; none when the answer is the origin."""
    if not np.any(answer) or count < 1:
        return []
    origin = scored[0][1]
    others = sorted(((x, v) for x, v in scored[1:] if v > origin and not np.array_equal(x, answer)),
                    key=lambda item: -item[1])
    return [(answer, value), *others[:count - 1]]


def timbre_basis(engine: Any, subspace: str) -> np.ndarray:
    """Return the search's directions in timbre space, one per row, each as long as the voices' spread along it."""
    dims = engine.timbre_dims
    voices = np.stack([engine.voice_pack(voice)[:, :dims].mean(axis=0) for voice in engine.capabilities.voices])
    centred = voices - voices.mean(axis=0)
    if subspace == "full":
        return np.diag(centred.std(axis=0))
    _, values, directions = np.linalg.svd(centred, full_matrices=False)
    keep = values > values[0] * 1e-3  # n voices span at most n - 1 directions
    return directions[keep] * (values[keep] / np.sqrt(len(voices)))[:, None]


def shifted(pack: np.ndarray, basis: np.ndarray, x: np.ndarray, dims: int) -> np.ndarray:
    """Return `pack` with the timbre delta x @ basis added to every row."""
    out = np.array(pack, dtype=np.float32)
    out[:, :dims] += (np.asarray(x) @ basis).astype(np.float32)
    return out


def _cached(engine: Any, lang: str, path: Path) -> TuneResult | None:
    """Return the cached result at `path` when its tuned voice can still be spoken, else None."""
    record = read_record(path)
    if record is None or record.pop("format", None) != TUNE_FORMAT:
        return None
    try:
        result = TuneResult(**{**record, "history": tuple(record.get("history", ())), "cached": True})
        engine.check_voice_choice(lang, result.voice)
    except (TypeError, UnknownVoice):  # an older record, or a tuned pack since deleted: tune again
        return None
    return result


def _cache_key(engine: Any, lang: str, start_voice: str, samples: np.ndarray, texts: tuple[str, ...],
               checks: tuple[str, ...], settings: TuneSettings, semitones: float, embedder: Embedder,
               judge: Judge) -> str:
    """Digest everything a tuning's outcome depends on."""
    key = json.dumps({
        "format": TUNE_FORMAT, "engine": engine.name, "engine_code": code_fingerprint(type(engine).__module__),
        "lang": lang, "start": start_voice, "start_pack": hashlib.sha256(
            np.ascontiguousarray(engine.voice_pack(start_voice), np.float32).tobytes()).hexdigest(),
        "reference": hashlib.sha256(np.ascontiguousarray(samples, np.float32).tobytes()).hexdigest(),
        "probes": texts, "checks": checks, "settings": asdict(settings), "pitch": round(float(semitones), 4),
        "embedder": [getattr(embedder, "name", ""), code_fingerprint(type(embedder).__module__)],
        "judge": [getattr(judge, "name", type(judge).__name__), code_fingerprint(type(judge).__module__)],
        "search_code": code_fingerprint(__name__),
    }, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _mean_vector(embedder: Any, clips: list[np.ndarray]) -> np.ndarray:
    """Return the normalised mean of the clips' speaker vectors, as the voice catalogue describes a voice."""
    return _unit(np.mean([_unit(embedder.embed(clip, PROBE_RATE)) for clip in clips], axis=0))


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
