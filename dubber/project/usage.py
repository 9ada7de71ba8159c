"""Usage metering: tokens, audio and compute per line and per engine, counted the way hosted engines bill.

Every engine call is a request: a take records the calls the fitter made for it (the natural take
and each re-timed or re-rated one, `TakeRecord.requests`; one when not recorded), and a re-rolled
line is billed for every take. A request's tokens are counted from its text (`count_tokens`):

- each Han character is 1 token, and so is each other CJK character (kana, hangul);
- each word of another script is 1 token: a run of letters and digits, where an apostrophe or hyphen
  between two of them stays inside the word (`don't`, `e-mail`, `2024`, `iPhone15` are 1 each);
- each pinyin tag bracket is 1 token, besides the characters it follows: `好[h][ào]` is 1 + 2 = 3,
  `银行[yin2][hang2]` is 2 + 2 = 4;
- a phonetic override counts its words plus 1: `{New York|nuː jɔːk}` is 3 (the IPA is not counted);
- punctuation and spaces are free. A bracket that is not pinyin (`[laughs]`) is ordinary text, and
  text whose markup cannot be read is counted as plain text.

A line's emotion instruction (`LineEntry.emotion` of kind "text") is counted the same way and added
to every take's request. Audio is what each take produced: the length of its stored WAV, or its
measured speech length when the file is gone. Compute is the wall time the take took to render
(`TakeRecord.compute_ms`); takes made before dubber recorded it count 0 and are reported as unknown.
Times are integer milliseconds here; the CLI prints seconds.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dubber.config import Price
from dubber.project.store import LineEntry, Project, TakeRecord
from dubber.text.pronunciation import MarkupError, Phonetic, Pinyin, parse

MS_PER_HOUR = 3_600_000

# Han (with extensions A-F and the compatibility blocks), kana, hangul: one token per character.
_CJK = ("\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
        "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f")
_LETTER = rf"(?:(?![{_CJK}])[^\W_])"  # a letter or digit of a script that spaces its words
_TOKEN_RE = re.compile(rf"[{_CJK}]|{_LETTER}+(?:['’\-‐]{_LETTER}+)*")


def count_tokens(text: str) -> int:
    """Return how many tokens a hosted engine bills for `text` (rules in the module docstring)."""
    try:
        pieces = parse(text)
    except MarkupError:
        return _count_plain(text)
    total = 0
    for piece in pieces:
        if isinstance(piece, Pinyin):
            total += _count_plain(piece.chars) + piece.tags
        elif isinstance(piece, Phonetic):
            total += _count_plain(piece.word) + 1
        else:
            total += _count_plain(piece)
    return total


def _count_plain(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def emotion_tokens(line: LineEntry) -> int:
    """Tokens of the line's emotion instruction, sent with each of its requests (0 without one)."""
    emotion = line.emotion or {}
    return count_tokens(emotion.get("text") or "") if emotion.get("kind") == "text" else 0


@dataclass(frozen=True)
class TakeUsage:
    """One take's request: its engine, the tokens billed, the audio it produced and the time it took."""

    engine: str
    tokens: int
    audio_ms: int | None  # None: neither the WAV nor a measured speech length is known
    compute_ms: int | None  # None: not recorded (a take from before dubber measured it)


@dataclass
class LineUsage:
    """One line: its text's tokens now, and what all its takes were billed."""

    index: int
    text: str
    tokens: int  # the current text plus its emotion instruction: what one more take would cost
    takes: list[TakeUsage] = field(default_factory=list)

    @property
    def billed_tokens(self) -> int:
        return sum(t.tokens for t in self.takes)

    @property
    def audio_ms(self) -> int:
        return sum(t.audio_ms or 0 for t in self.takes)

    @property
    def compute_ms(self) -> int:
        return sum(t.compute_ms or 0 for t in self.takes)

    @property
    def compute_unknown(self) -> int:
        return sum(t.compute_ms is None for t in self.takes)

    @property
    def audio_unknown(self) -> int:
        return sum(t.audio_ms is None for t in self.takes)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text, "tokens": self.tokens, "takes": len(self.takes),
                "billed_tokens": self.billed_tokens, "audio_ms": self.audio_ms, "compute_ms": self.compute_ms,
                "compute_unknown": self.compute_unknown, "audio_unknown": self.audio_unknown}


