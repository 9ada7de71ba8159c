"""Keep every request within an engine's text limit: split long lines at punctuation, join the takes.

Some engines take only so much text in one request (a context of text tokens, a longest clip
they were trained on). `split_text` cuts a line into pieces of at most `limit` characters,
counted on the words without pronunciation markup (`dubber.text.pronunciation.plain`): at sentence
ends first, then clause marks, then spaces, and only as a last resort anywhere, never inside
markup nor between a Han character and its pinyin tags. A cut is taken in the latter part of
the window, so the pieces do not come out tiny.

`LimitedEngine` wraps an engine and has its interface (name, capabilities with `max_text_chars`
set, every Engine method, any other attribute), so `fit_line` and the engine guard use it
unchanged. A line that fits goes through untouched. A longer one is spoken piece by piece and
joined with a short pause, as Kokoro joins the chunks of a long phoneme string:

- the joined take's `phonemes` are the pieces' phonemes joined by a space, and when every piece
  has frame durations its `durations` keep the `Take` layout: the space at a join carries the
  trailing silence of the piece before, the pause and the leading silence of the piece after;
- `synthesize_frames` splits such frames back at the joins, giving each piece its natural
  trailing and leading silence (the pause takes the rest, and gives way first when the entry is
  short), so the fitter re-times a split line exactly as it re-times any other;
- with `target_ms`, each piece is first taken naturally, then the target less the joins is
  shared among the pieces in proportion to their natural speech and each is spoken to its share:
  in whole frames when the pieces have them (the joined frames between the outer silences then
  come to the target's, as one call's would), else by measured speech spans (each piece's edges
  then add a few ms). `fit_line` never asks for a target: it measures and re-times.

`limit_engine` applies the limit an engine's config table sets (`max_chars`) or the one its
capabilities declare.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from dubber.audio.samples import ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.config import EngineSettings
from dubber.errors import SynthesisError, UsageError
from dubber.plugin.engine import Capabilities, Engine, SynthesisRequest, Take, Timing
from dubber.synthesis.guard import WrappedEngine
from dubber.text.pronunciation import HAN, MarkupError, Phonetic, Pinyin, parse

PAUSE_MS = 150  # silence between the pieces of a split line, about a sentence break
NATURAL_CACHE = 64  # pieces whose natural frames are kept, to split the fitter's frames back

SENTENCE_MARKS = frozenset("。！？!?.…")
CLAUSE_MARKS = frozenset("，、；：,;:—")
CLOSERS = frozenset("\"'”’)）」』】》〉]")  # stay with the mark before them
_BRACKET_OR_CHAR = re.compile(r"\[[^\[\]\n]*\]|.", re.DOTALL)  # a bracket the markup left as text is one unit
_ROUGH_MARKUP = re.compile(rf"\{{[^{{}}|\n]+\|[^{{}}|\n]+\}}|[{HAN}]?(?:\[[^\[\]\n]*\])+")

SENTENCE, CLAUSE, SPACE = 0, 1, 2  # cut levels, best first


@dataclass(frozen=True)
class _Unit:
    """What a cut never goes inside: one character, or a piece of markup with the characters it marks."""

    raw: str  # as written in the text
    size: int  # its length in the words without markup

    @property
    def blank(self) -> bool:
        return self.raw.isspace()


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters without markup, at punctuation when possible.

    A text that fits comes back as `[text]`. Otherwise cuts go at sentence ends (。！？!?.…, the mark
    and any closing quote kept with the piece before), then clause marks (，、；：,;:—), then
    spaces, then anywhere, each in the latter two thirds of the window; whitespace at a cut is
    dropped, so joining the pieces with a space where whitespace was (nothing elsewhere) gives the
    text back. Markup is never cut; a single word or markup longer than `limit` becomes a piece of
    its own, the one kind of piece that can exceed the limit.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"a text limit must be a positive whole number of characters, got {limit!r}")
    units = _units(text)
    start, end = _strip(units, 0, len(units))
    if sum(unit.size for unit in units[start:end]) <= limit:
        return [text]
    pieces = []
    while start < end:
        cut = _cut(units, start, end, limit)
        first, last = _strip(units, start, cut)
        pieces.append("".join(unit.raw for unit in units[first:last]))
        start, _ = _strip(units, cut, end)
    return pieces


def _units(text: str) -> list[_Unit]:
    """Split `text` into units: markup (with the Han characters its pinyin belongs to) whole, else characters."""
    try:
        pieces = parse(text)
    except MarkupError:
        return _rough_units(text)
    units = []
    for piece in pieces:
        if isinstance(piece, Pinyin):
            units.append(_Unit(piece.written, len(piece.chars)))
        elif isinstance(piece, Phonetic):
            units.append(_Unit(piece.written, len(piece.word)))
        else:
            units += [_Unit(m.group(0), len(m.group(0))) for m in _BRACKET_OR_CHAR.finditer(piece)]
    return units


def _rough_units(text: str) -> list[_Unit]:
    """Units of a text whose markup does not parse: still keep every bracket and override whole."""
    units, pos = [], 0
    for match in _ROUGH_MARKUP.finditer(text):
        units += [_Unit(ch, 1) for ch in text[pos:match.start()]]
        raw = match.group(0)
        # `plain` keeps a bad tag as text and says an override's word.
        size = len(raw[1:raw.index("|")]) if raw.startswith("{") else len(raw)
        units.append(_Unit(raw, size))
        pos = match.end()
    return units + [_Unit(ch, 1) for ch in text[pos:]]


def _strip(units: list[_Unit], start: int, end: int) -> tuple[int, int]:
    """Narrow [start, end) past whitespace at both ends."""
    while start < end and units[start].blank:
        start += 1
    while end > start and units[end - 1].blank:
        end -= 1
    return start, end


def _cut(units: list[_Unit], start: int, end: int, limit: int) -> int:
    """Return where the piece starting at `start` (not blank) ends: the best cut that keeps it within `limit`."""
    best: dict[int, int] = {}  # level -> the last cut at that level
    fits = start  # the furthest cut whose piece fits
    size = 0
    for pos in range(start + 1, end + 1):
        unit = units[pos - 1]
        size += unit.size
        if size > limit and not unit.blank:  # (trailing whitespace is dropped, so it never overflows)
            break
        fits = pos
        level = _level(units, pos, end)
        # Punctuation only counts in the latter part of the window, so pieces do not get tiny.
        if level is not None and (level == SPACE or size >= limit // 3):
            best[level] = pos
    else:
        return end  # the rest fits
    for level in (SENTENCE, CLAUSE, SPACE):
        if level in best:
            return best[level]
    return max(fits, start + 1)  # a hard cut; a unit longer than the limit stands alone


def _level(units: list[_Unit], pos: int, end: int) -> int | None:
    """Say how good a cut between units[pos - 1] and units[pos] is (None: no cut there)."""
    after = units[pos].raw if pos < end else ""
    if after.isspace():
        return _mark_level(units, pos, end) if pos and not units[pos - 1].blank else SPACE
    if pos == end or after in CLOSERS or after in SENTENCE_MARKS or after in CLAUSE_MARKS:
        return None  # the end needs no cut; closers and runs of marks stay together
    return _mark_level(units, pos, end)


def _mark_level(units: list[_Unit], pos: int, end: int) -> int | None:
    """The level of the punctuation (behind any closing quotes) just before `pos`, if any, else SPACE or None."""
    back = pos - 1
    while back > 0 and units[back].raw in CLOSERS:
        back -= 1
    mark = units[back].raw
    after = units[pos].raw if pos < end else ""
    # An ASCII mark before a letter or digit is a number, an abbreviation or a time (3.14, e.g., 12:30).
    if mark.isascii() and after and not after.isspace() and (after.isascii() and after.isalnum()):
        return None
    if mark in SENTENCE_MARKS:
        return SENTENCE
    if mark in CLAUSE_MARKS:
        return CLAUSE
    return SPACE if after.isspace() else None


@dataclass(frozen=True)
class _Natural:
    """What splitting frames back needs of a piece's natural take."""

    phonemes: str
    durations: np.ndarray | None  # None unless laid out as `Take.durations`
    frame_samples: int | None


