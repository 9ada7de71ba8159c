"""Compare lingua with py3langid for telling the language of short subtitle lines (dubber.subtitles.language).

The set is bench/data/short_lines.tsv: 45-46 natural short dialogue lines (1-10 words) in each of en, fr,
de, es, it, pt, ja, zh, ko and ru, written for this bench, and 24 more English lines with borrowed words
and foreign names ("The crème brûlée was perfect."); some ja lines are Han only ("先生！", "本当？") and
two zh lines are Traditional. Length buckets count words by spaces, and for unspaced text one word
per 3 kana/Han characters (ja) or per 2 Han characters (zh).

Both detectors weigh the same languages: dubber.subtitles.language.LINGUA_LANGUAGES, plus ja, zh and ko for the
"raw" rows, where the detector alone names each line (its top language). py3langid (a numpy port of
langid.py; its model ships in the wheel) is restricted with set_languages and run with norm_probs=True,
whose softmax is tempered by the text's length, so its values are probabilities like lingua's. The
"rule" rows are dubber's: script first (kana, Hangul, Cyrillic ... settle a line; Han only is zh-or-ja),
the detector only among same-script languages, and a line counts as detected only when the rule is sure.

False-foreign is what matters for dubbing: a line in the dub's language that the rule would skip as
foreign (dubber.subtitles.language.is_foreign), for dubs in en, ja and zh; "foreign found" is the share of the
other languages' lines it skips. The same thresholds serve both detectors; the last table gives each
detector its own best MAX_DUB_SHARE (the largest in a grid with no false-foreign English line) and the
share of foreign Latin lines of 3+ words an English dub then skips. Time is per line after loading;
memory is the resident-set growth of a fresh process from before the import to after every line of
the set has been detected (lingua loads its models lazily, per language, as lines need them).

    .venv/bin/python bench/language.py
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dubber.subtitles import language  # noqa: E402
from dubber.subtitles.language import LINGUA_LANGUAGES, detect, is_foreign, words  # noqa: E402
from tests.dubber.subtitles.test_language import SHORT_ENGLISH  # noqa: E402

DATA = ROOT / "bench" / "data" / "short_lines.tsv"
RAW_LANGUAGES = (*LINGUA_LANGUAGES, "ja", "zh", "ko")
DUBS = ("en", "ja", "zh")
BUCKETS = ("1-2", "3-5", "6+")
SHARE_GRID = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7)

Scorer = Callable[[str], Mapping[str, float]]


def load_lines() -> list[tuple[str, str]]:
    """Read (language, text) pairs from the labelled set."""
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def bucket(lang: str, text: str) -> str:
    """Name a line's length bucket by its (estimated) word count."""
    if lang in ("ja", "zh"):
        cjk = sum(language.script_of(ch) in (language.KANA, language.HAN) for ch in text)
        n = math.ceil(cjk / (3 if lang == "ja" else 2))
    else:
        n = len(words(text))
    return BUCKETS[0] if n <= 2 else BUCKETS[1] if n <= 5 else BUCKETS[2]


def rss_mb() -> float:
    """Read this process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- detectors

def lingua_raw() -> Scorer:
    """Build lingua over RAW_LANGUAGES (dubber's own detector lacks ja, zh and ko: script settles them)."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_iso_codes_639_1(
        *[getattr(IsoCode639_1, c.upper()) for c in RAW_LANGUAGES]).build()
    return lambda text: {v.language.iso_code_639_1.name.lower(): v.value
                         for v in detector.compute_language_confidence_values(text)}


def langid_scorer(languages: tuple[str, ...]) -> Scorer:
    """Build py3langid restricted to `languages`, giving probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return lambda text: dict(identifier.rank(text))


def scorers(raw: bool) -> dict[str, Scorer]:
    """Build both detectors, for the raw rows (with ja, zh, ko) or for dubber's rule."""
    if raw:
        return {"lingua": lingua_raw(), "py3langid": langid_scorer(RAW_LANGUAGES)}
    return {"lingua": language.lingua_scores, "py3langid": langid_scorer(LINGUA_LANGUAGES)}