@dataclass
class EngineUsage:
    """Totals over a set of takes: one engine's, or the whole project's."""

    engine: str
    takes: int = 0
    billed_tokens: int = 0
    audio_ms: int = 0
    compute_ms: int = 0
    compute_unknown: int = 0  # takes without a recorded compute time (counted as 0)
    audio_unknown: int = 0  # takes with neither audio nor a speech length (counted as 0)

    def add(self, take: TakeUsage) -> None:
        self.takes += 1
        self.billed_tokens += take.tokens
        self.audio_ms += take.audio_ms or 0
        self.compute_ms += take.compute_ms or 0
        self.compute_unknown += take.compute_ms is None
        self.audio_unknown += take.audio_ms is None


@dataclass
class ProjectUsage:
    """A project's usage: per line, per engine (by name) and in total."""

    lines: list[LineUsage]
    engines: dict[str, EngineUsage]
    total: EngineUsage

    @property
    def tokens(self) -> int:
        """Tokens of every line's current text: what rendering each line once more would bill."""
        return sum(line.tokens for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "total": asdict(self.total),
                "engines": {name: asdict(e) for name, e in self.engines.items()},
                "lines": [line.to_dict() for line in self.lines]}


def line_usage(line: LineEntry, project_dir: Path) -> LineUsage:
    """Meter one line: every engine call of every take is a request for the take's own text (the line's,
    when not recorded); a take that did not record its calls counts one."""
    extra = emotion_tokens(line)
    takes = [TakeUsage(take.engine, (count_tokens(take.text or line.text) + extra) * (take.requests or 1),
                       take_audio_ms(take, project_dir), take.compute_ms) for take in line.takes]
    return LineUsage(line.index, line.text, count_tokens(line.text) + extra, takes)


