"""The `dubber` command line: dub, batch, say, engines, check, verify, usage, pronounce, serve."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dubber import __version__
from dubber.cli.arguments import exports, floats, lufs, positive, seconds_to_ms, threshold
from dubber.cli.progress import tuning_bars
from dubber.errors import (
    DubberError,
    EngineError,
    MediaError,
    OutputClash,
    OutputError,
    OverBudget,
    ProcessError,
    SubtitleError,
    UsageError,
)
from dubber.fitting.fitter import FitPolicy
from dubber.fitting.slots import SYNC_CUE, SYNC_FILL, SYNC_SPEECH
from dubber.mix.mixing import MIX_MODES, Ducking
from dubber.subtitles.spoken import FOREIGN_CHOICES, FOREIGN_SKIP

# Each command imports what it runs inside its own function, so `dubber --help` and a mistyped option answer
# without loading the pipeline, the service or ffmpeg (0.5 s against 1.1 s); tests/test_layering.py allows it here only.
EXIT_OK, EXIT_LINES_FAILED, EXIT_USAGE = 0, 1, 2

# How each error type is introduced to the user, and the exit code it maps to.
ERROR_MESSAGES: list[tuple[type[DubberError], str, int]] = [
    (OutputClash, "refused", EXIT_USAGE),
    (OverBudget, "over the line's budget", EXIT_USAGE),
    (UsageError, "usage", EXIT_USAGE),
    (SubtitleError, "cannot read subtitles", EXIT_USAGE),
    (MediaError, "cannot read media", EXIT_USAGE),
    (OutputError, "output", EXIT_LINES_FAILED),
    (EngineError, "engine problem", EXIT_USAGE),
    (ProcessError, "ffmpeg failed", EXIT_LINES_FAILED),
    (DubberError, "error", EXIT_LINES_FAILED),
]


def describe_error(exc: DubberError) -> tuple[str, int]:
    """Return the message for an error and the exit code it maps to."""
    advice = "; add --overwrite to replace" if getattr(exc, "existing", None) else ""
    for cls, prefix, code in ERROR_MESSAGES:
        if isinstance(exc, cls):
            return f"dubber: {prefix}: {exc}{advice}", code
    return f"dubber: {exc}", EXIT_LINES_FAILED


def build_parser() -> argparse.ArgumentParser:
    """Describe every subcommand and option."""
    parser = argparse.ArgumentParser(prog="dubber", description="Dub videos from subtitles, every line fitted to its slot.")
    parser.add_argument("--version", action="version", version=f"dubber {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def voice_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--engine", help="engine name (see `dubber engines`); default: the best for --lang")
        p.add_argument("--voice", help="voice of the engine; 'auto' to match each original speaker's voice; 'tune' "
                                       "to match, then tune it toward the speaker (Kokoro, minutes a speaker, "
                                       "cached); default: the engine's voice for --lang")
        p.add_argument("--match-pitch", action="store_true",
                       help="with --voice auto or tune, shift the matched voice up to 3 semitones toward the "
                            "speaker's pitch")
        p.add_argument("--lang", default="en", help="language to speak (default: en)")
        p.add_argument("--seed", type=int, default=0, help="random seed; a new seed re-rolls a line")
        p.add_argument("--borrow-gap", action="store_true",
                       help="let a line that is too long run into the silence before the next cue")
        p.add_argument("--pronunciations", metavar="FILE",
                       help="pronunciation dictionary: 'word = pinyin or IPA' per line (行长 = hang2 zhang3, "
                            "tomato = təˈmɑːtoʊ); kept in the project for later runs")
        config_options(p)
        clone = p.add_argument_group("voice cloning and emotion (engines that support them)")
        clone.add_argument("--reference", metavar="CLIP", help="audio clip of the voice to clone")
        clone.add_argument("--reference-text", default="", metavar="TEXT", help="what is said in the reference clip")
        clone.add_argument("--reference-lang", metavar="LANG",
                           help="language of the reference clip (CosyVoice clones zero-shot when it equals --lang, "
                                "cross-lingual otherwise)")
        feel = clone.add_mutually_exclusive_group()
        feel.add_argument("--emotion-text", metavar="TEXT", help="describe the emotion in words")
        feel.add_argument("--emotion-vector", type=floats, metavar="W,W,...",
                          help="emotion weights, e.g. IndexTTS2's 8: happy,angry,sad,afraid,disgusted,"
                               "melancholic,surprised,calm")
        feel.add_argument("--emotion-audio", metavar="CLIP", help="a clip whose emotion to copy")
        clone.add_argument("--emotion-alpha", type=float, default=1.0, help="how strongly to apply the emotion (1.0)")

    def timing_options(p: argparse.ArgumentParser) -> None:
        timing = p.add_argument_group("timing and what is spoken")
        how = timing.add_mutually_exclusive_group()
        how.add_argument("--sync", choices=(SYNC_SPEECH, SYNC_CUE),
                         help="start each line where the original speech starts and aim at its length, the cue "
                              "being only the outer bound (speech: the default when the video has audio), or at "
                              "its cue's start at its natural length (cue)")
        how.add_argument("--fill", action="store_const", const=SYNC_FILL, dest="sync",
                         help="make every line last exactly its cue (subtitles made for dubbing)")
        timing.add_argument("--speak-all", action="store_true",
                            help="also speak sound descriptions, lyrics, signs, credits and lines in other "
                                 "languages, as written")
        timing.add_argument("--foreign", choices=FOREIGN_CHOICES, default=FOREIGN_SKIP,
                            help="lines not in --lang: skip them (default) or speak them with a voice of their "
                                 "own language")

    def config_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="engine settings file (default: config.toml in the user config folder)")
        p.add_argument("--engine-opt", action="append", default=[], metavar="ENGINE.KEY=VALUE",
                       help="override one engine setting, e.g. gpt_sovits.url=http://127.0.0.1:9880")

    def mix_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--mix", choices=MIX_MODES, default="duck", help="replace the original audio or duck it")
        duck = p.add_argument_group("ducking (--mix duck): the original is lowered under the dub's speech")
        duck.add_argument("--duck-db", type=float, default=Ducking.depth_db, metavar="DB",
                          help=f"how far to lower the original ({Ducking.depth_db:g} dB)")
        duck.add_argument("--duck-threshold", type=threshold, default=Ducking.threshold_db, metavar="DBFS",
                          help=f"duck where the dub is louder than this ({Ducking.threshold_db:g} dBFS); 'off' "
                               "ducks under each whole take")
        duck.add_argument("--duck-attack", type=int, default=Ducking.attack_ms, metavar="MS",
                          help=f"how long the original takes to fall, ending as speech starts "
                               f"({Ducking.attack_ms} ms)")
        duck.add_argument("--duck-release", type=int, default=Ducking.release_ms, metavar="MS",
                          help=f"how long it takes to come back after speech ({Ducking.release_ms} ms)")

    p = sub.add_parser("dub", help="dub a video with a subtitle file")
    p.add_argument("video")
    p.add_argument("subtitles")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv or .mov)")
    voice_options(p)
    timing_options(p)
    mix_options(p)
    p.add_argument("--no-original", action="store_true", help="do not keep the original audio as a second track")
    p.add_argument("--original-lang", metavar="LANG", help="tag the original audio track with this language")
    p.add_argument("--dialogue-track", action="store_true",
                   help="also add the dub's dialogue alone as an audio track (language-tagged like the dub)")
    p.add_argument("--export", type=exports, default=(), metavar="KINDS",
                   help="hand-off files beside the output, comma-separated: otio, fcpxml, edl (timelines with one "
                        "clip per line, a track per speaker), srt, ass, vtt (dubbed subtitles at the speech "
                        "spans), stems (dialogue, per-speaker and background WAVs, one WAV per line)")
    p.add_argument("--loudness", type=lufs, metavar="LUFS",
                   help="bring the dub track to this integrated loudness, true peak at most -1 dBTP: a number "
                        "(-16), 'web' (-16) or 'broadcast' (EBU R128, -23)")
    p.add_argument("--report", help="write the per-line report as JSON")
    p.add_argument("--stem", help="write the dub track alone as WAV")
    p.add_argument("--speakers", metavar="FILE", help="speakers file (TOML): each speaker's voice, engine or "
                                                      "reference clip, and which cues they speak")
    p.add_argument("--candidates", type=positive, default=1, metavar="K",
                   help="render K takes of every line and keep the best: fit, then intelligibility, then similarity")
    p.add_argument("--project", help="project file to write (default: OUTPUT's name with .dubber.json)")
    p.add_argument("--workers", type=positive, metavar="N",
                   help="lines rendered at once (default: one per core, at most 4; 1: one after another)")

    p = sub.add_parser("say", help="speak one line fitted to a duration")
    p.add_argument("text")
    p.add_argument("--duration", type=seconds_to_ms, required=True, metavar="SECONDS")
    p.add_argument("-o", "--output", required=True, help="output WAV")
    voice_options(p)

    p = sub.add_parser("gui", help="open the dubbing panel (drop a video and its subtitles into it)")
    p.add_argument("video", nargs="?", help="video to open; its project beside it is reopened")
    p.add_argument("subtitles", nargs="?", help="subtitles to dub it with (not needed to reopen a project)")
    voice_options(p)
    timing_options(p)
    mix_options(p)
    p.add_argument("--speakers", metavar="FILE", help="speakers file (TOML), as for dub")

    p = sub.add_parser("engines", help="list engines, their capabilities and availability")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-probe", action="store_true", help="do not check whether engine servers answer")
    config_options(p)

    p = sub.add_parser("verify", help="measure a dubbed file's speech against its subtitle cues")
    p.add_argument("media", help="the dubbed video or audio; its first audio track is measured")
    p.add_argument("subtitles")
    p.add_argument("--tolerance", type=int, default=50, metavar="MS", help="allowed onset error (and, for lines "
                                                                             "filling their cues, end error) (50)")
    p.add_argument("--report", metavar="R.json", help="the dub's report, for where each line was placed (default: "
                                                      "the project beside the media, else each line fills its cue)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("check", help="check a subtitle file (against its video) and list its problems")
    p.add_argument("files", nargs="+", metavar="[VIDEO] SUBTITLES",
                   help="the subtitle file, after its video when cues past the video's end should be found")
    p.add_argument("--lang", help="the dub's language: flag lines in others (default: the file's own language)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("pronounce", help="list, add or remove a project's pronunciation dictionary entries")
    p.add_argument("project", help="the project file (NAME.dubber.json), or the dubbed video it sits beside")
    p.add_argument("word", nargs="?", help="word to add (with PRONUNCIATION) or to show")
    p.add_argument("pronunciation", nargs="?", help="pinyin for Han words (hang2 zhang3), IPA for others")
    p.add_argument("--remove", metavar="WORD", action="append", default=[], help="remove an entry")
    p.add_argument("--file", metavar="FILE", help="add every entry of a dictionary file")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="run the local dubbing service: a REST API and a web page")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--allow-remote", action="store_true",
                   help="really listen on a --host other machines can reach (needs --token)")
    p.add_argument("--token", default=os.environ.get("DUBBER_TOKEN"),
                   help="secret every request must carry (default: $DUBBER_TOKEN); required off loopback")
    p.add_argument("--allow", action="append", default=[], metavar="FOLDER",
                   help="folder whose files requests may name (repeatable; default: the current folder)")
    p.add_argument("--jobs-dir", metavar="FOLDER", help="where jobs keep uploads and outputs "
                                                         "(default: the user cache folder)")
    p.add_argument("--queue", type=positive, default=8, metavar="N", help="dub jobs that may wait (8); more get 429")
    p.add_argument("--workers", type=positive, default=1, metavar="N", help="dub jobs run at once (1)")
    p.add_argument("--engines", metavar="NAMES", help="comma-separated engines to offer (default: all)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="let pages from this origin (https://editor.example) call the service (repeatable)")
    config_options(p)

    p = sub.add_parser("usage", help="count a project's tokens, audio and compute per engine, and estimate the cost")
    p.add_argument("project", help="the project file (NAME.dubber.json), or the dubbed video it sits beside")
    p.add_argument("--lines", action="store_true", help="also list every line")
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", help="settings file with the [prices.ENGINE] tables "
                                    "(default: config.toml in the user config folder)")
    from dubber.cli.batch import add_parser as add_batch  # the batch command lives in its own module

    add_batch(sub)
    for name in ("dub", "say"):  # the commands that write files
        sub.choices[name].add_argument("--overwrite", action="store_true",
                                       help="replace files that already exist (an input never: always refused)")
    return parser


def _options(args: argparse.Namespace) -> Any:
    from dubber.config import load_config
    from dubber.pipeline.dub import DubOptions

    opts = DubOptions(lang=_language(args.lang), engine=args.engine, voice=args.voice, seed=args.seed,
                      policy=FitPolicy(borrow_gap=args.borrow_gap),
                      config=load_config(args.config, args.engine_opt),
                      reference=_reference(args), emotion=_emotion(args), match_pitch=args.match_pitch,
                      voice_progress=tuning_bars())
    if args.pronunciations:
        from dubber.text.pronunciation import load_dictionary

        opts.pronunciations = load_dictionary(args.pronunciations)
    if args.command in ("dub", "gui"):
        from dubber.subtitles.speakers import load_speakers

        opts.mix = args.mix
        opts.ducking = Ducking(args.duck_db, args.duck_threshold, args.duck_attack, args.duck_release)
        opts.speakers = load_speakers(args.speakers) if args.speakers else None
        opts.sync, opts.speak_all, opts.foreign = args.sync, args.speak_all, args.foreign
    if args.command == "dub":
        opts.keep_original = not args.no_original
        opts.loudness = args.loudness
        opts.exports = args.export
        opts.original_lang = args.original_lang
        opts.dialogue_track = args.dialogue_track
        opts.candidates = args.candidates
        if args.workers is not None:
            opts.workers = args.workers
        opts.project = Path(args.project) if args.project else None
    return opts


def _language(tag: str) -> str:
    """Read --lang as a BCP-47 tag (en-US, zh-Hans, ja-JP), saying what it mapped to."""
    from dubber.subtitles.language import parse_language
    from dubber.plugin import registry

    choice = parse_language(tag, registry.languages())
    if choice.note:
        print(f"dubber: {choice.note}", file=sys.stderr)
    return choice.code


def _existing_clip(path: str, option: str) -> Path:
    clip = Path(path).expanduser()
    if not clip.is_file():
        raise UsageError(f"{option} {path}: no such audio file", path=path)
    return clip.absolute()


def _reference(args: argparse.Namespace) -> Any:
    from dubber.plugin.engine import Reference

    if args.reference is None:
        if args.reference_text or args.reference_lang:
            raise UsageError("--reference-text and --reference-lang describe a --reference clip; give the clip too")
        return None
    return Reference(_existing_clip(args.reference, "--reference"), args.reference_text.strip(), args.reference_lang)


def _emotion(args: argparse.Namespace) -> Any:
    from dubber.plugin.engine import Emotion

    if args.emotion_text is not None:
        return Emotion("text", text=args.emotion_text, alpha=args.emotion_alpha)
    if args.emotion_vector is not None:
        return Emotion("vector", vector=args.emotion_vector, alpha=args.emotion_alpha)
    if args.emotion_audio is not None:
        return Emotion("reference", audio_path=_existing_clip(args.emotion_audio, "--emotion-audio"),
                       alpha=args.emotion_alpha)
    return None


def cmd_dub(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dubber.pipeline.checks import cannot_fit_hint
    from dubber.pipeline.dub import dub

    options = _options(args)
    bar = tqdm(total=0, unit="line", desc="dubbing", file=sys.stderr, disable=None)

    def progress(done: int, total: int, cue: Any) -> None:
        bar.total = total
        bar.update(done - bar.n)

    def warn(lines: Any, diagnostics: list[Any]) -> None:  # before any line is rendered
        for diag in diagnostics:
            print(diag, file=sys.stderr)

    try:
        result = dub(args.video, args.subtitles, args.output, options, stem_path=args.stem,
                     report_path=args.report, progress=progress, on_start=warn, overwrite=args.overwrite)
    finally:
        bar.close()
    for name, speaker in result.report.get("speakers", {}).items():
        print(f"{_speaker_line(name, speaker)}", file=sys.stderr)
    s = result.summary
    print(f"dubbed {s['lines']} lines ({s['sync']} sync): {s['by_status']}; median |error| "
          f"{s['median_abs_error_ms']} ms, max {s['max_abs_error_ms']} ms; {s['skipped']} not spoken; "
          f"RTF {s['rtf']}", file=sys.stderr)
    loud = result.report.get("loudness")
    if loud:
        print(f"loudness {loud['after_lufs']} LUFS (target {loud['target_lufs']}, was {loud['before_lufs']}), "
              f"true peak {loud['after_peak_dbtp']} dBTP" + (", limited" if loud["limited"] else ""), file=sys.stderr)
    if result.report.get("exports"):
        from dubber.handoff.export import describe_written

        print("wrote " + ", ".join(describe_written(result.written)), file=sys.stderr)
    for line in result.failed:
        where = str(line.line) if line.line else f"cue {line.index}"  # file:line, like the diagnostics
        print(f"{args.subtitles}:{where}: {line.status}: {line.reason or line.text}", file=sys.stderr)
    hint = cannot_fit_hint(result.lines, options.policy, options.lang)
    if hint:
        print(f"dubber: {hint}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_LINES_FAILED


def _speaker_line(name: str, speaker: dict[str, Any]) -> str:
    """Describe a speaker's voice in one line: engine, voice, reference and how well it matches."""
    text = f"{name or '(unnamed)'}: {speaker['engine']} {speaker['voice']}"
    if speaker.get("reference"):
        text += f", reference {speaker['reference']} ({speaker['reference_source']})"
    if speaker.get("matched"):
        text += f", matched: similarity {speaker['similarity']} (default voice {speaker['default_similarity']})"
        if speaker.get("pitch_semitones"):
            text += f", pitch {speaker['pitch_semitones']:+} st -> {speaker['pitched_similarity']}"
    if speaker.get("tuned_from"):
        text += f", tuned from {speaker['tuned_from']}: " + ("kept" if speaker.get("tuned") else "not kept")
        for label, pair in (("similarity", speaker.get("tune_similarity")), ("judge", speaker.get("tune_judged")),
                            ("WER", speaker.get("tune_wer"))):
            if pair:
                text += f", {label} {pair[0]} -> {pair[1]}"
        text += f" ({speaker.get('tune_seconds') or 0:.0f} s)"
    return f"speaker {text}"