def child(name: str) -> None:
    """Measure one detector's memory and first-line time in this (fresh) process; print JSON."""
    before = rss_mb()
    started = time.perf_counter()
    scorer = scorers(raw=False)[name] if name == "py3langid" else language.lingua_scores
    first = None
    for _, text in load_lines():
        detect(text, scorer)
        first = first if first is not None else time.perf_counter() - started
    print(json.dumps({"rss_mb": rss_mb() - before, "first_s": first, "all_s": time.perf_counter() - started}))


# ---------------------------------------------------------------- measures

def accuracy(rows: list[tuple[str, str, str]]) -> dict[str, float]:
    """Share right overall, per bucket and on the Latin-script languages, from (lang, bucket, guess) rows."""
    def share(sel: list[tuple[str, str, str]]) -> float:
        return sum(lang == guess for lang, _, guess in sel) / len(sel) if sel else float("nan")
    out = {"all": share(rows)}
    out.update({b: share([r for r in rows if r[1] == b]) for b in BUCKETS})
    out["Latin"] = share([r for r in rows if language.SCRIPT_OF[r[0]] == language.LATIN])
    return out


def foreign_rates(lines: list[tuple[str, str]], scorer: Scorer) -> dict[str, tuple[float, float]]:
    """Per dub language: (false-foreign share of its own lines, share of other lines found foreign)."""
    detections = [detect(text, scorer) for _, text in lines]
    out = {}
    for dub in DUBS:
        own = [is_foreign(d, text, dub) for (lang, text), d in zip(lines, detections) if lang == dub]
        other = [is_foreign(d, text, dub) for (lang, text), d in zip(lines, detections) if lang != dub]
        out[dub] = (sum(own) / len(own), sum(other) / len(other))
    return out


def share_sweep(lines: list[tuple[str, str]], scorer: Scorer) -> dict[str, object]:
    """Find the largest MAX_DUB_SHARE in the grid with no English line of the set foreign, the foreign Latin
    3+ word lines then found, and the tests' (held-out) English lines then foreign."""
    latin = [(lang, text, detect(text, scorer)) for lang, text in lines
             if language.SCRIPT_OF[lang] == language.LATIN]
    held = [(text, detect(text, scorer)) for text in SHORT_ENGLISH]
    long_foreign = [(text, d) for lang, text, d in latin if lang != "en" and len(words(text)) >= 3]
    saved = language.MAX_DUB_SHARE
    out: dict[str, object] = {"share": None, "found": 0.0, "held_false": []}
    try:
        for share in SHARE_GRID:
            language.MAX_DUB_SHARE = share
            if any(is_foreign(d, text, "en") for lang, text, d in latin if lang == "en"):
                break
            out.update(share=share, held_false=[text for text, d in held if is_foreign(d, text, "en")],
                       found=sum(is_foreign(d, text, "en") for text, d in long_foreign) / len(long_foreign))
    finally:
        language.MAX_DUB_SHARE = saved
    return out


def first_false(texts: list[str], scorer: Scorer) -> tuple[float, str]:
    """Find the smallest MAX_DUB_SHARE that makes one of these English lines foreign (by bisection), and it."""
    saved = language.MAX_DUB_SHARE
    best = (float("inf"), "")
    try:
        for text in texts:
            d = detect(text, scorer)
            language.MAX_DUB_SHARE = 1.0
            if not is_foreign(d, text, "en"):
                continue
            low, high = 0.0, 1.0  # foreign at high, not at low
            for _ in range(30):
                middle = language.MAX_DUB_SHARE = (low + high) / 2
                low, high = (low, middle) if is_foreign(d, text, "en") else (middle, high)
            best = min(best, (high, text))
    finally:
        language.MAX_DUB_SHARE = saved
    return best


