"""Usage metering: tokens counted by hand against the rules hosted engines bill by."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from dubber.audio.media import write_wav
from dubber.config import Price
from dubber.pipeline.dub import DubOptions, render_take
from dubber.project.store import LineEntry, SpeakerEntry, TakeRecord, load_project
from dubber.project.usage import count_tokens, estimate_cost, line_usage, project_usage
from dubber.subtitles.cue import Cue
from dubber.subtitles.speakers import UNNAMED
from dubber.voices.casting import SpeakerPlan
from tests.conftest import ToneEngine

# Every literal below is counted by hand from the texts in `write_usage_project`.
LINE_TEXT = {
    1: "她的爱好[h][ào]是银行[yin2][hang2]。",  # 她的爱 3 + 好 1 + 2 tags + 是 1 + 银行 2 + 2 tags = 11
    2: "{New York|nuː jɔːk} isn't far, e-mail me in 2024!",  # New York 2 + override 1 + 6 words = 9
    3: "我的iPhone15坏了, don't worry 😀",  # 我的 2 + iPhone15 1 + 坏了 2 + don't 1 + worry 1 = 7
    4: "こんにちは、世界",  # 5 kana + 2 Han = 7
    5: "[hao4] 好",  # a tag with no Han before it: unreadable markup, counted plain: hao4 1 + 好 1 = 2
}
EMOTION = "speak calmly, 温柔地"  # speak calmly 2 + 温柔地 3 = 5
STALE = "她很好。"  # 3


def _take(engine: str, **fields) -> dict:
    return {"seed": fields.pop("seed", 0), "engine": engine, "voice": "v", "status": "ok", "error_ms": 0,
            "speech_ms": fields.pop("speech_ms", None), **fields}


def write_usage_project(folder: Path) -> Path:
    """Write `talk.dubber.json` by hand, with its take WAVs, and return its path."""
    takes = folder / "talk.takes"
    write_wav(takes / "a.wav", np.zeros(12000, np.float32), 24000)  # 500 ms
    write_wav(takes / "b.wav", np.zeros(36000, np.float32), 24000)  # 1500 ms
    write_wav(takes / "c.wav", np.zeros((11025, 2), np.float32), 22050)  # 500 ms, stereo
    lines = [
        {"index": 1, "start_ms": 0, "end_ms": 2000, "text": LINE_TEXT[1], "speaker": "", "chosen": 2,
         "emotion": {"kind": "text", "text": EMOTION, "vector": [], "audio_path": None, "alpha": 1.0},
         "takes": [_take("cosyvoice", text=STALE, audio="talk.takes/a.wav", speech_ms=9, compute_ms=2100),
                   _take("cosyvoice", seed=1, text=LINE_TEXT[1], audio="talk.takes/b.wav", compute_ms=2500),
                   # its WAV is gone: the measured speech length stands in
                   _take("cosyvoice", seed=2, text=LINE_TEXT[1], audio="talk.takes/gone.wav", speech_ms=1234,
                         compute_ms=None)]},
        {"index": 2, "start_ms": 2000, "end_ms": 4000, "text": LINE_TEXT[2], "speaker": "",
         "takes": [_take("kokoro", audio="talk.takes/c.wav", speech_ms=450, compute_ms=300)]},  # text "": the line's
        {"index": 3, "start_ms": 4000, "end_ms": 6000, "text": LINE_TEXT[3], "speaker": "",
         "emotion": {"kind": "vector", "text": "", "vector": [0.5], "audio_path": None, "alpha": 1.0},
         "takes": [_take("cosyvoice", text=LINE_TEXT[3], compute_ms=700)]},  # failed: no audio, no length
        {"index": 4, "start_ms": 6000, "end_ms": 8000, "text": LINE_TEXT[4], "speaker": "", "takes": []},
        {"index": 5, "start_ms": 8000, "end_ms": 9000, "text": LINE_TEXT[5], "speaker": "",
         "takes": [_take("kokoro", text=LINE_TEXT[5], speech_ms=800)]},  # from version 2: no compute_ms
    ]
    path = folder / "talk.dubber.json"
    path.write_text(json.dumps({"schema": "dubber.project.store/3", "video": "talk.mp4", "subtitles": "talk.srt",
                                "lang": "zh", "speakers": {}, "lines": lines}, ensure_ascii=False), encoding="utf-8")
    return path


# Hand-counted per-line results: (tokens now, takes, billed tokens, audio ms, compute ms, compute unknown).
EXPECTED_LINES = {
    1: (16, 3, 40, 3234, 4600, 1),  # 11 + 5 emotion; billed (3 + 5) + 16 + 16; 500 + 1500 + 1234; 2100 + 2500
    2: (9, 1, 9, 500, 300, 0),
    3: (7, 1, 7, 0, 700, 0),  # a vector emotion has no text
    4: (7, 0, 0, 0, 0, 0),
    5: (2, 1, 2, 800, 0, 1),
}


@pytest.mark.parametrize(("text", "tokens"), [
    ("好[h][ào]", 3),  # 1 Han + 2 tags
    ("银行[yin2][hang2]", 4),  # 2 Han + 2 tags
    ("爱好[hao4]", 3),  # 爱 + 好 + 1 tag
    ("{New York|nuː jɔːk}", 3),  # 2 words + the override
    ("don't e-mail 2024 iPhone15", 4),
    ("iPhone15手机", 3),  # the word stops at the Han characters
    ("こんにちは 안녕", 7),  # 5 kana + 2 hangul
    ("Hello, world!  ...", 2),
    ("[laughs] hi", 2),  # not pinyin: ordinary words
    ("好[hao9]", 2),  # not a tone, so not a tag: 好 + the word hao9
    ("café — naïve", 2),
    ("mother-in-law's well--maybe", 3),  # a double hyphen is a dash between two words
    ("", 0),
])
def test_tokens_are_counted_by_hand(text, tokens):
    assert count_tokens(text) == tokens


def test_line_usage_bills_every_take_with_its_emotion(tmp_path):
    line = LineEntry(7, 0, 1000, "你好[ni3][hao3] world", "", emotion={"kind": "text", "text": "happy"},
                     takes=[TakeRecord(0, "e", "v", "ok", 0, 600, compute_ms=40),
                            TakeRecord(1, "e", "v", "ok", 0, None, text="hi there", compute_ms=None)])
    usage = line_usage(line, tmp_path)
    assert usage.tokens == 6  # 你好 2 + 2 tags + world 1 + happy 1
    assert usage.billed_tokens == 6 + 3  # the line's text, then "hi there" 2 + happy 1
    assert (usage.audio_ms, usage.compute_ms, usage.compute_unknown) == (600, 40, 1)


def test_project_usage_matches_hand_counts(tmp_path):
    path = write_usage_project(tmp_path)
    usage = project_usage(load_project(path), path)
    got = {line.index: (line.tokens, len(line.takes), line.billed_tokens, line.audio_ms, line.compute_ms,
                        line.compute_unknown) for line in usage.lines}
    assert got == EXPECTED_LINES
    assert usage.tokens == 41  # 16 + 9 + 7 + 7 + 2
    assert list(usage.engines) == ["cosyvoice", "kokoro"]
    cosy, kokoro, total = usage.engines["cosyvoice"], usage.engines["kokoro"], usage.total
    assert (cosy.takes, cosy.billed_tokens, cosy.audio_ms, cosy.compute_ms) == (4, 47, 3234, 5300)  # 40 + 7 tokens
    assert (cosy.compute_unknown, cosy.audio_unknown) == (1, 1)
    assert (kokoro.takes, kokoro.billed_tokens, kokoro.audio_ms, kokoro.compute_ms) == (2, 11, 1300, 300)
    assert (total.takes, total.billed_tokens, total.audio_ms, total.compute_ms, total.compute_unknown) == \
        (6, 58, 4534, 5600, 2)


def test_a_damaged_wav_falls_back_to_the_speech_length(tmp_path):
    path = write_usage_project(tmp_path)
    (tmp_path / "talk.takes" / "b.wav").write_bytes(b"RIFF not really")
    line = project_usage(load_project(path), path).lines[0]
    assert [t.audio_ms for t in line.takes] == [500, None, 1234]  # b.wav's take recorded no speech length


def test_cost_prices_engines_and_leaves_unpriced_ones_free(tmp_path):
    path = write_usage_project(tmp_path)
    usage = project_usage(load_project(path), path)
    cost = estimate_cost(usage, {"cosyvoice": Price(per_million_tokens=1000, per_audio_hour=36, per_compute_hour=3.6),
                                 "unused": Price(per_million_tokens=5)})
    # 47 tokens * 1000 / 1e6 = 0.047; 3234 ms * 36 / 3.6e6 = 0.03234; 5300 ms * 3.6 / 3.6e6 = 0.0053
    assert cost.engines["cosyvoice"] == pytest.approx(0.08464)
    assert cost.engines["kokoro"] is None and cost.unpriced == ("kokoro",)
    assert cost.total == pytest.approx(0.08464) and cost.lower_bound == ("cosyvoice",)
    free = estimate_cost(usage, {"kokoro": Price()})
    assert free.engines == {"cosyvoice": None, "kokoro": 0.0} and free.lower_bound == ()
    # cosyvoice has a take of unknown audio length; kokoro's takes all have theirs
    assert estimate_cost(usage, {"cosyvoice": Price(per_audio_hour=1)}).lower_bound == ("cosyvoice",)
    assert estimate_cost(usage, {"kokoro": Price(per_audio_hour=1)}).lower_bound == ()


class SlowToneEngine(ToneEngine):
    """Takes at least `delay_ms` per request, then speaks or fails."""

    def __init__(self, delay_ms: int, fail: bool = False) -> None:
        super().__init__()
        self.delay_ms, self.fail, self.requests = delay_ms, fail, 0

    def synthesize(self, request):
        self.requests += 1
        time.sleep(self.delay_ms / 1000)
        if self.fail:
            raise RuntimeError("the model fell over")
        return super().synthesize(request)


@pytest.mark.parametrize("fail", [False, True])
def test_a_rendered_take_records_its_compute_time_even_when_it_fails(fail):
    engine = SlowToneEngine(30, fail=fail)
    plan = SpeakerPlan(SpeakerEntry(UNNAMED, engine.name, "a"), engine)
    record, fit = render_take(Cue(1, 0, 1500, "hello there"), plan, DubOptions(), 0, None, None, None)
    assert (fit is None) is fail and (record.status == "failed") is fail
    assert engine.requests >= 1 and engine.requests * 30 <= record.compute_ms < 10_000  # each request sleeps 30 ms


def test_every_engine_call_of_a_take_is_billed(tmp_path):
    engine = SlowToneEngine(0)
    plan = SpeakerPlan(SpeakerEntry(UNNAMED, engine.name, "a"), engine)
    record, _ = render_take(Cue(1, 0, 900, "hello there"), plan, DubOptions(), 0, None, None, None)
    assert record.requests == engine.requests >= 2  # the natural take, then the rate search
    line = LineEntry(1, 0, 900, "hello there", UNNAMED, takes=[record], chosen=0)
    assert line_usage(line, tmp_path).billed_tokens == 2 * record.requests  # "hello there": 2 words a call
