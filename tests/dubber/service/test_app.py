"""The service over real HTTP on loopback: every endpoint, concurrent clients, a full queue, bad input, the token."""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from dubber.audio import media
from dubber.audio.speech import speech_span
from dubber.cli.main import main
from dubber.errors import UsageError
from dubber.plugin import registry
from dubber.service.app import ServiceSettings
from tests.dubber.service.service_server import SAMPLES, RunningService, make_clip, wait_for_job

LINE = "Good morning. Today we are going to the old harbour."
CLIENT = {"x-dubber-client": "tests"}  # what a multipart POST needs, so that a web page's plain form cannot send one


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, folder: Path):
    with RunningService(ServiceSettings(allowed_folders=(SAMPLES, folder),
                                        work_dir=tmp_path_factory.mktemp("jobs"), max_upload_bytes=2_000_000,
                                        max_text_chars=300)) as running:
        yield running


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


def test_voices_lists_what_dubber_engines_lists(client, capsys):
    answer = client.get("/voices", params={"probe": "false"})
    assert answer.status_code == 200
    assert answer.json() == registry.describe(probe=False)
    by_name = {row["name"]: row for row in answer.json()}
    assert by_name["piper"]["available"] and "en_US-joe-medium" in by_name["piper"]["capabilities"]["voices"]
    assert "jf_alpha" in by_name["kokoro"]["capabilities"]["voices"]
    assert main(["engines", "--json", "--no-probe"]) == 0
    assert json.loads(capsys.readouterr().out) == answer.json()