def timed(lines: list[tuple[str, str]], call: Callable[[str], object]) -> float:
    """Time `call` per line, in milliseconds, after one warm pass."""
    for _, text in lines:
        call(text)
    started = time.perf_counter()
    for _, text in lines:
        call(text)
    return (time.perf_counter() - started) / len(lines) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("lingua", "py3langid"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    lines = load_lines()
    counts = {lang: sum(1 for lg, _ in lines if lg == lang) for lang, _ in lines}
    print(f"set: {len(lines)} lines ({', '.join(f'{k} {v}' for k, v in counts.items())}); buckets "
          + ", ".join(f"{b} words {sum(bucket(lg, t) == b for lg, t in lines)}" for b in BUCKETS))
    print(f"languages weighed: {', '.join(LINGUA_LANGUAGES)} (+ ja, zh, ko for raw); thresholds: "
          f"{language.MIN_WORDS}+ words, {language.MIN_LETTERS}+ letters, top >= {language.MIN_TOP}, "
          f"dub <= {language.MAX_DUB_SHARE} x top; Latin in a non-Latin dub: "
          f"{language.MIN_FOREIGN_LATIN_WORDS}+ words, {language.MIN_FOREIGN_LATIN_LETTERS}+ letters, "
          "not all capitalised")

    memory = {}
    for name in ("lingua", "py3langid"):
        done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True,
                              cwd=ROOT, check=True)
        memory[name] = json.loads(done.stdout.strip().splitlines()[-1])

    raw, rule = scorers(raw=True), scorers(raw=False)
    results = {}
    for name in ("lingua", "py3langid"):
        raw_rows = [(lang, bucket(lang, text), max(s := raw[name](text), key=s.get)) for lang, text in lines]
        rule_rows = [(lang, bucket(lang, text), d.lang if d.settled else "?")
                     for lang, text in lines for d in [detect(text, rule[name])]]
        sure = sum(g != "?" for _, _, g in rule_rows) / len(rule_rows)
        results[name] = {
            "raw": accuracy(raw_rows), "rule": accuracy(rule_rows), "sure": sure,
            "sure_right": sum(lang == g for lang, _, g in rule_rows) / max(1, sum(g != "?" for _, _, g in rule_rows)),
            "foreign": foreign_rates(lines, rule[name]), "sweep": share_sweep(lines, rule[name]),
            "first_false": first_false([t for lang, t in lines if lang == "en"] + SHORT_ENGLISH, rule[name]),
            "raw_ms": timed(lines, raw[name]), "rule_ms": timed(lines, lambda t, s=rule[name]: detect(t, s)),
        }

    print("\naccuracy (share of lines named right; rule: only lines the rule is sure of count as named)")
    print(f"{'detector':22} {'all':>6} {'1-2 w':>6} {'3-5 w':>6} {'6+ w':>6} {'Latin':>6}")
    for name, r in results.items():
        for mode in ("raw", "rule"):
            a = r[mode]
            print(f"{name + ' ' + mode:22} " + " ".join(f"{a[k]:6.1%}" for k in ("all", *BUCKETS, "Latin")))
    for name, r in results.items():
        print(f"  {name} rule: sure of {r['sure']:.1%} of lines, right on {r['sure_right']:.1%} of those")

    print("\nforeign-line rule, per dub language (false: the dub's own lines skipped as foreign; "
          "found: the other languages' lines skipped)")
    print(f"{'detector':12} " + " ".join(f"{'false ' + d:>9} {'found ' + d:>9}" for d in DUBS))
    for name, r in results.items():
        print(f"{name:12} " + " ".join(f"{r['foreign'][d][0]:9.1%} {r['foreign'][d][1]:9.1%}" for d in DUBS))
    print(f"\neach detector's own MAX_DUB_SHARE (dubber's is {language.MAX_DUB_SHARE}), en dub: 'own' is the "
          f"largest in {SHARE_GRID} with none of the set's English lines foreign; 'found': foreign Latin lines "
          f"of 3+ words then skipped; 'held-out': the {len(SHORT_ENGLISH)} English lines of "
          f"tests/dubber/subtitles/test_language.py then skipped; 'first false': the smallest share that skips any "
          f"English line (set and held-out), and that line")
    for name, r in results.items():
        w, (first, line) = r["sweep"], r["first_false"]
        print(f"{name:12} own {w['share'] if w['share'] is not None else '-':>5}  found {w['found']:6.1%}  "
              f"held-out {len(w['held_false'])} {w['held_false']}  first false {first:.3f} {line!r}")

    print("\ncost (time per line after loading; memory: RSS growth of a fresh process over the whole set)")
    print(f"{'detector':12} {'raw ms':>7} {'rule ms':>8} {'RSS MB':>7} {'1st line s':>10} {'whole set s':>11}")
    for name, r in results.items():
        m = memory[name]
        print(f"{name:12} {r['raw_ms']:7.2f} {r['rule_ms']:8.2f} {m['rss_mb']:7.0f} {m['first_s']:10.2f} "
              f"{m['all_s']:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
