"""A line's timing checks in an editor's words, with the fixes that would help it.

What is wrong: its speech overlaps a neighbour's, it starts after the video ends (not spoken) or runs
past it (its speech must end with the video), it is not spoken and why, or it cannot fit its window
(with the numbers measured on its take). What helps a line that cannot fit, each offered only where
it would do something:

- borrow the gap: only when there is silence after its slot before the next line, and how much;
- allow the bounded stretch (dubber.fitting.fitter, step 6): only when the speed it needs is within
  that bound (alone, or once the gap is borrowed);
- shorten the text (dubber.text.shorten): only for English text with something the rules can cut.

`line_checks` is what the panel's "Timing checks" box and the table's tooltip say; `timeline_marks`
is where the strip shows them. Both only read the session. `cannot_fit_hint` says the same of a whole
dub's report, for `dubber dub`'s summary.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from dubber.fitting.fitter import STATUS_TOO_LONG, STATUS_TOO_SHORT, FitPolicy
from dubber.fitting.report import LineReport
from dubber.fitting.slots import GUARD_MS, OVERRUN_MS
from dubber.pipeline.session import STALE, Session
from dubber.project.store import LineEntry, TakeRecord
from dubber.subtitles.cue import SKIP_PAST_END, show_time
from dubber.text.shorten import shorten

# What is wrong.
OVERLAPS, PAST_END, RUNS_PAST_END, NOT_SPOKEN, CANNOT_FIT = "overlap", "past-end", "runs-past-end", "not-spoken", \
    "cannot-fit"
# What helps.
BORROW, STRETCH, SHORTEN = "borrow", "stretch", "shorten"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a line's timing, in words, and where on the timeline it lies (ms)."""

    kind: str
    words: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Fix:
    """One action that would help a line that cannot fit."""

    kind: str  # BORROW, STRETCH or SHORTEN
    label: str  # the button: "Borrow the gap (+600 ms)"
    words: str  # what it does, and whether it is enough
    gap_ms: int = 0  # BORROW: the silence it would take
    proposal: str = ""  # SHORTEN: the shorter text, for the editor to review


@dataclass(frozen=True)
class TimingChecks:
    """A line's problems and the fixes that apply to them."""

    index: int
    problems: tuple[Problem, ...] = ()
    fixes: tuple[Fix, ...] = ()

    @property
    def words(self) -> str:
        """Every problem, one a line ('' when none), then what helps."""
        return "\n".join([p.words for p in self.problems] + [f"{f.label}: {f.words}" for f in self.fixes])

    def fix(self, kind: str) -> Fix | None:
        return next((f for f in self.fixes if f.kind == kind), None)


@dataclass(frozen=True)
class _Fitting:
    """What a take that cannot fit measured: its natural length, the room it had, the rung it reached."""

    natural_ms: int
    room_ms: int  # the window (or, filling its cue, the cue's length)
    rung: float  # the fastest (too long) or slowest (too short) rate the fitter may speak it at
    too_long: bool

    @property
    def ratio(self) -> float:
        return self.natural_ms / self.room_ms


def line_checks(session: Session, line: LineEntry) -> TimingChecks:
    """What is wrong with `line`'s timing as it stands in `session`, and what would help."""
    problems, fitting = _problems(session, line)
    return TimingChecks(line.index, problems, tuple(_fixes(session, line, fitting)) if fitting is not None else ())


def timeline_marks(session: Session) -> list[tuple[int, Problem]]:
    """Every line's problems, (line index, problem), in timeline order: what the strip marks, where. The fixes
    are not worked out: they replan a line's slot, and the strip asks after every edit."""
    marks = [(line.index, problem) for line in session.project.lines for problem in _problems(session, line)[0]]
    return sorted(marks, key=lambda mark: (mark[1].start_ms, mark[0]))