def cmd_say(args: argparse.Namespace) -> int:
    from dubber.pipeline.speak import say

    result = say(args.text, args.duration, args.output, _options(args), overwrite=args.overwrite)
    print(json.dumps(result, ensure_ascii=False))
    return EXIT_OK if result["status"] == "ok" else EXIT_LINES_FAILED


def cmd_engines(args: argparse.Namespace) -> int:
    from dubber.config import load_config
    from dubber.plugin import registry

    rows = registry.describe(load_config(args.config, args.engine_opt), probe=not args.no_probe)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for row in rows:
        caps = row["capabilities"] or {}
        state = "available" if row["available"] else f"unavailable: {row['reason']}"
        print(f"{row['name']:16} {state}")
        if caps:
            print(f"    languages: {', '.join(caps['languages'])}; {caps['sample_rate']} Hz; "
                  f"duration control: {caps['duration_control']}{_step(caps)}; "
                  f"cloning: {caps['cloning']}; emotion: {caps['emotion']}; needs GPU: {caps['needs_gpu']}")
            print(f"    voices: {', '.join(caps['voices']) or '(none: clones a reference clip)'}")
    return EXIT_OK


def _step(caps: dict[str, Any]) -> str:
    return f" (step {caps['duration_step_ms']} ms)" if caps["duration_step_ms"] else ""


