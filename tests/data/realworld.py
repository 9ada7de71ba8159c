"""A corpus of subtitle files shaped like real ones, over original tracks whose speech is known.

The original speech is Japanese from the built-in Kokoro voices; the subtitles are its English
translation, timed the way subtitlers time display windows: the in-time a little before the speech
(or a frame late), held for reading time (a minimum duration), chained to the next cue two frames
before it when the gap is short. The files carry what real files carry: sound descriptions and
lyrics over sound effects and music, on-screen signs, karaoke and comments, styles as speakers,
dashed two-speaker cues, a line both speakers say at once, untranslated lines, mojibake, an ad,
a 20 ms and a 220 ms cue, and cues past the video's end. One file lays a music bed under its speech.

`build(folder, clips)` writes them and returns, for each file, every cue with what it must become:
spoken (with the original speech span it must start on) or not (and why). The tests and
bench/sync.py dub them and measure the output files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.audio.samples import ms_to_samples, resample, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.plugin.engine import SynthesisRequest

RATE = 48000
FRAME_MS = 42  # a frame at 24 fps: subtitlers leave two between chained cues
MIN_DISPLAY_MS = 1500  # the shortest a subtitle is held on screen for reading
CHAIN_MS = 700  # cues closer than this are chained: the first held until two frames before the next
VIDEO_SIZE, VIDEO_FPS = "64x36", 5

# The original lines (Japanese, spoken by Kokoro) and their English translations.
ORIGINAL = [
    ("遅いよ、何してたの？", "You're late. What were you doing?", "jf_alpha"),
    ("待ったぞ。早く行こう。", "I waited for you. Let's go.", "jm_kumo"),
    ("今日はいい天気ですね。", "Lovely weather today.", "jf_alpha"),
    ("ちょっと待って！", "Wait a second!", "jf_alpha"),
    ("ごめんなさい。", "I'm sorry.", "jf_alpha"),
    ("本当にそう思うの？", "Do you really think so?", "jm_kumo"),
    ("窓を開けてください。", "Open the window.", "jf_alpha"),
    ("ドアを閉めて。", "Close the door.", "jm_kumo"),
    ("足元に気をつけて。", "Mind the step.", "jf_alpha"),
    ("ありがとう、助かったよ。", "Thanks, that helped.", "jm_kumo"),
    ("え？", "Huh?", "jf_alpha"),
    ("そうだね。", "That's right.", "jm_kumo"),
    ("もう時間がないんだ、急がないと。", "We're out of time. We must hurry.", "jm_kumo"),
    ("どこへ行くつもり？", "Where are you going?", "jf_alpha"),
    ("大丈夫、心配しないで。", "It's fine, don't worry.", "jm_kumo"),
    ("はい。", "Yes.", "jf_alpha"),
]


def original_clips() -> list[np.ndarray]:
    """Speak every original line with Kokoro: 48 kHz mono clips, 20 ms of silence either side of the speech."""
    from dubber.plugin.registry import get_engine

    engine = get_engine("kokoro")
    clips = []
    for text, _, voice in ORIGINAL:
        take = engine.synthesize(SynthesisRequest(text, "ja", voice))
        audio = resample(take.samples, take.sample_rate, RATE)
        span = speech_span(audio, RATE)
        pad = ms_to_samples(20, RATE)
        clips.append(0.8 * audio[max(span.start - pad, 0):span.end + pad])
    return clips


@dataclass
class Expected:
    """One cue of a corpus file and what the dub must make of it."""

    text: str  # as written in the file (before cleaning)
    start_ms: int
    end_ms: int
    speech: tuple[int, int] | None = None  # the original speech it follows; None: spoken over none
    skip: str = ""  # the dubber.subtitles.cue SKIP_* kind when it must not be spoken

    @property
    def spoken(self) -> bool:
        return not self.skip


@dataclass
class CorpusFile:
    """A video with its original track and one subtitle file over it."""

    name: str
    video: Path
    subtitles: Path
    duration_ms: int
    cues: list[Expected] = field(default_factory=list)
    speech: list[tuple[int, int]] = field(default_factory=list)  # every original speech span on the track


class _Track:
    """An original soundtrack laid out event by event, remembering where each clip's speech is."""

    def __init__(self, clips: list[np.ndarray], seed: int) -> None:
        self.clips, self.rng = clips, random.Random(seed)
        self.t = 800  # ms: the first event starts here
        self.parts: list[tuple[int, np.ndarray]] = []
        self.speech: list[tuple[int, int]] = []

    def say(self, clip: int, gap_ms: int | None = None) -> tuple[int, int]:
        """Lay a clip down after a pause; return its speech span (ms)."""
        self.t += self.rng.randint(500, 1400) if gap_ms is None else gap_ms
        audio = self.clips[clip]
        span = speech_span(audio, RATE)
        self.parts.append((self.t, audio))
        where = (self.t + samples_to_ms(span.start, RATE), self.t + samples_to_ms(span.end, RATE))
        self.speech.append(where)
        self.t += samples_to_ms(audio.size, RATE)
        return where

    def sound(self, kind: str, ms: int, gap_ms: int = 1200) -> tuple[int, int]:
        """Lay a sound that is not speech (a door slam, a melody) after a pause; return where it is."""
        self.t += gap_ms
        n = ms_to_samples(ms, RATE)
        t = np.arange(n) / RATE
        if kind == "slam":
            audio = np.random.default_rng(len(self.parts)).standard_normal(n) * np.exp(-t * 18) * 0.5
        else:  # a melody of pure tones, a note every 250 ms
            notes = 440 * 2 ** (np.array([0, 4, 7, 12, 7, 4]) / 12)
            audio = 0.08 * np.sin(2 * np.pi * notes[(t * 4).astype(int) % len(notes)] * t)
        self.parts.append((self.t, audio.astype(np.float32)))
        where = (self.t, self.t + ms)
        self.t += ms
        return where

    def render(self, tail_ms: int = 1500, bed_db: float | None = None) -> tuple[np.ndarray, int]:
        """The track: every part added at its place, room tone, and a music bed `bed_db` under the speech."""
        total = self.t + tail_ms
        track = np.zeros(ms_to_samples(total, RATE), np.float32)
        for at, audio in self.parts:
            s = ms_to_samples(at, RATE)
            track[s:s + audio.size] += audio[:track.size - s]
        track += 0.002 * np.random.default_rng(1).standard_normal(track.size).astype(np.float32)
        if bed_db is not None:
            track += _bed(track.size, bed_db)
        return track, total