def test_tts_speaks_the_line_to_its_duration(client):
    answer = client.post("/tts", json={"text": LINE, "duration_ms": 2100, "lang": "en", "engine": "piper"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(answer.content), dtype="float32")
    assert rate == 22050
    # The span measured here, on the WAV as it arrived, is the one the headers report, and on target.
    span = speech_span(samples, rate)
    start, end = round(span.start * 1000 / rate), round(span.end * 1000 / rate)
    h = answer.headers
    assert abs(start - int(h["x-dubber-speech-start-ms"])) <= 2 and abs(end - int(h["x-dubber-speech-end-ms"])) <= 2
    assert int(h["x-dubber-target-ms"]) == 2100
    assert abs(int(h["x-dubber-error-ms"])) <= 50 and abs(end - start - 2100) <= 50
    assert int(h["x-dubber-speech-ms"]) - 2100 == int(h["x-dubber-error-ms"])
    assert h["x-dubber-engine"] == "piper" and h["x-dubber-voice"] == "en_US-joe-medium"


def test_tts_json_carries_the_same_take_in_base64(client):
    body = {"text": "The boats leave at nine.", "duration_ms": 1500, "engine": "piper", "seed": 3}
    wav = client.post("/tts", json=body)
    doc = client.post("/tts", json={**body, "format": "json"})
    assert doc.status_code == 200 and doc.headers["content-type"] == "application/json"
    result = doc.json()
    assert base64.b64decode(result["audio"]) == wav.content  # same seed, same take
    assert result["error_ms"] == int(wav.headers["x-dubber-error-ms"]) and abs(result["error_ms"]) <= 50
    assert result["target_ms"] == 1500 and result["seed"] == 3 and result["sample_rate"] == 22050


def test_tts_speaks_japanese_with_a_chosen_kokoro_voice(client):
    answer = client.post("/tts", json={"text": "おはようございます", "lang": "ja", "voice": "jm_kumo",
                                       "duration_ms": 1400, "format": "json"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["engine"] == "kokoro" and result["voice"] == "jm_kumo" and abs(result["error_ms"]) <= 50


@pytest.mark.parametrize(("body", "status", "kind"), [
    ({"text": LINE, "duration_ms": 2000, "voice": "nobody", "engine": "piper"}, 400, "UnknownVoice"),
    ({"text": LINE, "duration_ms": 2000, "engine": "nope"}, 400, "UnknownEngine"),
    ({"text": LINE, "duration_ms": 2000, "engine": "piper", "lang": "ja"}, 400, "UnsupportedLanguage"),
    ({"text": "word " * 100, "duration_ms": 2000}, 422, "ValidationError"),
    ({"text": LINE, "duration_ms": 10}, 422, "ValidationError"),
    ({"text": LINE, "duration_ms": 600_000}, 422, "ValidationError"),
    ({"text": "...!?", "duration_ms": 2000}, 400, "UsageError"),
    ({"text": "bell\x07", "duration_ms": 2000}, 400, "UsageError"),
    ({"text": "😀a", "lang": "ja", "duration_ms": 2000}, 400, "UsageError"),  # nothing Kokoro can speak
    ({"text": "", "duration_ms": 2000}, 422, "ValidationError"),
    ({"text": LINE}, 422, "ValidationError"),
    ({"text": LINE, "duration_ms": "long"}, 422, "ValidationError"),
    ({"text": LINE, "duration_ms": 2000, "speed": 2}, 422, "ValidationError"),
    ({"text": LINE, "duration_ms": 2000, "reference": "/etc/hostname"}, 403, "ForbiddenPath"),
    ({"text": LINE, "duration_ms": 2000, "reference": "../../../../etc/hostname"}, 403, "ForbiddenPath"),
])
def test_tts_refuses_bad_requests_with_a_json_error(client, body, status, kind):
    answer = client.post("/tts", json=body)
    assert answer.status_code == status, answer.text
    assert _error(answer)["type"] == kind


@pytest.mark.parametrize(("text", "cap"), [("9" * 1000, "4,999 characters as spoken"),
                                           ("go " * 333, "spoken naturally")])
def test_tts_refuses_a_line_over_its_budget_without_speaking_it(tmp_path, text, cap):
    # The default limits: 1,000 characters, so the digits pass as written and are refused as spoken.
    with RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path)) as running, \
            httpx.Client(base_url=running.url, timeout=60) as client:
        answer = client.post("/tts", json={"text": text, "duration_ms": 5000, "engine": "piper"})
    assert answer.status_code == 422, answer.text
    error = _error(answer)
    assert error["type"] == "OverBudget" and cap in error["message"], error


def test_validation_errors_name_the_field(client):
    error = _error(client.post("/tts", json={"text": LINE, "duration_ms": "long"}))
    assert error["fields"][0]["field"] == "duration_ms" and "duration_ms" in error["message"]


def test_bodies_over_the_limit_are_refused_before_they_are_read(client):
    answer = client.post("/tts", content=b"{" + b" " * (1024**2 + 10) + b"}",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 413 and _error(answer)["type"] == "TooLarge"
    answer = client.post("/tts", content=b"not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422


def test_chunked_upload_over_the_limit_is_cut_off(client):
    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="video_file"; filename="a.mp4"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 100_000  # 4 MB against a 2 MB limit, with no Content-Length
        yield b"\r\n--b--\r\n"

    answer = client.post("/dub", content=body(), headers={"content-type": "multipart/form-data; boundary=b", **CLIENT})
    assert answer.status_code == 413 and _error(answer)["type"] == "TooLarge"


def test_concurrent_clients_each_get_their_own_line(client, service):
    targets = [1700, 1900, 2100, 2300]
    answers: dict[int, httpx.Response] = {}

    def speak(ms: int) -> None:
        with httpx.Client(base_url=service.url, timeout=120) as own:
            answers[ms] = own.post("/tts", json={"text": LINE, "duration_ms": ms, "engine": "piper"})

    threads = [threading.Thread(target=speak, args=(ms,)) for ms in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ms in targets:
        answer = answers[ms]
        assert answer.status_code == 200, answer.text
        assert int(answer.headers["x-dubber-target-ms"]) == ms and abs(int(answer.headers["x-dubber-error-ms"])) <= 50


def test_dub_job_on_the_sample_completes(client):
    accepted = client.post("/dub", json={"video": "demo.mp4", "subtitles": "demo.en.srt", "lang": "en",
                                         "exports": ["otio", "fcpxml", "edl", "srt", "ass", "vtt"]})
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    assert accepted.headers["location"] == f"/jobs/{job_id}"
    first = client.get(f"/jobs/{job_id}").json()
    assert first["total"] in (0, 6) and all(line["status"] in ("pending", "ok", "off") for line in first["lines"])
    status = wait_for_job(client, job_id)
    assert status["state"] == "done", status
    assert status["done"] == status["total"] == 6
    assert [line["status"] for line in status["lines"]] == ["ok"] * 6
    assert all(abs(line["error_ms"]) <= 50 for line in status["lines"])
    assert status["lines"][0]["text"] == LINE and status["lines"][0]["line"] == 2  # the SRT's line number
    assert status["result"]["summary"]["lines"] == 6 and status["result"]["diagnostics"] == []

    video = client.get(f"/jobs/{job_id}/result")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content == Path(status["result"]["output"]).read_bytes()
    # the sidecars are named after the output (dubbed.mp4 in the job's own folder)
    assert {"dubbed.report.json", "dubbed.dub.wav"} <= set(status["result"]["files"])
    report = client.get(f"/jobs/{job_id}/files/dubbed.report.json").json()
    assert [line["error_ms"] for line in report["lines"]] == [line["error_ms"] for line in status["lines"]]
    stem = client.get(f"/jobs/{job_id}/files/dubbed.dub.wav")
    assert stem.status_code == 200 and soundfile.info(io.BytesIO(stem.content)).samplerate == 48000
    assert client.get(f"/jobs/{job_id}/files/../../etc/passwd").status_code == 404
    unknown = client.get(f"/jobs/{job_id}/files/nothing.srt")
    assert unknown.status_code == 404 and _error(unknown)["type"] == "UnknownFile"
    assert all(name in _error(unknown)["message"] for name in status["result"]["files"][:3])
    # Each file with its own type (a subtitle file is not audio/aac), text ones in UTF-8.
    types = {".ass": "text/x-ssa; charset=utf-8", ".srt": "application/x-subrip; charset=utf-8",
             ".vtt": "text/vtt; charset=utf-8", ".json": "application/json", ".otio": "application/json",
             ".wav": "audio/wav", ".fcpxml": "application/xml; charset=utf-8", ".edl": "text/plain; charset=utf-8"}
    served = {Path(name).suffix: client.get(f"/jobs/{job_id}/files/{name}").headers["content-type"]
              for name in status["result"]["files"] if Path(name).suffix in types}
    assert served == types
    assert job_id in [job["id"] for job in client.get("/jobs").json()["jobs"]]


def test_dub_job_from_uploads(client, tmp_path):
    video, srt = make_clip(tmp_path, [(400, 1900, "The boats leave at nine."), (2300, 3200, "We should hurry.")])
    with open(video, "rb") as v, open(srt, "rb") as s:
        accepted = client.post("/dub", data={"lang": "en", "mix": "replace", "exports": "srt,stems"},
                               files={"video_file": ("clip.mp4", v, "video/mp4"),
                                      "subtitles_file": ("clip.srt", s, "application/x-subrip")}, headers=CLIENT)
    assert accepted.status_code == 202, accepted.text
    status = wait_for_job(client, accepted.json()["id"])
    assert status["state"] == "done", status
    assert status["request"]["mix"] == "replace" and status["request"]["exports"] == ["srt", "stems"]
    assert [line["status"] for line in status["lines"]] == ["ok", "ok"]
    files = status["result"]["files"]
    assert "dubbed.srt" in files and "dubbed.stems/dialogue.wav" in files and "dubbed.stems/lines/0002.wav" in files
    line = client.get(f"/jobs/{status['id']}/files/dubbed.stems/lines/0002.wav")
    assert line.status_code == 200 and soundfile.info(io.BytesIO(line.content)).frames > 0
    downloaded = tmp_path / "got.mp4"
    downloaded.write_bytes(client.get(f"/jobs/{status['id']}/result").content)
    info = media.probe(downloaded)
    assert len(info.video_streams) == 1 and len(info.audio_streams) == 2  # the dub and the original
    dubbed_srt = client.get(f"/jobs/{status['id']}/files/dubbed.srt").text
    assert "The boats leave at nine." in dubbed_srt


def test_a_dub_job_lists_the_lines_it_does_not_speak_and_takes_the_timing_policy(client, folder):
    (folder / "sdh").mkdir()
    video, srt = make_clip(folder / "sdh", [(400, 1900, "The boats leave at nine."), (2300, 3200, "[door slams]")])
    accepted = client.post("/dub", json={"video": str(video), "subtitles": str(srt), "mix": "replace", "sync": "cue"})
    assert accepted.status_code == 202, accepted.text
    status = wait_for_job(client, accepted.json()["id"])
    assert status["state"] == "done" and status["request"]["sync"] == "cue", status
    assert [(line["status"], line["reason"]) for line in status["lines"]] == [
        ("ok", ""), ("skipped", "sound description '[door slams]'")]
    assert status["total"] == status["done"] == 1
    assert client.post("/dub", json={"video": str(video), "subtitles": str(srt), "sync": "loose"}).status_code == 422


def test_dub_writes_an_output_path_in_an_allowed_folder(client, folder):
    video, srt = make_clip(folder, [(300, 1200, "We should hurry.")], video_ms=2000)
    answer = client.post("/dub", json={"video": str(video), "subtitles": str(srt), "output": str(folder / "out.mkv")})
    assert answer.status_code == 202, answer.text
    status = wait_for_job(client, answer.json()["id"])
    assert status["state"] == "done" and (folder / "out.mkv").is_file() and (folder / "out.dubber.json").is_file()
    assert client.get(f"/jobs/{status['id']}/result").headers["content-type"] == "video/x-matroska"


def test_a_dub_never_writes_over_its_input_subtitles(client, folder):
    """Issue #19: the SRT export beside t1/clip.mkv is t1/clip.srt, the job's own input; it was overwritten."""
    (folder / "t1").mkdir()
    video, srt = make_clip(folder / "t1", [(300, 1200, "We should hurry.")], video_ms=2000)
    before = srt.read_bytes()
    jobs = len(client.get("/jobs").json()["jobs"])
    body = {"video": str(video), "subtitles": str(srt), "output": str(folder / "t1" / "clip.mkv"), "exports": ["srt"]}
    for asked in ({}, {"overwrite": True}):  # an input is never replaced, whatever the request says
        answer = client.post("/dub", json={**body, **asked})
        assert answer.status_code == 409, answer.text
        error = _error(answer)
        assert error["type"] == "OutputClash" and str(srt.resolve()) in error["message"]
    assert srt.read_bytes() == before and not (folder / "t1" / "clip.mkv").exists()
    assert len(client.get("/jobs").json()["jobs"]) == jobs  # refused before a job was queued


def test_a_job_names_its_sidecars_after_its_output_and_replaces_only_when_asked(client, folder):
    (folder / "t2").mkdir()
    video, srt = make_clip(folder / "t2", [(300, 1200, "We should hurry.")], video_ms=2000)
    unrelated = {folder / "t2" / "report.json": b'{"mine": true}', folder / "t2" / "dub.wav": b"not ours"}
    for path, data in unrelated.items():
        path.write_bytes(data)
    out = folder / "t2" / "clip.dub.mkv"
    body = {"video": str(video), "subtitles": str(srt), "output": str(out)}
    status = wait_for_job(client, client.post("/dub", json=body).json()["id"])
    assert status["state"] == "done", status
    assert all(path.read_bytes() == data for path, data in unrelated.items())  # report.json was replaced
    assert {"clip.dub.mkv", "clip.dub.report.json", "clip.dub.dub.wav"} <= set(status["result"]["files"])
    report = client.get(f"/jobs/{status['id']}/files/clip.dub.report.json")
    assert report.status_code == 200 and report.json()["inputs"]["output"] == str(out)

    jobs = len(client.get("/jobs").json()["jobs"])
    again = client.post("/dub", json=body)
    assert again.status_code == 409 and str(out) in _error(again)["message"]
    assert '"overwrite": true' in _error(again)["message"] and len(client.get("/jobs").json()["jobs"]) == jobs
    replaced = client.post("/dub", json={**body, "overwrite": True})
    assert replaced.status_code == 202, replaced.text
    assert wait_for_job(client, replaced.json()["id"])["state"] == "done"


@pytest.mark.parametrize(("body", "status", "kind"), [
    ({"video": "/etc/hostname", "subtitles": "demo.en.srt"}, 403, "ForbiddenPath"),
    ({"video": "../tests/../../etc/hostname", "subtitles": "demo.en.srt"}, 403, "ForbiddenPath"),
    ({"video": "demo.mp4", "subtitles": "missing.srt"}, 400, "UsageError"),
    ({"video": "demo.mp4"}, 400, "UsageError"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "/tmp/elsewhere.mp4"}, 403, "ForbiddenPath"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "out.wav"}, 400, "UsageError"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "demo.mp4"}, 409, "OutputClash"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "demo.mp4", "overwrite": True}, 409,
     "OutputClash"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "voice": "nobody", "engine": "kokoro"}, 400, "UnknownVoice"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "voice": "tune", "engine": "kokoro"}, 400, "UsageError"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "mix": "blend"}, 422, "ValidationError"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "exports": ["pdf"]}, 422, "ValidationError"),
    ({"video": "demo.mp4", "subtitles": "demo.en.srt", "candidates": 0}, 422, "ValidationError"),
    (["demo.mp4"], 422, "ValidationError"),
])
def test_dub_refuses_bad_requests_with_a_json_error(client, body, status, kind):
    answer = client.post("/dub", json=body)
    assert answer.status_code == status, answer.text
    assert _error(answer)["type"] == kind


