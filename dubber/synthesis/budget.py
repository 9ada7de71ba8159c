"""What one line may cost, checked before any engine call: its text as spoken, its length against its slot.

A line's cost grows with what is spoken, not with what is written: '9' × 1,000 is 4,999 characters
once its digits are words, and an engine's time and memory grow with its phonemes (Piper's faster
than linearly in one call: its text encoder's attention). So, before anything is synthesised:

- `check_spoken_length`: the text as the engine's front end reads it (markup taken out; numbers,
  dates, money and units spelt out for its language by `dubber.text.normalize`) holds at most
  MAX_SPOKEN_CHARS characters. A text over WRITTEN_FACTOR times the limit as written is refused
  without being normalised.
- `check_speech_fits`: the line's natural length, estimated without synthesising, is at most
  FAR_BEYOND times what the fitting ladder can compress into the longest slot the line may take
  (`dubber.fitting.fitter.compressible`: ×1.45 natively, ×1.25 by rate). A line the ladder can only
  leave too long is still rendered (too_long, with the rate it needs); one this far beyond its
  slot is refused instead of being synthesised for nothing. The estimate is the engine's own
  (`Engine.estimate_speech_ms`: its phonemes at its voice's pace) or, for engines without one,
  `text_estimate_ms`: a brisk pace per character of the spoken text, by script.

A refusal is an `OverBudget` error whose `limit` names the cap: "text" or "speech". `dubber say`
and the service's /tts answer it (exit 2, HTTP 422); in a dub or the panel the line fails with the
message as its reason and the other lines are dubbed.
"""

from __future__ import annotations

from dubber.errors import OverBudget
from dubber.plugin.engine import Engine, SynthesisRequest
from dubber.text.normalize import normalize
from dubber.text.pronunciation import plain
from dubber.text.scripts import HAN, HANGUL, KANA, script_of

MAX_SPOKEN_CHARS = 1000  # a subtitle line is far shorter; 1,000 characters is about a minute of speech
WRITTEN_FACTOR = 4  # markup may make the written text longer than the spoken one, but not this much
# Refuse a line whose estimate is this many times what the ladder compresses into its slot. The
# engines' estimates came out at most 44% long on measured lines (models/piper.py, models/kokoro.py)
# and the text's at most 25%, so a refused line is at least ~1.4 times beyond what any fit could do.
FAR_BEYOND = 2.0

LIMIT_TEXT = "text"  # the text as spoken is over its length limit
LIMIT_SPEECH = "speech"  # the estimated speech is far beyond its slot

# A brisk pace in ms per character of the spoken text, by script, a little faster than Piper and
# Kokoro speak (fitted on their measured lines: English 65 ms a letter, Mandarin 257 a character,
# Japanese 132 a kana and 212 a Han character), so that the fallback errs toward speaking a line.
PACE_MS = {KANA: 110, HAN: 200, HANGUL: 170}
LETTER_MS = 55  # Latin, Cyrillic, Greek and other alphabets
DIGIT_MS = 150  # a digit left as written (languages normalize does not spell out) is a short word


def spoken_form(text: str, lang: str) -> str:
    """The text as an engine's front end reads it: numbers and the like spelt out for `lang`, markup out."""
    return plain(normalize(text, lang))


def check_spoken_length(text: str, lang: str, limit: int = MAX_SPOKEN_CHARS, what: str = "") -> str:
    """Return the spoken form of `text`; raise OverBudget when it is over `limit` characters.

    `what` names the line in the message ("line 7").
    """
    name = f"{what}: " if what else ""
    if len(text) > WRITTEN_FACTOR * limit:
        raise OverBudget(f"{name}the text is {len(text):,} characters as written; a line may hold at most "
                         f"{limit:,} as spoken (split the line)", limit=LIMIT_TEXT, chars=len(text), max_chars=limit)
    spoken = spoken_form(text, lang)
    if len(spoken) > limit:
        grew = f" ({len(text):,} as written)" if len(spoken) != len(text) else ""
        raise OverBudget(f"{name}the text is {len(spoken):,} characters as spoken{grew}; the limit is {limit:,} "
                         f"characters as spoken (numbers are counted as words; split the line)",
                         limit=LIMIT_TEXT, chars=len(spoken), max_chars=limit)
    return spoken


def text_estimate_ms(text: str, lang: str) -> int:
    """Estimate a line's natural speech length from its spoken text alone, at a brisk pace per script."""
    total = 0
    for ch in spoken_form(text, lang):
        if ch.isdigit():
            total += DIGIT_MS
        elif ch.isalpha():
            total += PACE_MS.get(script_of(ch) or "", LETTER_MS)
    return total


def estimate_speech_ms(engine: Engine, text: str, lang: str, voice: str | None = None) -> tuple[int, str]:
    """Estimate how long `text` lasts spoken naturally, and say whose estimate it is ("engine" or "text")."""
    estimate = engine.estimate_speech_ms(text, lang, voice)
    if estimate is not None:
        return int(estimate), "engine"
    return text_estimate_ms(text, lang), "text"


def check_speech_fits(engine: Engine, request: SynthesisRequest, slot_ms: int, max_ratio: float) -> int:
    """Return the request's natural length estimate; raise OverBudget when it is far beyond what fits `slot_ms`.

    `max_ratio` is how much faster than natural the fitting ladder can make the line.
    """
    estimate, source = estimate_speech_ms(engine, request.text, request.lang, request.voice)
    allowed = slot_ms * max_ratio * FAR_BEYOND
    if estimate > allowed:
        by = f"{engine.name}'s phonemes" if source == "engine" else "its text"
        raise OverBudget(f"the line would last about {estimate / 1000:.1f} s spoken naturally (estimated from {by}), "
                         f"{estimate / slot_ms:.1f} times its {slot_ms / 1000:.1f} s slot; the fitter compresses at "
                         f"most ×{max_ratio:.2f}, so a line is refused beyond ×{max_ratio * FAR_BEYOND:.1f} "
                         f"(shorten the line or widen its slot)",
                         limit=LIMIT_SPEECH, estimate_ms=estimate, slot_ms=slot_ms, max_ratio=max_ratio)
    return estimate
