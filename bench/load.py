"""Load: dub long videos with many cues and report peak memory and time per line.

Each dub runs in a fresh process, so its peak resident memory (the kernel's high-water mark, read
when it ends) is its own. By default a 30-minute and a 2-hour video (a tiny picture with a quiet stereo
tone) each get 1,500 cues: the dub mixes and writes in blocks and reads the original from disk by
ranges, so the peak should be the same for both (within 10%) and at most 1.5 GB.

    .venv/bin/python bench/load.py [--minutes 30,120] [--counts 1500] [--engine piper|frametone] [--keep DIR]

--keep DIR keeps the generated videos there and reuses them on the next run (making them takes minutes;
the generator streams the tone to ffmpeg, so it never holds two hours of audio either). With several
counts, memory that grows with the cue count would show as a rising peak down a video's rows.

    .venv/bin/python bench/load.py --hostile

--hostile instead sends lines over their budget (dubber.synthesis.budget) to a `dubber serve` process
and through `dubber dub`: a 1,000-digit /tts line, "go " × 333 for 5 s, and a /dub job and a
`dubber dub` of the demo video whose subtitles hold a 1,000-digit line. For each it prints the
seconds until the answer (the job's end) and how far the server's resident memory grew over its
warmed-up level (VmRSS now, and VmHWM, its peak, from /proc). The target: 10 s and 300 MB.

`--engine frametone` uses the test suite's synthetic, natively duration-controlled engine
(tests/conftest.py): much faster, so the fixed costs (decoding, mixing, muxing) dominate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 48000
TARGET_MB = 1536  # 1.5 GB, whatever the video's length
WORDS = ("harbour lantern tide morning rope gull sail north bell stone anchor mist river field window "
         "station evening winter bridge garden").split()


def make_video(path: Path, minutes: int) -> Path:
    """A long, tiny video: 1 fps 64x36 test pattern over a quiet stereo tone, the tone made a minute at a time."""
    from dubber.audio import media

    out = path.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    n, step = minutes * 60 * RATE, 60 * RATE
    with tempfile.TemporaryDirectory(prefix="dubber-load-tone-") as tmp:
        raw = Path(tmp) / "tone.f32"
        with open(raw, "wb") as handle:
            for lo in range(0, n, step):
                t = np.arange(lo, min(lo + step, n), dtype=np.float64) / RATE
                tone = (0.03 * np.sin(2 * np.pi * 110 * t)).astype("<f4")
                handle.write(np.stack([tone, 0.8 * tone], axis=1).tobytes())
        subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size=64x36:rate=1:duration={minutes * 60}",
                        "-f", "f32le", "-ar", str(RATE), "-ac", "2", "-i", str(raw), "-map", "0:v", "-map", "1:a",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "96k", str(out)], check=True)
    return out


def make_subtitles(path: Path, count: int, minutes: int) -> None:
    """`count` cues of 2-5 words spread evenly over the video, each slot 1.0-2.6 s."""
    from dubber.subtitles.load import save_srt

    rng = random.Random(count)
    step = minutes * 60_000 // count
    rows = []
    for i in range(count):
        words = rng.randint(2, 5)
        slot = min(step - 200, 450 * words + rng.randint(-100, 300))
        start = i * step + 100
        rows.append((start, start + slot, " ".join(rng.choice(WORDS) for _ in range(words)) + "."))
    save_srt(path, rows)


def child(video: str, subs: str, out: str, engine_name: str) -> None:
    """Run one dub here and print its measurements as JSON (the parent reads the last line)."""
    from dubber.pipeline.dub import DubOptions, dub
    from dubber.plugin import registry

    if engine_name == "frametone":
        from tests.conftest import FrameToneEngine

        engine = FrameToneEngine()
        real = registry.get_engine
        registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
    started = time.monotonic()
    result = dub(video, subs, out, DubOptions(lang="en", engine=engine_name, mix="duck"))
    wall = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"lines": len(result.lines), "ok": result.summary["by_status"].get("ok", 0),
                      "wall_s": round(wall, 1), "peak_mb": round(peak_kb / 1024)}))


def rss_mb(pid: int) -> tuple[int, int]:
    """A process's resident memory now and at its peak, in MB (/proc/PID/status VmRSS and VmHWM)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def hostile() -> int:
    """Lines over their budget, to a real server and the command line: seconds and memory growth each."""
    import socket
    import urllib.error
    import urllib.request

    from dubber.subtitles.load import save_srt

    def call(url: str, body: dict | None = None, method: str = "GET") -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw, status, kind = answer.read(), answer.status, answer.headers.get("content-type", "")
        except urllib.error.HTTPError as error:
            raw, status, kind = error.read(), error.code, error.headers.get("content-type", "")
        return status, json.loads(raw) if kind.startswith("application/json") else {"bytes": len(raw)}

    with tempfile.TemporaryDirectory(prefix="dubber-hostile-") as tmp:
        folder = Path(tmp)
        video = folder / "demo.mp4"
        shutil.copy(ROOT / "samples" / "demo.mp4", video)
        subs = folder / "digits.srt"
        save_srt(subs, [(800, 3195, "Good morning. Today we are going to the old harbour."), (3895, 5766, "9" * 1000),
                        (6466, 8279, "Did you remember to bring the camera?")])
        warm = folder / "warm.srt"
        save_srt(warm, [(800, 3195, "Good morning.")])
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "dubber.cli.main", "serve", "--port", str(port), "--allow",
                                   str(folder), "--jobs-dir", str(folder / "jobs")], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    call(f"{url}/limits")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            # Warm up what every line needs (the engine, the VAD): growth is counted from there.
            call(f"{url}/tts", {"text": "This line must fit its slot.", "duration_ms": 2400})
            job = call(f"{url}/dub", {"video": str(video), "subtitles": str(warm), "output": str(folder / "warm.mkv")},
                       "POST")[1]
            while call(f"{url}/jobs/{job['id']}")[1]["state"] not in ("done", "failed", "cancelled"):
                time.sleep(0.2)
            base, _ = rss_mb(server.pid)
            print(f"server warmed up: {base} MB resident")
            rows = []
            for name, body in (("/tts 9 x 1000, 5 s", {"text": "9" * 1000, "duration_ms": 5000}),
                               ("/tts 'go ' x 333, 5 s", {"text": "go " * 333, "duration_ms": 5000})):
                started = time.monotonic()
                status, answer = call(f"{url}/tts", body, "POST")
                seconds = time.monotonic() - started
                now, peak = rss_mb(server.pid)
                rows.append((name, seconds, now - base, peak - base, f"{status} {answer.get('error', answer)}"))
            started = time.monotonic()
            job = call(f"{url}/dub", {"video": str(video), "subtitles": str(subs), "output": str(folder / "out.mkv")},
                       "POST")[1]
            while (status := call(f"{url}/jobs/{job['id']}")[1])["state"] not in ("done", "failed", "cancelled"):
                time.sleep(0.1)
            seconds = time.monotonic() - started
            now, peak = rss_mb(server.pid)
            line = next(row for row in status["lines"] if row["index"] == 2)
            rows.append(("/dub, a 9 x 1000 line", seconds, now - base, peak - base,
                         f"{status['state']}; that line {line['status']}: {line.get('error') or line.get('reason')}"))
        finally:
            server.terminate()
            server.wait(30)
        # The command line: the same dub, and as a baseline the dub without the digits (its fixed costs).
        plain = folder / "plain.srt"
        save_srt(plain, [(800, 3195, "Good morning. Today we are going to the old harbour."),
                         (6466, 8279, "Did you remember to bring the camera?")])
        for name, srt in (("dubber dub, a 9 x 1000 line", subs), ("dubber dub, without it", plain)):
            started = time.monotonic()
            child = subprocess.Popen([sys.executable, "-m", "dubber.cli.main", "dub", str(video), str(srt), "-o",
                                      str(folder / f"{srt.stem}.mkv"), "--report", str(folder / f"{srt.stem}.json")],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, code, usage = os.wait4(child.pid, 0)
            seconds = time.monotonic() - started
            report = json.loads((folder / f"{srt.stem}.json").read_text(encoding="utf-8"))
            statuses = [f"{row['status']}" + (f" ({row['reason'][:60]}…)" if row["status"] == "failed" else "")
                        for row in report["lines"]]
            rows.append((name, seconds, None, usage.ru_maxrss // 1024,
                         f"exit {os.waitstatus_to_exitcode(code)}; lines: {', '.join(statuses)}"))
    print(f"\n{'request':<30} {'seconds':>8} {'RSS +MB':>8} {'peak +MB':>9}  answer")
    for name, seconds, grew, peak, answer in rows:
        if grew is None:  # a process of its own: its whole peak
            print(f"{name:<30} {seconds:>8.2f} {'':>8} {'':>9}  peak {peak} MB in all; {answer[:140]}")
        else:
            print(f"{name:<30} {seconds:>8.2f} {grew:>8} {peak:>9}  {answer[:150]}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="30,120", help="video lengths, comma-separated")
    parser.add_argument("--counts", default="1500", help="cue counts, comma-separated")
    parser.add_argument("--engine", default="piper", choices=("piper", "frametone"))
    parser.add_argument("--keep", metavar="DIR", help="make (or reuse) the videos in DIR")
    parser.add_argument("--child", nargs=3, metavar=("VIDEO", "SUBS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--hostile", action="store_true", help="lines over their budget, to a server and the CLI")
    args = parser.parse_args()
    if args.hostile:
        return hostile()
    if args.child:
        child(*args.child, args.engine)
        return 0

    lengths = [int(m) for m in args.minutes.split(",")]
    counts = [int(c) for c in args.counts.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="dubber-load-") as tmp:
        folder = Path(tmp)
        for minutes in lengths:
            started = time.monotonic()
            video = Path(args.keep or tmp) / f"long{minutes}.mp4"
            if not video.exists():
                make_video(video, minutes)
            print(f"video: {minutes} min, ready in {time.monotonic() - started:.0f} s; engine {args.engine}",
                  flush=True)
            for count in counts:
                subs = folder / f"cues{minutes}-{count}.srt"
                make_subtitles(subs, count, minutes)
                out = folder / f"out{minutes}-{count}" / "dub.mkv"
                done = subprocess.run([sys.executable, __file__, "--engine", args.engine, "--child", str(video),
                                       str(subs), str(out)], capture_output=True, text=True, cwd=ROOT)
                shutil.rmtree(out.parent, ignore_errors=True)  # a 2-hour dub's outputs are gigabytes
                if done.returncode != 0:
                    print(done.stderr[-3000:], file=sys.stderr)
                    return 1
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append((minutes, count, row))
                print(f"  {count} cues: {row['ok']}/{row['lines']} ok, {row['wall_s']} s, "
                      f"peak {row['peak_mb']} MB", flush=True)
    base = rows[0][2]["peak_mb"]
    print(f"\n{'minutes':>7} {'cues':>6} {'wall s':>8} {'s/line':>8} {'peak MB':>8} {'vs first':>9}")
    for minutes, count, row in rows:
        print(f"{minutes:>7} {count:>6} {row['wall_s']:>8} {row['wall_s'] / count:>8.3f} {row['peak_mb']:>8} "
              f"{row['peak_mb'] / base:>8.2f}x")
    worst = max(row["peak_mb"] for _, _, row in rows)
    print(f"peak at most {TARGET_MB} MB: {'yes' if worst <= TARGET_MB else 'NO'} (worst {worst} MB); "
          f"longest against shortest video: {rows[-1][2]['peak_mb'] / base:.2f}x (same within 10%: "
          f"{'yes' if abs(rows[-1][2]['peak_mb'] / base - 1) <= 0.10 else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