def _bed(n: int, level_db: float) -> np.ndarray:
    """A music bed: slow chords of a few partials, breathing in level, at `level_db` dBFS RMS."""
    t = np.arange(n) / RATE
    chords = [(110, 138.6, 164.8), (98, 123.5, 146.8), (87.3, 110, 130.8), (98, 123.5, 146.8)]
    which = (t // 2.0).astype(int) % len(chords)
    x = np.zeros(n)
    for k in range(3):
        freq = np.array([c[k] for c in chords])[which]
        for harmonic in (1, 2, 3):
            x += np.sin(2 * np.pi * freq * harmonic * t + k) / harmonic
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.2 * t)
    x /= np.sqrt(np.mean(x ** 2))
    return (x * 10 ** (level_db / 20)).astype(np.float32)


def _windows(spans: list[tuple[int, int]], rng: random.Random) -> list[tuple[int, int]]:
    """Display windows for speech spans, padded as subtitlers pad them."""
    starts = [max(s - rng.choice((0, 40, 80, 120, -40)), 0) for s, _ in spans]
    windows = []
    for i, (s, e) in enumerate(spans):
        end = max(e + rng.randint(150, 450), starts[i] + MIN_DISPLAY_MS)
        if i + 1 < len(spans):
            nxt = starts[i + 1]
            if nxt - end < CHAIN_MS:
                end = nxt - 2 * FRAME_MS
            end = min(end, nxt - 2 * FRAME_MS)
        windows.append((starts[i], end))
    return windows


def _srt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _vtt_time(ms: int) -> str:
    return _srt_time(ms).replace(",", ".")


def _ass_time(ms: int) -> str:
    cs = ms // 10
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _write_srt(path: Path, cues: list[Expected], encoding: str = "utf-8") -> None:
    blocks = [f"{i}\n{_srt_time(c.start_ms)} --> {_srt_time(c.end_ms)}\n{c.text}\n" for i, c in enumerate(cues, 1)]
    path.write_text("\n".join(blocks), encoding=encoding)


def _video(folder: Path, name: str, track: _Track, bed_db: float | None = None) -> tuple[Path, int]:
    audio, total = track.render(bed_db=bed_db)
    return media.make_test_video(folder / f"{name}.mp4", total, audio, RATE, size=VIDEO_SIZE, fps=VIDEO_FPS), total