def test_dub_refuses_bad_uploads(client, tmp_path):
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nHello.\n", encoding="utf-8")
    wrong = client.post("/dub", files={"video_file": ("notes.txt", b"hello", "text/plain"),
                                       "subtitles_file": ("a.srt", srt.read_bytes())}, headers=CLIENT)
    assert wrong.status_code == 400 and "video_file" in _error(wrong)["message"]
    both = client.post("/dub", data={"video": "demo.mp4", "subtitles": "demo.en.srt"},
                       files={"video_file": ("a.mp4", b"xx", "video/mp4")}, headers=CLIENT)
    assert both.status_code == 400 and "one of the two" in _error(both)["message"]
    typed = client.post("/dub", content=b"video=demo.mp4", headers={"content-type": "text/plain", **CLIENT})
    assert typed.status_code == 415 and _error(typed)["type"] == "UnsupportedMediaType"


def test_a_job_whose_video_is_broken_fails_with_its_reason(client, tmp_path):
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nHello.\n", encoding="utf-8")
    accepted = client.post("/dub", files={"video_file": ("broken.mp4", b"not a video at all", "video/mp4"),
                                          "subtitles_file": ("a.srt", srt.read_bytes())}, headers=CLIENT)
    assert accepted.status_code == 202
    status = wait_for_job(client, accepted.json()["id"])
    assert status["state"] == "failed" and status["error"]["type"] == "MediaError", status
    result = client.get(f"/jobs/{status['id']}/result")
    assert result.status_code == 409 and _error(result)["type"] == "JobNotReady"