def take_audio_ms(take: TakeRecord, project_dir: Path) -> int | None:
    """The length of the audio a take produced: its stored WAV's, else its speech length, else None."""
    import soundfile

    if take.audio:
        try:
            info = soundfile.info(str(project_dir / take.audio))
        except (OSError, RuntimeError):  # gone or damaged: fall back to what was measured
            pass
        else:
            if info.samplerate > 0:
                return (info.frames * 1000 + info.samplerate // 2) // info.samplerate
    return take.speech_ms


def project_usage(project: Project, project_path: str | Path) -> ProjectUsage:
    """Meter every line of a project; take audio is read relative to the project file's folder."""
    folder = Path(project_path).parent
    lines = [line_usage(line, folder) for line in project.lines]
    engines: dict[str, EngineUsage] = {}
    total = EngineUsage("total")
    for line in lines:
        for take in line.takes:
            engines.setdefault(take.engine, EngineUsage(take.engine)).add(take)
            total.add(take)
    return ProjectUsage(lines, dict(sorted(engines.items())), total)


@dataclass(frozen=True)
class Cost:
    """An estimate: the cost per engine (None where the engine has no price) and their sum."""

    engines: dict[str, float | None]
    total: float
    unpriced: tuple[str, ...]  # engines used but not priced: counted as free
    lower_bound: tuple[str, ...]  # priced per hour of something some takes did not measure

    def to_dict(self) -> dict[str, Any]:
        return {"engines": self.engines, "total": self.total, "unpriced": list(self.unpriced),
                "lower_bound": list(self.lower_bound)}


def engine_cost(usage: EngineUsage, price: Price) -> float:
    """What `usage` costs at `price`."""
    return (usage.billed_tokens * price.per_million_tokens / 1_000_000
            + usage.audio_ms * price.per_audio_hour / MS_PER_HOUR
            + usage.compute_ms * price.per_compute_hour / MS_PER_HOUR)


def estimate_cost(usage: ProjectUsage, prices: dict[str, Price]) -> Cost:
    """Price each engine's usage; an engine without a price costs nothing and is named in `unpriced`."""
    costs: dict[str, float | None] = {}
    for name, engine in usage.engines.items():
        price = prices.get(name)
        costs[name] = engine_cost(engine, price) if price is not None else None
    lower = tuple(name for name, e in usage.engines.items() if name in prices and (
        e.compute_unknown and prices[name].per_compute_hour > 0 or e.audio_unknown and prices[name].per_audio_hour > 0))
    return Cost(costs, sum(c for c in costs.values() if c is not None),
                tuple(name for name, c in costs.items() if c is None), lower)
def usage_table(path: Path, usage: Any, cost: Any, config: Any, lines: bool) -> str:
    """The per-engine table (and with `lines`, the per-line one), then where the prices came from, as text."""
    out: list[str] = []
    total = usage.total
    out.append(f"{path}: {len(usage.lines)} lines, {total.takes} takes; one more take of every line: "
               f"{usage.tokens} tokens")
    out.append(f"{'engine':16} {'takes':>6} {'tokens':>8} {'audio s':>9} {'compute s':>10}  cost")
    priced = len(cost.unpriced) < len(usage.engines)
    rows = [(name, engine, cost.engines[name], name in cost.lower_bound) for name, engine in usage.engines.items()]
    rows.append(("total", total, cost.total if priced else None, bool(cost.lower_bound)))
    for name, engine, money, bound in rows:
        out.append(f"{name:16} {engine.takes:6} {engine.billed_tokens:8} "
                       f"{_measured(engine.audio_ms, engine.audio_unknown, engine.takes):>9} "
                       f"{_measured(engine.compute_ms, engine.compute_unknown, engine.takes):>10}  "
                       f"{'no price' if money is None else ('>=' if bound else '') + f'{money:.4f} {config.currency}'}")
    if lines:
        out.append("")
        out.append(f"{'line':>6} {'tokens':>6} {'takes':>6} {'billed':>7} {'audio s':>9} {'compute s':>10}  text")
        for line in usage.lines:
            text = " ".join(line.text.split())
            text = text if len(text) <= 40 else text[:39] + "…"
            out.append(f"{line.index:6} {line.tokens:6} {len(line.takes):6} {line.billed_tokens:7} "
                       f"{_measured(line.audio_ms, line.audio_unknown, len(line.takes)):>9} "
                       f"{_measured(line.compute_ms, line.compute_unknown, len(line.takes)):>10}  {text}")
    where = (f"{config.path} ({config.currency})" if config.prices else
             f"none ({config.path} has no [prices.ENGINE] table)" if config.found else
             f"none ({config.path} does not exist)")
    out.append(f"prices: {where}; tokens: Han/CJK characters, words and pinyin tags, 1 each")
    if cost.unpriced:
        out.append(f"no price for {', '.join(cost.unpriced)}: counted as free (local engines cost nothing unless "
                   f"priced under [prices.ENGINE] in the config)")
    if total.compute_unknown:
        out.append(f"compute time unknown for {_takes(total.compute_unknown)} (made before dubber recorded it): "
                   "counted as 0")
    if total.audio_unknown:
        out.append(f"audio length unknown for {_takes(total.audio_unknown)} (failed, or its audio is gone): counted as 0")
    return "\n".join(out)


def _measured(ms: int, unknown: int, takes: int) -> str:
    """Seconds summed over takes; '>=' where some takes lack the measure, 'unknown' where all do."""
    if takes and unknown == takes:
        return "unknown"
    return f"{'>=' if unknown else ''}{ms / 1000:.2f}"


def _takes(count: int) -> str:
    return f"{count} take{'s' if count != 1 else ''}"