def _srt_file(folder: Path, name: str, track: _Track, cues: list[Expected], bed_db: float | None = None,
              after_end: tuple[tuple[str, int, int], ...] = ()) -> CorpusFile:
    """Write the video and an SRT of `cues` (and of cues `after_end` ms past the video's end)."""
    video, total = _video(folder, name, track, bed_db)
    cues = [*cues, *(Expected(text, total + a, total + b, skip="past-end") for text, a, b in after_end)]
    path = folder / f"{name}.en.srt"
    _write_srt(path, cues)
    return CorpusFile(name, video, path, total, cues, track.speech)


def _dialogue(track: _Track, lines: list[tuple[int, str]], rng: random.Random) -> list[Expected]:
    """Speak each (clip, text) and time its cue as a subtitler would."""
    spans = [track.say(clip) for clip, _ in lines]
    return [Expected(text, s, e, span) for (_, text), (s, e), span in zip(lines, _windows(spans, rng), spans)]


def open_movie(folder: Path, clips: list[np.ndarray]) -> CorpusFile:
    """An open-movie SRT: padded and chained cues over speech with a music bed under it."""
    rng = random.Random(11)
    track = _Track(clips, 11)
    lines = [(6, "Open the window."), (7, "Close the door."), (8, "Mind the step."), (2, "Lovely weather today."),
             (13, "Where are you going?"), (12, "We're out of time. We must hurry."), (4, "I'm sorry."),
             (14, "It's fine, don't worry."), (9, "Thanks, that helped."), (3, "Wait a second!")]
    return _srt_file(folder, "open-movie", track, _dialogue(track, lines, rng), bed_db=-38.0)


def sdh(folder: Path, clips: list[np.ndarray]) -> CorpusFile:
    """Subtitles for the deaf and hard of hearing: descriptions, lyrics, a speaker label, mojibake, an ad."""
    rng = random.Random(12)
    track = _Track(clips, 12)
    cues = [Expected("[door slams]", *track.sound("slam", 400, gap_ms=300), skip="sound")]
    cues[-1].end_ms = cues[-1].start_ms + 1500
    cues += _dialogue(track, [(3, "Wait a second!"), (5, "[sighs] Do you really think so?"),
                              (7, "MAN: Close the door.")], rng)
    start, _ = track.sound("melody", 2500)
    cues.append(Expected("♪ The night is young ♪", start, start + 2400, skip="lyrics"))
    laugh = track.sound("slam", 300)
    cues.append(Expected("<i>Laughs</i>", laugh[0], laugh[0] + 1200, skip="sound"))
    # A cp1252 editor saved the curly apostrophe as UTF-8 bytes read back as cp1252.
    mangled = "You’re late. What were you doing?".encode("utf-8").decode("cp1252")
    cues += _dialogue(track, [(0, mangled), (4, "I'm sorry.")], rng)
    track.t += 1500
    cues.append(Expected("Downloaded From www.example-subs.org", track.t, track.t + 2500, skip="credit"))
    track.t += 2500
    return _srt_file(folder, "sdh", track, cues)