def test_unknown_jobs_and_routes_answer_404_in_json(client):
    for path in ("/jobs/0123", "/jobs/0123/result", "/jobs/0123/files/report.json", "/nowhere"):
        answer = client.get(path)
        assert answer.status_code == 404 and _error(answer)["type"] in ("UnknownJob", "NotFound")
    assert client.delete("/jobs/0123").status_code == 404


def test_limits_and_page(client):
    limits = client.get("/limits").json()
    assert limits["max_text_chars"] == 300 and limits["queue_size"] == 8
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '"ok": "#2e9d4f"' in page.text and '"max_text_chars": 300' in page.text


def test_a_full_queue_answers_429_and_jobs_can_be_cancelled(tmp_path):
    running = RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path, queue_size=1))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            body = {"video": "demo.mp4", "subtitles": "demo.en.srt", "engine": "kokoro", "lang": "en"}
            first = client.post("/dub", json=body).json()["id"]
            wait_for_job(client, first, until=("running", "done", "failed"))
            second = client.post("/dub", json=body)
            assert second.status_code == 202 and second.json()["position"] == 0
            third = client.post("/dub", json=body)
            assert third.status_code == 429 and third.headers["retry-after"]
            assert _error(third)["type"] == "QueueFull" and "1" in _error(third)["message"]

            cancelled = client.delete(f"/jobs/{second.json()['id']}").json()
            assert cancelled["state"] == "cancelled"
            stopping = client.delete(f"/jobs/{first}")  # running: it stops after its current line
            assert stopping.status_code == 200
            ended = wait_for_job(client, first)
            assert ended["state"] == "cancelled" and ended["done"] < ended["total"] == 6
            assert client.get(f"/jobs/{first}/result").status_code == 409
            assert client.post("/dub", json=body).status_code == 202  # room again
            assert client.delete(f"/jobs/{second.json()['id']}").status_code == 200  # an ended job is forgotten
            assert client.get(f"/jobs/{second.json()['id']}").status_code == 404
    finally:
        running.stop()


