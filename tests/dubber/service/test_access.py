"""The service's access guard: Host headers and loopback, pages without an origin, forms, body limits by
content type, names the file system cannot hold, and tokens kept out of the log."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from dubber.errors import UsageError
from dubber.service.access import (
    NAME_MAX,
    PATH_MAX,
    RedactTokens,
    allowed_path,
    host_name,
    is_loopback,
)
from dubber.service.app import ServiceSettings
from tests.dubber.service.service_server import SAMPLES, RunningService

LINE = {"text": "We should hurry.", "duration_ms": 1200, "engine": "piper"}


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:7860", "127.0.0.1"), ("localhost", "localhost"), ("[::1]:7860", "::1"), ("[::1]", "::1"),
    ("studio.example:80", "studio.example"), ("::1", "::1"),
])
def test_host_name_drops_the_port(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("192.168.1.5", False), ("::", False),
    ("localhost.attacker.example", False), ("127.0.0.1.nip.io", False), ("", False),
])
def test_only_this_machine_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    with RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path_factory.mktemp("jobs"),
                                        max_upload_bytes=3_000_000)) as running:
        yield running


def _error(answer: httpx.Response, status: int, kind: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json" and answer.json()["error"]["type"] == kind
    return answer.json()["error"]["message"]


def test_a_page_without_an_origin_may_read_but_not_change_anything(client, service):
    null = {"origin": "null"}  # a sandboxed frame, a file:// page: any site can make one
    message = _error(client.post("/tts", json=LINE, headers=null), 403, "ForbiddenOrigin")
    assert "Origin: null" in message and "--cors-origin" in message
    _error(client.post("/dub", json={"video": "demo.mp4", "subtitles": "demo.en.srt"}, headers=null), 403,
           "ForbiddenOrigin")
    _error(client.delete("/jobs/0123", headers=null), 403, "ForbiddenOrigin")
    assert client.get("/limits", headers=null).status_code == 200
    assert service.queue.jobs() == []


@pytest.mark.parametrize("kind", ["multipart/form-data; boundary=b", "application/x-www-form-urlencoded",
                                  "text/plain", None])
def test_a_post_a_form_could_send_needs_a_header_no_form_can_set(client, service, kind):
    body = b'--b\r\nContent-Disposition: form-data; name="video"\r\n\r\ndemo.mp4\r\n--b--\r\n'
    headers = {"content-type": kind} if kind else {}
    message = _error(client.post("/dub", content=body, headers=headers), 403, "ForbiddenForm")
    assert "X-Dubber-Client" in message
    # With the header the body is read: refused for what it lacks (no subtitles), or for its type.
    answer = client.post("/dub", content=body, headers={**headers, "x-dubber-client": "tests"})
    assert answer.status_code == (400 if kind and kind.startswith("multipart") else 415), answer.text
    assert service.queue.jobs() == []


def test_json_is_held_to_the_json_limit_on_every_endpoint(client):
    """1 MB of JSON, to /dub as to /tts (the upload limit is for uploads only), counted without a Content-Length too."""
    big = b'{"video": "demo.mp4", "subtitles": "demo.en.srt", "lang": "en"' + b" " * 1_500_000 + b"}"
    json_type = {"content-type": "application/json"}
    for path in ("/dub", "/tts"):
        _error(client.post(path, content=big, headers=json_type), 413, "TooLarge")

    def chunks():
        for i in range(0, len(big), 100_000):
            yield big[i:i + 100_000]

    _error(client.post("/dub", content=chunks(), headers=json_type), 413, "TooLarge")


@pytest.mark.parametrize(("given", "room", "problem"), [
    ("x" * (NAME_MAX + 1) + ".mkv", 0, f"the limit is {NAME_MAX}"),
    ("d/" * 2100 + "out.mkv", 0, f"the limit is {PATH_MAX}"),
    ("y" * (NAME_MAX - 10) + ".mkv", 40, f"the limit is {NAME_MAX - 40}"),
    ("missing/out.mkv", 0, "its folder does not exist"),
    ("\ud800.mkv", 0, "characters no file name can"),
])
def test_a_path_the_file_system_cannot_hold_is_refused_naming_its_field(tmp_path, given, room, problem):
    with pytest.raises(UsageError, match=problem) as caught:
        allowed_path(given, [tmp_path], "output", must_exist=False, room=room)
    assert caught.value.field == "output" and str(caught.value).startswith("output")
    assert allowed_path("z" * (NAME_MAX - 44) + ".mkv", [tmp_path], "output", must_exist=False, room=40).parent \
        == tmp_path


def test_a_link_loop_is_refused_not_followed_forever(tmp_path: Path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(UsageError, match="a link loop"):
        allowed_path("loop/clip.mp4", [tmp_path], "video")


def test_the_token_is_blanked_in_an_access_log_record():
    # As uvicorn's access logger makes it: '%s - "%s %s HTTP/%s" %d' with the path and its query.
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/jobs/1/result?token=s3cret-token-value&x=1", "1.1", 200),
                               None)
    assert RedactTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /jobs/1/result?token=[redacted]&x=1 HTTP/1.1" 200'