def _problems(session: Session, line: LineEntry) -> tuple[tuple[Problem, ...], _Fitting | None]:
    """What is wrong with `line`'s timing, and, when it cannot fit, the numbers its fixes are weighed by."""
    if not line.spoken:
        return (_not_spoken(line),), None
    problems: list[Problem] = []
    video_ms = session.video_ms
    if video_ms is not None and line.end_ms > video_ms:
        problems.append(Problem(RUNS_PAST_END, f"Its cue runs {_s(line.end_ms - video_ms)} past the video's end "
                                               f"({show_time(video_ms)}): its speech must end with the video.",
                                video_ms, line.end_ms))
    crossing = session.overlap(line)
    if crossing:
        spans = session.spans()
        other = _crossed(spans, line.index)
        start, end = spans[line.index]
        if other is not None:
            start, end = max(start, spans[other][0]), min(end, spans[other][1])
        problems.append(Problem(OVERLAPS, f"{crossing[0].upper()}{crossing[1:]}: two voices at once.", start, end))
    fitting = _fitting(session, line)
    if fitting is None:
        return tuple(problems), None
    slot = session.slots()[line.index]
    take = line.take
    assert take is not None
    end = slot.onset_ms + (take.speech_ms or 0)
    problems.append(Problem(CANNOT_FIT, _cannot_fit_words(fitting, take), min(slot.end_ms, end),
                            max(slot.end_ms, end)))
    return tuple(problems), fitting


def cannot_fit_hint(lines: list[LineReport], policy: FitPolicy, lang: str) -> str:
    """One sentence on a dub's lines too long for their windows: how many `--borrow-gap` would fit, and
    what the panel offers the rest; '' when every line fits."""
    onsets = sorted({line.onset_ms for line in lines if line.onset_ms is not None})
    long = [line for line in lines if line.status == STATUS_TOO_LONG and line.natural_ms and line.onset_ms is not None
            and line.window_end_ms is not None]
    if not long:
        return ""
    stretched = policy.for_line(allow_stretch=True)
    borrow = stretch = cut = 0
    for line in long:
        assert line.natural_ms is not None and line.onset_ms is not None and line.window_end_ms is not None
        native = line.method.startswith("native")
        rung = policy.native_max_ratio if native else policy.max_ratio
        room = (line.target_ms or 0) + line.borrowed_ms if line.sync == "fill" else line.window_end_ms - line.onset_ms
        later = [onset for onset in onsets if onset > line.onset_ms]
        wide = later[0] - GUARD_MS - line.onset_ms if later and not policy.borrow_gap else 0
        ratio = line.natural_ms / max(room, 1)
        if wide > room and line.natural_ms / wide <= rung:
            borrow += 1
        elif ratio <= stretched.fastest(rung):
            stretch += 1
        elif shorten(line.text, line.lang or lang, ratio, rung).cut:
            cut += 1
    said = [f"{len(long)} lines cannot fit their windows" if len(long) > 1 else "1 line cannot fit its window"]
    if borrow:
        said.append(f"--borrow-gap would fit {borrow} of them")
    panel = [f"the bounded stretch for {stretch}" if stretch else "", f"a shorter text for {cut}" if cut else ""]
    if any(panel):
        said.append("the panel's timing checks offer " + " and ".join(filter(None, panel)))
    return "; ".join(said)


def _not_spoken(line: LineEntry) -> Problem:
    if line.skip == SKIP_PAST_END:
        return Problem(PAST_END, f"Past the video's end: it {line.skip_reason or 'starts after it'}; not spoken.",
                       line.start_ms, line.end_ms)
    return Problem(NOT_SPOKEN, f"Not spoken: {line.skip_reason or line.skip}.", line.start_ms, line.end_ms)


def _crossed(spans: dict[int, tuple[int, int]], index: int) -> int | None:
    """The line whose speech overlaps `index`'s most."""
    start, end = spans[index]
    best, most = None, 0
    for other, (o_start, o_end) in spans.items():
        ms = min(end, o_end) - max(start, o_start)
        if other != index and ms > most:
            best, most = other, ms
    return best


def _fitting(session: Session, line: LineEntry) -> _Fitting | None:
    """A take that could not reach its slot, with the numbers to say so; None when the line's take is not
    one (or is stale: its numbers are another slot's)."""
    take = line.take
    slot = session.slots().get(line.index)
    if take is None or slot is None or take.status not in (STATUS_TOO_LONG, STATUS_TOO_SHORT):
        return None
    if not take.natural_ms or session.status(line) == STALE:
        return None
    policy = session.options.policy.for_line(line.borrow_gap, line.allow_stretch)
    native = take.method.startswith("native")
    too_long = take.status == STATUS_TOO_LONG
    if too_long:
        rung = policy.fastest(policy.native_max_ratio if native else policy.max_ratio)
    else:
        rung = policy.slowest(policy.native_min_ratio if native else policy.min_ratio)
    room = (slot.target_ms or slot.window_ms) + take.borrowed_ms if slot.fill else slot.window_ms
    return _Fitting(take.natural_ms, max(room, 1), rung, too_long)