def test_loopback_refuses_other_hosts_and_other_sites(client, service):
    rebound = client.get("/voices?probe=false", headers={"host": f"attacker.example:{service.port}"})
    assert rebound.status_code == 403 and _error(rebound)["type"] == "ForbiddenHost"
    cross = client.post("/tts", json={"text": LINE, "duration_ms": 2000},
                        headers={"origin": "https://attacker.example"})
    assert cross.status_code == 403 and _error(cross)["type"] == "ForbiddenOrigin"
    same = client.get("/limits", headers={"origin": service.url})
    assert same.status_code == 200
    assert client.get("/limits", headers={"host": f"localhost:{service.port}"}).status_code == 200


def test_a_listed_origin_may_call_with_cors(tmp_path):
    running = RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path,
                                             cors_origins=("https://editor.example",)))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            origin = {"origin": "https://editor.example"}
            pre = client.options("/tts", headers={**origin, "access-control-request-method": "POST",
                                                  "access-control-request-headers": "content-type"})
            assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://editor.example"
            answer = client.post("/tts", json={"text": "We should hurry.", "duration_ms": 1200, "engine": "piper"},
                                 headers=origin)
            assert answer.status_code == 200
            assert "X-Dubber-Error-Ms" in answer.headers["access-control-expose-headers"]
            assert client.get("/limits", headers={"origin": "https://other.example"}).status_code == 403
    finally:
        running.stop()