def cmd_check(args: argparse.Namespace) -> int:
    from dubber.audio import media
    from dubber.subtitles.check import check_subtitles

    if len(args.files) > 2:
        raise UsageError("check takes a subtitle file, or a video and its subtitle file")
    *video, subtitles = args.files
    video_ms = media.probe(video[0]).duration_ms if video else None
    result = check_subtitles(subtitles, video_ms, _language(args.lang) if args.lang else None)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        for diag in result.diagnostics:
            print(diag)
        load = result.load
        print(f"{subtitles}: {len(result.cues)} cues ({load.format}, {load.encoding}), "
              f"{len(result.errors)} errors, {len(result.diagnostics) - len(result.errors)} warnings, "
              f"{len(result.not_spoken)} not spoken" + (f"; lines checked against {result.lang}" if result.lang else ""))
    return EXIT_LINES_FAILED if result.errors else EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from dubber.subtitles.load import load_subtitles
    from dubber.handoff.verify import check_output, slots_for

    cues = load_subtitles(args.subtitles).cues
    slots, sync = slots_for(args.media, cues, args.report)
    checks = check_output(args.media, cues, slots, args.tolerance)
    bad = [c for c in checks if not c.ok]
    if args.json:
        print(json.dumps({"tolerance_ms": args.tolerance, "sync": sync, "lines": len(checks), "outside": len(bad),
                          "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        for c in checks:
            found = (f"speech {c.speech_start_ms}-{c.speech_end_ms} ms" if c.speech_start_ms is not None
                     else "no speech found")
            print(f"{'ok ' if c.ok else 'OFF'} cue {c.index:4}: placed {c.onset_ms} ms, ends by {c.window_end_ms} ms; "
                  f"{found}" + (f" ({c.reason})" if c.reason else ""))
        print(f"{len(checks) - len(bad)}/{len(checks)} lines in sync ({sync}; onsets within ±{args.tolerance} ms)")
    if bad:
        print("dubber: note: the first audio track is measured; after `--mix duck` it also carries the "
              "original voice, so verify the dub's stem (`--stem`) or a `--mix replace` output instead",
              file=sys.stderr)
    return EXIT_OK if not bad else EXIT_LINES_FAILED


def cmd_pronounce(args: argparse.Namespace) -> int:
    from dubber.project.store import load_project, save_project
    from dubber.text.pronunciation import check_entry, load_dictionary

    path = _project_file(args.project)
    project = load_project(path)
    entries = dict(project.pronunciations)
    word = args.word.strip() if args.word is not None else None
    if word is not None and args.pronunciation is not None:
        entries[word] = check_entry(word, args.pronunciation)
    if args.file:
        entries.update(load_dictionary(args.file))
    missing = [removed for removed in args.remove if removed not in entries]
    if missing:
        raise UsageError(f"{path}: no pronunciation for {', '.join(map(repr, missing))} to remove")
    for removed in args.remove:
        del entries[removed]
    if entries != project.pronunciations:
        project.pronunciations = entries
        save_project(project, path)  # the next dub re-speaks the lines whose words changed, no others
    shown = entries
    if word is not None:  # one word: the entry just added (unless removed again), or the one asked for
        if word not in entries and args.pronunciation is None:
            raise UsageError(f"{path}: no pronunciation for {word!r}")
        shown = {word: entries[word]} if word in entries else {}
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        for word, value in sorted(shown.items()):
            print(f"{word} = {value}")
    return EXIT_OK


def cmd_usage(args: argparse.Namespace) -> int:
    from dubber.config import load_config
    from dubber.project.store import load_project
    from dubber.project.usage import estimate_cost, project_usage

    path = _project_file(args.project)
    usage = project_usage(load_project(path), path)
    config = load_config(args.config)
    cost = estimate_cost(usage, config.prices)
    if args.json:
        print(json.dumps({"project": str(path), "config": str(config.path), "config_found": config.found,
                          "currency": config.currency, **usage.to_dict(), "cost": cost.to_dict()},
                         ensure_ascii=False, indent=2))
        return EXIT_OK
    from dubber.project.usage import usage_table

    print(usage_table(path, usage, cost, config, args.lines))
    return EXIT_OK


def _project_file(given: str) -> Path:
    """The project file named, or the one beside a dubbed video."""
    from dubber.project.store import SUFFIX, project_path_for

    path = Path(given)
    if path.name.endswith(SUFFIX):
        return path
    project = project_path_for(path)
    if not project.is_file():
        raise UsageError(f"{project}: no such project file (the project of {given} is kept beside it)", path=given)
    return project


def cmd_batch(args: argparse.Namespace) -> int:
    from dubber.cli.batch import cmd_batch as run

    return run(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from dubber.config import load_config
    from dubber.service.app import ServiceSettings, serve

    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip()) if args.engines else None
    settings = ServiceSettings(host=args.host, port=args.port, token=args.token or None,
                               allow_remote=args.allow_remote,
                               allowed_folders=tuple(Path(f) for f in args.allow),
                               work_dir=Path(args.jobs_dir) if args.jobs_dir else None, queue_size=args.queue,
                               workers=args.workers, engines=engines, cors_origins=tuple(args.cors_origin),
                               config=load_config(args.config, args.engine_opt))
    serve(settings)
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    import importlib

    opts = _options(args)
    # Imported by name: the command line launches the panel but the core never depends on Qt.
    try:
        app = importlib.import_module("dubber.ui.app")
    except ImportError as exc:
        from dubber.cli.system_libraries import missing_library_message

        # A system library Qt loads (libpulse for QtMultimedia) is a package to install, not a Python one.
        message = missing_library_message(exc)
        raise UsageError(message or f"the panel needs PySide6 (pip install PySide6-Essentials PySide6-Addons): "
                                    f"{exc}") from None
    paths = [Path(p) for p in (args.video, args.subtitles) if p]
    return int(app.run(opts, paths))


COMMANDS = {"dub": cmd_dub, "say": cmd_say, "gui": cmd_gui, "engines": cmd_engines, "check": cmd_check,
            "verify": cmd_verify, "usage": cmd_usage, "pronounce": cmd_pronounce, "serve": cmd_serve,
            "batch": cmd_batch}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DubberError as exc:
        message, code = describe_error(exc)
        print(message, file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("dubber: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`dubber engines --json | head`): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return EXIT_OK
    except OSError as exc:  # a read-only folder or a full disk met outside dubber's own checks
        print(f"dubber: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_LINES_FAILED


def describe_os_error(exc: OSError) -> str:
    """Say which file an operating-system error is about, and why, in one line."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    files = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
    return f"file system error: {files}: {reason}" if files else f"file system error: {reason}"


if __name__ == "__main__":
    sys.exit(main())