def _natural_of(take: Take) -> _Natural:
    durations = take.durations
    if durations is None or len(durations) != len(take.phonemes) + 2:
        return _Natural(take.phonemes, None, None)
    return _Natural(take.phonemes, np.array(durations, dtype=np.int64), take.frame_samples)


class LimitedEngine(WrappedEngine):
    """An engine that speaks lines longer than `limit` characters piece by piece (see the module docstring)."""

    def __init__(self, engine: Engine, limit: int, pause_ms: int = PAUSE_MS) -> None:
        if isinstance(engine, LimitedEngine):
            engine = engine.inner  # one limit, never a limit around a limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UsageError(f"engine {engine.name!r}: a text limit must be a positive whole number of characters, "
                             f"got {limit!r}", engine=engine.name)
        if pause_ms < 0:
            raise UsageError(f"the pause between pieces cannot be negative, got {pause_ms} ms", engine=engine.name)
        self.inner = engine
        self.limit = limit
        self.pause_ms = pause_ms
        self._naturals: OrderedDict[SynthesisRequest, _Natural] = OrderedDict()  # by the piece's natural request
        self._lock = threading.Lock()

    @property  # type: ignore[override]
    def capabilities(self) -> Capabilities:
        return replace(self.inner.capabilities, max_text_chars=self.limit)

    def __repr__(self) -> str:
        return f"LimitedEngine({self.inner!r}, limit={self.limit})"

    # -- synthesis -----------------------------------------------------------------------------

    def pieces(self, text: str) -> list[str]:
        """The pieces `text` is spoken in (`[text]` when it fits)."""
        return split_text(text, self.limit)

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak the text, piece by piece when it is longer than the limit; a target is shared among the pieces."""
        text, target_ms = request.text, request.target_ms
        pieces = self.pieces(text)
        if len(pieces) == 1:
            return self.inner.synthesize(request)
        if target_ms is not None and target_ms <= 0:
            raise UsageError(f"target must be positive, got {target_ms} ms", engine=self.name)
        naturals = [self._speak_natural(replace(request, text=piece, target_ms=None)) for piece in pieces]
        if target_ms is None:
            return self._join(naturals, self._pause(naturals, request.rate), text)
        pause = self._pause(naturals, request.rate)
        shares = self._shares(naturals, target_ms, pause)
        takes = [self.inner.synthesize(replace(request, text=piece, target_ms=share))
                 for piece, share in zip(pieces, shares)]
        return self._join(takes, pause, text)

    def plan(self, request: SynthesisRequest) -> Timing | None:
        """The wrapped engine's plan for a line that fits; none for a longer one (its pieces need their natural takes)."""
        return self.inner.plan(request) if len(self.pieces(request.text)) == 1 else None

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Speak the text with exactly `frames` per symbol, split back at the joins for a text over the limit."""
        text = request.text
        pieces = self.pieces(text)
        if len(pieces) == 1:
            return self.inner.synthesize_frames(request, frames)
        naturals = [self._natural(replace(request, text=piece)) for piece in pieces]
        frame_samples = {natural.frame_samples for natural in naturals}
        if any(natural.durations is None for natural in naturals) or len(frame_samples) != 1:
            raise SynthesisError(f"engine {self.name!r} gave no common frame durations for the pieces of {text!r}, "
                                 f"so frames for the whole line cannot be split among them",
                                 engine=self.name, text=text)
        phonemes = " ".join(natural.phonemes for natural in naturals)
        frames = self.inner.check_frames(text, phonemes, frames)
        piece_frames, pauses = split_frames(frames, [natural.durations for natural in naturals])
        step = frame_samples.pop()
        takes = [self.inner.synthesize_frames(replace(request, text=piece), own)
                 for piece, own in zip(pieces, piece_frames)]
        exact = all(take.durations is not None and take.frame_samples == step
                    and take.n_samples == int(own.sum()) * step for take, own in zip(takes, piece_frames))
        joined = self._concatenate(takes, [pause * step for pause in pauses], text)
        joined.durations = frames if exact else None
        joined.frame_samples = step if exact else None
        return joined

    # -- pieces --------------------------------------------------------------------------------

    def _speak_natural(self, piece: SynthesisRequest) -> Take:
        """Speak a piece (no target) at its rate; remember a natural take's frames for `synthesize_frames`."""
        take = self.inner.synthesize(piece)
        if piece.rate == 1.0:
            self._remember(piece, _natural_of(take))
        return take

    def _natural(self, piece: SynthesisRequest) -> _Natural:
        """The natural frames of a piece: those of its natural take last spoken (the fitter's), else a new one's."""
        natural = replace(piece, target_ms=None, rate=1.0)
        try:
            with self._lock:
                found = self._naturals.get(natural)
        except TypeError:  # a reference or emotion that cannot be a key
            found = None
        return found or _natural_of(self._speak_natural(natural))

    def _remember(self, key: SynthesisRequest, natural: _Natural) -> None:
        try:
            hash(key)
        except TypeError:
            return
        with self._lock:
            self._naturals.pop(key, None)
            self._naturals[key] = natural
            while len(self._naturals) > NATURAL_CACHE:
                self._naturals.popitem(last=False)

    def _pause(self, takes: list[Take], rate: float) -> int:
        """The pause between pieces in samples: a whole number of frames when the takes have frames."""
        pause_ms = round(self.pause_ms / rate)  # a faster speaker pauses shorter
        step = _common_frames(takes)
        if step is None:
            return ms_to_samples(pause_ms, takes[0].sample_rate)
        return round(pause_ms * takes[0].sample_rate / (1000 * step)) * step

    def _shares(self, naturals: list[Take], target_ms: int, pause: int) -> list[int]:
        """Each piece's target in ms: the target less the joins, in proportion to the pieces' natural speech."""
        sample_rate = _common_rate(naturals, self.name)
        step = _common_frames(naturals)
        if step is not None:
            # In frames, as the engine counts them: a target covers the symbols, the joins keep their silence.
            want = (target_ms * sample_rate + 500 * step) // (1000 * step)
            joins = sum(int(a.durations[-1]) + int(b.durations[0]) for a, b in zip(naturals, naturals[1:]))
            speech = [int(take.durations[1:-1].sum()) for take in naturals]
            free = want - joins - (len(naturals) - 1) * pause // step
            shares = _share_out(free, speech)
            return [max(1, (share * step * 1000 + sample_rate // 2) // sample_rate) for share in shares]
        spans = [speech_span(take.samples, take.sample_rate) for take in naturals]
        if any(span is None for span in spans):
            raise SynthesisError(f"engine {self.name!r} returned silence for a piece of a long line",
                                 engine=self.name)
        joins = sum(a.n_samples - sa.end + sb.start for a, sa, sb in zip(naturals, spans, spans[1:]))
        free = ms_to_samples(target_ms, sample_rate) - joins - (len(naturals) - 1) * pause
        shares = _share_out(free, [span.length for span in spans])
        return [max(1, samples_to_ms(share, sample_rate)) for share in shares]

    def _join(self, takes: list[Take], pause: int, text: str) -> Take:
        """Join the pieces' takes with `pause` samples between them, and their durations when all have frames."""
        joined = self._concatenate(takes, [pause] * (len(takes) - 1), text)
        step = _common_frames(takes)
        if step is not None and pause % step == 0:
            joined.durations = join_durations([take.durations for take in takes], pause // step)
            joined.frame_samples = step
        return joined

    def _concatenate(self, takes: list[Take], pauses: list[int], text: str) -> Take:
        """Join the takes' samples with the pauses (in samples) between them; the first take names the rest."""
        sample_rate = _common_rate(takes, self.name, text)
        parts = [takes[0].samples]
        for pause, take in zip(pauses, takes[1:]):
            parts += [np.zeros(pause, dtype=np.float32), take.samples]
        first = takes[0]
        return Take(np.concatenate(parts), sample_rate, " ".join(take.phonemes for take in takes), engine=first.engine,
                    voice=first.voice, seed=first.seed, rate=first.rate)


def split_frames(frames: np.ndarray, natural: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """Undo `join_durations`: return each piece's frames and the pause frames at each join.

    `natural` holds each piece's natural durations. A join's entry keeps the trailing silence of
    the piece before and the leading silence of the piece after as they were naturally; the pause
    takes the rest. When the entry is too short the pause gives way first, then the leading
    silence, then the trailing one (each down to one frame while there are frames to give).
    """
    frames = np.asarray(frames, dtype=np.int64)
    pieces: list[np.ndarray] = []
    pauses: list[int] = []
    pos = 0  # the entry before the current piece's symbols: the line's lead, or a join
    lead = int(frames[0])
    for index, durations in enumerate(natural):
        symbols = len(durations) - 2
        own = np.empty(symbols + 2, dtype=np.int64)
        own[0] = lead
        own[1:-1] = frames[pos + 1:pos + 1 + symbols]
        pos += 1 + symbols
        if index == len(natural) - 1:
            own[-1] = frames[pos]
        else:
            trail, lead, pause = _split_join(int(frames[pos]), int(durations[-1]), int(natural[index + 1][0]))
            own[-1] = trail
            pauses.append(pause)
        pieces.append(own.astype(np.int32))
    if pos != len(frames) - 1:
        raise ValueError(f"{len(frames)} frames do not lay out pieces of {[len(d) - 2 for d in natural]} symbols")
    return pieces, pauses


def _split_join(total: int, trail: int, lead: int) -> tuple[int, int, int]:
    """Share a join's frames: natural trailing and leading silence, the pause the rest (it gives way first)."""
    pause = total - trail - lead
    if pause >= 0:
        return trail, lead, pause
    # Too short for both silences: the leading one gives way, then the trailing one, down to a frame each.
    lead_floor, trail_floor = min(lead, 1), min(trail, 1)
    lead = max(lead_floor, total - trail)
    trail = total - lead
    if trail < trail_floor:
        trail = min(trail_floor, total)
        lead = total - trail
    return trail, lead, 0


def join_durations(durations: list[np.ndarray], pause: int) -> np.ndarray:
    """Lay pieces' durations out over their joined phonemes: each join holds trail + `pause` + lead."""
    out = [int(durations[0][0])]
    for index, own in enumerate(durations):
        out += [int(v) for v in own[1:-1]]
        if index < len(durations) - 1:
            out.append(int(own[-1]) + pause + int(durations[index + 1][0]))
    out.append(int(durations[-1][-1]))
    return np.asarray(out, dtype=np.int32)


def _share_out(total: int, weights: list[int]) -> list[int]:
    """Split `total` (at least one per part) in proportion to `weights`, by largest remainder."""
    parts = len(weights)
    total = max(total, parts)
    weight = np.maximum(np.asarray(weights, dtype=np.float64), 1e-9)
    exact = total * weight / weight.sum()
    shares = np.maximum(np.floor(exact).astype(np.int64), 1)
    short = total - int(shares.sum())
    for index in np.argsort(-(exact - np.floor(exact)), kind="stable")[:max(short, 0)]:
        shares[index] += 1
    return [int(share) for share in shares]


def _common_frames(takes: list[Take]) -> int | None:
    """The frame size every take's durations share, or None when one has none (or they differ)."""
    steps = {take.frame_samples for take in takes}
    if len(steps) != 1 or None in steps or any(take.durations is None for take in takes):
        return None
    step = steps.pop()
    if any(len(take.durations) != len(take.phonemes) + 2 or int(np.sum(take.durations)) * step != take.n_samples
           for take in takes):
        return None  # durations not in the Take layout: cannot be joined frame-exactly
    return step


def _common_rate(takes: list[Take], engine: str = "", text: str = "") -> int:
    rates = {take.sample_rate for take in takes}
    if len(rates) != 1:
        raise SynthesisError(f"engine {engine!r} answered the pieces of {text!r} at different sample rates "
                             f"({', '.join(str(r) for r in sorted(rates))} Hz)", engine=engine, text=text)
    return rates.pop()


def limit_engine(engine: Engine, settings: EngineSettings | None = None) -> Engine:
    """Return `engine` wrapped to keep within its text limit, or `engine` itself when it has none.

    The limit is `max_chars` from the engine's `[engines.NAME]` table (`dubber.config.EngineSettings`)
    when set there, else the `max_text_chars` its capabilities declare (0: none).
    """
    inner = engine.inner if isinstance(engine, LimitedEngine) else engine
    limit = engine.capabilities.max_text_chars
    value = settings.max_chars() if settings is not None else None
    if value is not None:
        limit = value
    if not limit:
        return engine
    if isinstance(engine, LimitedEngine) and engine.limit == limit:
        return engine
    return LimitedEngine(inner, limit)