def test_off_loopback_every_request_needs_the_token(tmp_path):
    token = "s3cret-token-for-the-test"
    running = RunningService(ServiceSettings(host="0.0.0.0", allow_remote=True, token=token,
                                             allowed_folders=(SAMPLES,), work_dir=tmp_path), host="0.0.0.0")
    try:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            for path in ("/", "/voices?probe=false", "/openapi.json", "/jobs"):
                answer = client.get(path)
                assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer", path
                assert _error(answer)["type"] == "Unauthorized"
            assert client.get("/limits", headers={"authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
            assert client.get("/limits", headers={"authorization": f"Bearer {token}"}).status_code == 200
            assert client.get("/limits", headers={"x-dubber-token": token}).status_code == 200
            assert client.get(f"/?token={token}").status_code == 200
            # another machine's name is fine off loopback: the token is what is checked
            named = client.get("/limits", headers={"x-dubber-token": token, "host": "studio.example:7860"})
            assert named.status_code == 200
            spoken = client.post("/tts", json={"text": "We should hurry.", "duration_ms": 1200, "engine": "piper"},
                                 headers={"x-dubber-token": token})
            assert spoken.status_code == 200
    finally:
        running.stop()


def test_listening_off_loopback_must_be_asked_for_with_a_token(tmp_path, capsys, monkeypatch):
    with pytest.raises(UsageError, match="--allow-remote"):
        ServiceSettings(host="0.0.0.0", token="x" * 20).check()
    with pytest.raises(UsageError, match="--token"):
        ServiceSettings(host="192.168.1.5", allow_remote=True).check()
    with pytest.raises(UsageError, match="at least 16"):
        ServiceSettings(token="short").check()
    with pytest.raises(UsageError, match="sandboxed"):
        ServiceSettings(cors_origins=("null",)).check()
    ServiceSettings(host="::1").check()  # loopback needs nothing
    monkeypatch.delenv("DUBBER_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--allow-remote", "--jobs-dir", str(tmp_path)]) == 2
    assert "--token" in capsys.readouterr().err
    assert main(["serve", "--allow", str(tmp_path / "missing"), "--jobs-dir", str(tmp_path)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_symlink_out_of_an_allowed_folder_is_refused(client, folder):
    link = folder / "sneaky.srt"
    link.symlink_to("/etc/hostname")
    answer = client.post("/dub", json={"video": "demo.mp4", "subtitles": str(link)})
    assert answer.status_code == 403 and _error(answer)["type"] == "ForbiddenPath"


def test_the_returned_wav_is_16_bit_pcm(client):
    answer = client.post("/tts", json={"text": "We should hurry.", "duration_ms": 1300, "engine": "piper"})
    info = soundfile.info(io.BytesIO(answer.content))
    assert info.subtype == "PCM_16" and info.channels == 1
    samples, _ = soundfile.read(io.BytesIO(answer.content), dtype="float32")
    assert np.abs(samples).max() > 0.05


def test_dubber_serve_answers_voices_and_tts_on_target(tmp_path):
    """The real command, as a user starts it: a process on loopback, stopped with Ctrl-C; its access log
    shows the addresses asked for, the token in them blanked."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "serve-token-for-the-log-test"
    server = subprocess.Popen([sys.executable, "-m", "dubber.cli.main", "serve", "--port", str(port), "--jobs-dir",
                               str(tmp_path / "jobs"), "--token", token], cwd=SAMPLES, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                voices = httpx.get(f"{url}/voices?token={token}", timeout=30)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "dubber serve did not start"
                time.sleep(0.2)
        assert voices.status_code == 200 and "piper" in [row["name"] for row in voices.json()]
        spoken = httpx.post(f"{url}/tts", json={"text": LINE, "duration_ms": 2600}, timeout=120,
                            headers={"authorization": f"Bearer {token}"})
        assert spoken.status_code == 200 and abs(int(spoken.headers["x-dubber-error-ms"])) <= 50
        assert spoken.headers["x-dubber-engine"] == "piper"  # the default for English
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=60)
    assert server.returncode == 0, out
    assert f"serving on http://127.0.0.1:{port}/?token={token}" in out and str(SAMPLES) in out
    assert '"GET /voices?token=[redacted] HTTP/1.1" 200' in out, out
    assert [line for line in out.splitlines() if token in line] == out.splitlines()[:2], out  # the banner only


def test_tts_beyond_its_slots_is_answered_429(tmp_path):
    import time

    running = RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path, tts_slots=1))
    short = {"text": "はい", "lang": "ja", "duration_ms": 1000}
    # About 2 s of work on this machine (6 s of Kokoro speech at RTF 0.35): the one slot stays taken.
    long_line = {"text": "おはようございます。今日は古い港へ行きます。船は九時に出ます。", "lang": "ja", "duration_ms": 6000}
    answers: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=running.url, timeout=120) as client, \
                httpx.Client(base_url=running.url, timeout=120) as other:
            assert client.post("/tts", json=short).status_code == 200  # the engine is loaded before timing anything
            first = threading.Thread(target=lambda: answers.append(client.post("/tts", json=long_line)))
            first.start()
            time.sleep(0.5)
            second = other.post("/tts", json=short)
            still_busy = first.is_alive()
            first.join()
            assert still_busy and second.status_code == 429, second.text
            assert _error(second)["type"] == "QueueFull" and second.headers["retry-after"]
            assert answers[0].status_code == 200 and abs(int(answers[0].headers["x-dubber-error-ms"])) <= 50
            assert other.post("/tts", json=short).status_code == 200  # the slot is free again
    finally:
        running.stop()
