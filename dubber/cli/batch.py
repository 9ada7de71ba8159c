"""`dubber batch MANIFEST.toml`: dub every video a manifest lists, each exactly as `dubber dub` would.

Each video's keys become `dubber dub` arguments and go through the dub command's own parser and option
builder, so a value is read, checked and defaulted the same way in both commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dubber.cli.arguments import positive
from dubber.cli.main import EXIT_LINES_FAILED, EXIT_OK, _options, build_parser
from dubber.errors import DubberError, UsageError
from dubber.pipeline.manifest import KEYS, BatchJob, Manifest, load_manifest

if TYPE_CHECKING:  # the pipeline loads when the command runs, not for `dubber --help`
    from dubber.pipeline.batch import BatchVideo, Executor


def add_parser(sub: Any) -> None:
    """Describe the batch command and its options."""
    p = sub.add_parser("batch", help="dub every video a manifest (TOML) lists; one progress bar and a summary")
    p.add_argument("manifest", help="the batch: shared defaults at the top, then a [[video]] table per video")
    p.add_argument("--summary", metavar="S.json",
                   help="write the summary here (default: the manifest's name with .summary.json)")
    p.add_argument("--workers", type=positive, metavar="N",
                   help="lines rendered at once in each video, where its table sets no workers (as for dub)")
    p.add_argument("--ray", metavar="ADDRESS", default=os.environ.get("RAY_ADDRESS") or None,
                   help="render the lines on this Ray cluster (ray start --head prints it; default: $RAY_ADDRESS; "
                        "'auto': the cluster on this machine); needs pip install 'dubber[ray]'")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files that already exist (an input never); a rerun renders only missing lines")


def cmd_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dubber.pipeline.batch import run_batch

    manifest = load_manifest(args.manifest)
    videos = batch_videos(manifest, args.workers)
    summary = Path(args.summary) if args.summary else manifest.path.with_suffix(".summary.json")
    bar = tqdm(total=0, unit="line", desc="batch", file=sys.stderr, disable=None)

    def progress(done: int, total: int, label: str) -> None:
        bar.total = total
        bar.update(done - bar.n)
        if label:
            bar.set_postfix_str(label, refresh=False)

    try:
        result = run_batch(videos, executor(args), progress, args.overwrite, summary)
    finally:
        bar.close()
    print(result.table())
    for video, outcome in zip(videos, result.outcomes, strict=True):
        if outcome.error:
            print(f"dubber: {video.where}: {outcome.error}", file=sys.stderr)
        for line in outcome.failed_lines:
            print(line, file=sys.stderr)
    print(f"summary: {summary}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_LINES_FAILED


def executor(args: argparse.Namespace) -> Executor | None:
    """Where the lines are rendered: a Ray cluster with --ray, else None: this machine."""
    if not args.ray:
        return None
    try:
        from dubber.pipeline.ray_executor import RayExecutor
    except ImportError as exc:
        raise UsageError(f"--ray needs Ray: pip install 'dubber[ray]' ({exc})") from None
    return RayExecutor(args.ray)


def batch_videos(manifest: Manifest, workers: int | None = None) -> list[BatchVideo]:
    """Every dub of a manifest with its options made as `dubber dub` makes them. A value the dub command
    refuses is a UsageError naming the manifest and the video; a file an option names that cannot be
    read fails that video alone."""
    from dubber.pipeline.batch import BatchVideo

    parser = _dub_parser()
    videos = []
    for job in manifest.jobs:
        where = manifest.where(job)
        try:
            args = parser.parse_args(dub_argv(job, workers))
        except _Refused as exc:
            raise UsageError(f"{where}: {_in_keys(str(exc))}", path=str(manifest.path), entry=job.entry) from None
        args.command = "dub"
        options, problem = None, None
        try:
            options = _options(args)
        except DubberError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        videos.append(BatchVideo(job.name, job.lang, job.video, job.subtitles, job.output, options,
                                 Path(args.stem) if args.stem else None, Path(args.report) if args.report else None,
                                 where, problem))
    return videos


def dub_argv(job: BatchJob, workers: int | None = None) -> list[str]:
    """The `dubber dub` arguments (after `dub`) that say what a manifest's job says."""
    argv = [os.fspath(job.video), os.fspath(job.subtitles), "-o", os.fspath(job.output), f"--lang={job.lang}"]
    settings = dict(job.settings)
    if workers is not None:
        settings.setdefault("workers", workers)
    for key, value in settings.items():
        flag, kind = "--" + key.replace("_", "-"), KEYS[key]
        if kind == "bool":
            argv += [flag] if value else []
        elif key == "sync" and value == "fill":
            argv.append("--fill")
        elif key == "engine_opt":
            argv += [f"{flag}={v}" for v in ([value] if isinstance(value, str) else value)]
        elif kind in ("strings", "numbers"):
            argv.append(f"{flag}={value if isinstance(value, str) else ','.join(str(v) for v in value)}")
        else:
            argv.append(f"{flag}={os.fspath(value) if isinstance(value, Path) else value}")
    return argv


class _Refused(Exception):
    """The dub command's parser refused a value."""


def _dub_parser() -> argparse.ArgumentParser:
    """The `dub` command's own parser, raising instead of exiting."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    dub = action.choices["dub"]

    def refuse(message: str) -> Any:
        raise _Refused(message)

    dub.error = refuse  # type: ignore[method-assign]
    return dub


def _in_keys(message: str) -> str:
    """A parser message in the manifest's words: `argument --duck-db` is the key duck_db."""
    for key in sorted(KEYS, key=len, reverse=True):  # --engine-opt before --engine
        message = message.replace(f"argument --{key.replace('_', '-')}", key)
    return message.replace("argument --fill", "sync = \"fill\"")
