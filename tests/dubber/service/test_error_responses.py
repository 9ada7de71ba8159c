"""The service's errors over real HTTP on loopback: every client error a JSON 4xx naming what was wrong, and
anything unexpected a JSON 500 that leaves the connection open for the next request."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import httpx
import pytest

from dubber.service.app import ServiceSettings
from tests.dubber.service.service_server import SAMPLES, RunningService

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, folder: Path):
    with RunningService(ServiceSettings(allowed_folders=(SAMPLES, folder),
                                        work_dir=tmp_path_factory.mktemp("jobs"))) as running:
        yield running


def _error(answer: httpx.Response) -> dict:
    assert answer.headers["content-type"] == "application/json", answer.text
    body = answer.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize("path", ["/dub", "/tts"])
def test_deeply_nested_json_is_a_client_error(client, path):
    answer = client.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert answer.status_code in (400, 422), answer.text
    assert _error(answer)["type"] in ("ValidationError", "BadRequest")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/dub", {"video": "0" * 300, "subtitles": "demo.en.srt"}, "video"),
    ("/dub", {"video": "demo.mp4", "subtitles": "s/" * 2040 + "a.srt"}, "subtitles"),
    ("/tts", {"text": "We should hurry.", "duration_ms": 1200, "reference": "r" * 300}, "reference"),
    ("/dub", {"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "a" * 4090 + ".mkv"}, "output"),
    ("/dub", {"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "o" * 240 + ".mkv"}, "output"),
    ("/dub", {"video": "demo.mp4", "subtitles": "demo.en.srt", "output": "no/such/folder/out.mkv"}, "output"),
    ("/dub", {"video": "~nobody-here-at-all/clip.mp4", "subtitles": "demo.en.srt"}, "video"),
])
def test_a_name_the_file_system_cannot_hold_is_refused_before_any_job(client, service, path, body, field):
    before = len(service.queue.jobs())
    answer = client.post(path, json=body)
    assert answer.status_code == 400, answer.text
    error = _error(answer)
    assert error["type"] == "UsageError" and error["message"].startswith(field)
    assert error["fields"][0]["field"] == field
    assert len(service.queue.jobs()) == before


def test_an_unexpected_error_is_a_json_500_and_the_connection_stays_open(service, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the engine list")

    monkeypatch.setattr("dubber.plugin.registry.describe", broken)
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
    try:
        connection.request("GET", "/voices?probe=false")
        first = connection.getresponse()
        body = json.loads(first.read())
        local = connection.sock.getsockname()
        assert first.status == 500 and first.getheader("content-type") == "application/json"
        assert body["error"]["type"] == "InternalError" and "RuntimeError" in body["error"]["message"]
        assert "a bug" not in body["error"]["message"]  # the details go to the log, not to the caller
        # The same socket answers the next request: the server did not hang up after the 500.
        connection.request("GET", "/limits")
        second = connection.getresponse()
        assert second.status == 200 and json.loads(second.read())["queue_size"] == 8
        assert connection.sock.getsockname() == local
    finally:
        connection.close()
    assert any(r.exc_info and "a bug in the engine list" in str(r.exc_info[1]) for r in caplog.records)