def _cannot_fit_words(fitting: _Fitting, take: TakeRecord) -> str:
    """'Cannot fit: needs 3.4 s, has 2.6 s: 1.31× too fast (the fastest allowed is ×1.25).'"""
    need, room = _s(fitting.natural_ms), _s(fitting.room_ms)
    if fitting.too_long:
        over = (take.speech_ms or 0) - fitting.room_ms
        runs = f"; spoken at ×{fitting.rung:.2f} it still runs {over} ms over" if over > OVERRUN_MS else ""
        return (f"Cannot fit: needs {need}, has {room}: {fitting.ratio:.2f}× too fast "
                f"(the fastest allowed is ×{fitting.rung:.2f}){runs}.")
    return (f"Cannot fit: needs only {need}, must fill {room}: would be spoken at ×{fitting.ratio:.2f} "
            f"(the slowest allowed is ×{fitting.rung:.2f}).")


def _fixes(session: Session, line: LineEntry, fitting: _Fitting) -> list[Fix]:
    fixes = []
    gap = _gap(session, line) if fitting.too_long else 0
    if gap:
        after = fitting.natural_ms / (fitting.room_ms + gap)
        enough = "then it fits" if after <= fitting.rung else f"then it needs ×{after:.2f}: not enough alone"
        fixes.append(Fix(BORROW, f"Borrow the gap (+{gap} ms)",
                         f"run on {gap} ms into the silence after it, up to {GUARD_MS} ms before the next line: "
                         f"{enough}.", gap_ms=gap))
    stretch = _stretch(session, line, fitting, gap)
    if stretch is not None:
        fixes.append(stretch)
    if fitting.too_long:
        lang = line.lang or session.project.lang
        cut = shorten(line.text, lang, fitting.ratio, fitting.rung)
        if cut.cut:
            more = f"; cut about {cut.more} more words" if cut.more else ": then it fits"
            fixes.append(Fix(SHORTEN, "Shorten the text", f"cuts {cut.cut} words, “{cut.text}”{more}.",
                             proposal=cut.text))
    return fixes


def _gap(session: Session, line: LineEntry) -> int:
    """The silence after the line's slot it could borrow (ms), 0 when it borrows already or there is none."""
    if line.borrow_gap or session.options.policy.borrow_gap:
        return 0
    wider = copy.deepcopy(line)
    wider.borrow_gap = True
    return max(session.slot_for(wider).end_ms - session.slots()[line.index].end_ms, 0)


def _stretch(session: Session, line: LineEntry, fitting: _Fitting, gap: int) -> Fix | None:
    """Allow the bounded stretch, when the speed the line needs (alone, or with the gap) is within it."""
    if line.allow_stretch:
        return None
    policy: FitPolicy = session.options.policy.for_line(line.borrow_gap, True)
    label = "Allow the bounded stretch"
    if not fitting.too_long:
        slowest = policy.slowest(fitting.rung)
        if fitting.ratio >= slowest:
            return Fix(STRETCH, label, f"slow it by time-stretching to ×{fitting.ratio:.2f} "
                                       f"(allowed down to ×{slowest:.2f}).")
        return None
    fastest = policy.fastest(fitting.rung)
    if fitting.ratio <= fastest:
        return Fix(STRETCH, label, f"speed it up to ×{fitting.ratio:.2f} by time-stretching past ×{fitting.rung:.2f} "
                                   f"(allowed up to ×{fastest:.2f}).")
    with_gap = fitting.natural_ms / (fitting.room_ms + gap)
    if gap and with_gap <= fastest:
        return Fix(STRETCH, label, f"with the gap borrowed too, speed it up to ×{with_gap:.2f} "
                                   f"(allowed up to ×{fastest:.2f}).")
    return None


def _s(ms: int) -> str:
    return f"{ms / 1000:.1f} s"