ASS_HEAD = """[Script Info]
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1
Style: Aiko,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1
Style: Kenji,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1
Style: Sign,Arial,18,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,8,10,10,10,1
Style: OP,Arial,18,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,8,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def fansub(folder: Path, clips: list[np.ndarray]) -> CorpusFile:
    """A fansub ASS: styles as speakers, a sign, karaoke, a comment, a dashed cue, a line said together."""
    rng = random.Random(13)
    track = _Track(clips, 13)
    events: list[tuple[str, str, Expected]] = []  # (kind, style, cue)
    a = _dialogue(track, [(0, "You're late. What were you doing?")], rng)[0]
    events.append(("Dialogue", "Aiko", a))
    events.append(("Dialogue", "Sign", Expected("{\\pos(320,40)}Harbour Station", a.start_ms, a.end_ms, skip="sign")))
    b = _dialogue(track, [(1, "I waited for you. Let's go.")], rng)[0]
    events.append(("Dialogue", "Kenji", b))
    huh = track.say(10)
    right = track.say(11, gap_ms=450)
    dashed = _windows([(huh[0], right[1])], rng)[0]
    turns = [Expected("Huh?", *dashed, huh), Expected("That's right.", *dashed, right)]
    events.append(("Dialogue", "Default", Expected("- Huh?\\N- That's right.", *dashed)))
    start, _ = track.sound("melody", 2500)
    events.append(("Dialogue", "OP", Expected("{\\k25}Ka{\\k25}ze {\\k50}no {\\k40}u{\\k40}ta", start, start + 2400,
                                                skip="sign")))
    together = track.say(15)
    window = _windows([together], rng)[0]
    events.append(("Dialogue", "Aiko", Expected("Yes!", *window, together)))
    events.append(("Dialogue", "Kenji", Expected("Yes!", *window, skip="duplicate")))
    events.append(("Comment", "Default", Expected("TL note: this is a pun", *window, skip="comment")))
    c = _dialogue(track, [(13, "Where are you going?")], rng)[0]
    events.append(("Dialogue", "Aiko", c))
    video, total = _video(folder, "fansub", track)
    path = folder / "fansub.en.ass"
    body = "".join(f"{kind}: 0,{_ass_time(e.start_ms)},{_ass_time(e.end_ms)},{style},,0,0,0,,{e.text}\n"
                   for kind, style, e in events)
    path.write_text(ASS_HEAD + body, encoding="utf-8")
    # The dashed cue is one event of the file holding two lines; times in ASS are centiseconds.
    cues = [e for kind, _, e in events if kind == "Dialogue" and not e.text.startswith("- ")]
    cues[3:3] = turns
    for cue in cues:
        cue.start_ms, cue.end_ms = cue.start_ms // 10 * 10, cue.end_ms // 10 * 10
    return CorpusFile("fansub", video, path, total, cues, track.speech)


def voices(folder: Path, clips: list[np.ndarray]) -> CorpusFile:
    """A WebVTT file with <v> voices and a [music] cue."""
    rng = random.Random(14)
    track = _Track(clips, 14)
    spoken = _dialogue(track, [(5, "<v Kenji>Do you really think so?"), (2, "<v Aiko>Lovely weather today."),
                               (9, "<v Kenji>Thanks, that helped.")], rng)
    start, _ = track.sound("melody", 2000)
    music = Expected("[music]", start, start + 2000, skip="sound")
    more = _dialogue(track, [(8, "<v Aiko>Mind the step."), (1, "<v Kenji>I waited for you. Let's go.")], rng)
    cues = [*spoken, music, *more]
    video, total = _video(folder, "voices", track)
    path = folder / "voices.en.vtt"
    path.write_text("WEBVTT\n\n" + "\n".join(f"{_vtt_time(c.start_ms)} --> {_vtt_time(c.end_ms)}\n{c.text}\n"
                                             for c in cues), encoding="utf-8")
    return CorpusFile("voices", video, path, total, cues, track.speech)


def half_translated(folder: Path, clips: list[np.ndarray]) -> CorpusFile:
    """A translation left half done: some cues still hold the Japanese."""
    rng = random.Random(15)
    track = _Track(clips, 15)
    picks = [0, 12, 5, 14, 13, 9, 6, 2]
    cues = _dialogue(track, [(i, ORIGINAL[i][1] if k % 2 == 0 else ORIGINAL[i][0]) for k, i in enumerate(picks)], rng)
    for k, cue in enumerate(cues):
        if k % 2:
            cue.skip = "language"
    return _srt_file(folder, "half", track, cues)


def edges(folder: Path, clips: list[np.ndarray]) -> CorpusFile:
    """Impossible cues: 220 ms and 20 ms cues over longer speech, and cues past the video's end."""
    rng = random.Random(16)
    track = _Track(clips, 16)
    first = _dialogue(track, [(6, "Open the window.")], rng)
    step = track.say(8)
    short = Expected("Mind the step.", step[0] - 40, step[0] + 180, step)
    nxt = track.say(7, gap_ms=350)
    huh = track.say(10)
    tiny = Expected("Huh?", huh[0] + 30, huh[0] + 50, huh)
    last = _dialogue(track, [(9, "Thanks, that helped.")], rng)
    close = Expected("Close the door.", nxt[0] - 40, huh[0] - 500, nxt)
    return _srt_file(folder, "edges", track, [*first, short, close, tiny, *last],
                     after_end=(("This is after the end.", 1000, 2500), ("So is this.", 3000, 4000)))


BUILDERS = (open_movie, sdh, fansub, voices, half_translated, edges)


def build(folder: Path, clips: list[np.ndarray]) -> list[CorpusFile]:
    """Write every corpus file (video, original track, subtitles) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return [make(folder, clips) for make in BUILDERS]
