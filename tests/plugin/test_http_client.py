"""The shared HTTP helper of the server engines, against small in-process servers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, SynthesisError, UsageError
from dubber.plugin.engine import Capabilities
from dubber.plugin.http_client import ServedEngine, Server, probe, server_message

HINT = "start it with: python server.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], str]]:
    """Start a server on 127.0.0.1 whose every request is answered by `answer(handler)`; give its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[BaseHTTPRequestHandler], None]) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                answer(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _reply(status: int, body: bytes = b"", content_type: str = "application/json"):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


def _server(url: str, timeout_ms: int = 5000) -> Server:
    return Server("fake", "Fake", url, HINT, timeout_ms)


# -- error bodies -------------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    (b'{"message": "tts failed", "Exception": "CUDA out of memory"}', "tts failed: CUDA out of memory"),
    (b'{"message": "text is required"}', "text is required"),
    (b'{"detail": "Method Not Allowed"}', "Method Not Allowed"),
    (b'{"detail": [{"loc": ["body", "tts_text"], "msg": "field required"}]}',
     '[{"loc": ["body", "tts_text"], "msg": "field required"}]'),
    ("CUDA 内存不足\n".encode(), "CUDA 内存不足"),
    (b"", "(no body)"),
])
def test_server_message_reads_each_servers_error_form(body, message):
    assert server_message(body) == message


def test_a_long_error_body_is_cut():
    assert server_message(b"x" * 5000) == "x" * 500


# -- calls --------------------------------------------------------------------------------------

def test_a_call_returns_the_whole_answer_and_its_headers(serve):
    url = serve(_reply(200, b"\x01\x02" * 50000, "audio/wav"))
    answer = _server(url).call("/tts", b"{}", "application/json", text="hi")
    assert answer.body == b"\x01\x02" * 50000 and answer.headers["Content-Type"] == "audio/wav"


def test_a_local_server_is_reached_past_a_configured_proxy(serve, monkeypatch):
    url = serve(_reply(200, b"ok"))
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    assert _server(url).call("/tts", b"{}", "application/json", text="hi").body == b"ok"


def test_an_error_status_carries_the_servers_message(serve):
    url = serve(_reply(400, b'{"message": "tts failed", "Exception": "bad reference"}'))
    with pytest.raises(SynthesisError, match=r"Fake failed on 'hi': /tts answered HTTP 400 Bad Request: "
                                             r"tts failed: bad reference") as info:
        _server(url).call("/tts", b"{}", "application/json", text="hi")
    assert info.value.status == 400 and info.value.engine == "fake" and info.value.text == "hi"


def test_connection_refused_is_engine_unavailable_with_the_start_hint():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(EngineUnavailable, match=r"no Fake server answers at .* \(connection refused\); start it") as info:
        _server(url).call("/tts", b"{}", "application/json", text="hi")
    assert info.value.hint == HINT and info.value.url == url


def test_no_answer_in_time_is_a_timeout(serve):
    url = serve(lambda handler: time.sleep(1.0))
    start = time.monotonic()
    with pytest.raises(SynthesisError, match="timed out after 200 ms on /tts") as info:
        _server(url, timeout_ms=200).call("/tts", b"{}", "application/json", text="hi")
    assert info.value.timeout_ms == 200 and time.monotonic() - start < 0.9


def test_a_trickling_answer_is_bounded_as_a_whole(serve):
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(20 * 100_000))
        handler.end_headers()
        try:
            for _ in range(20):  # each piece comes well within the socket timeout
                handler.wfile.write(b"\0" * 100_000)
                handler.wfile.flush()
                time.sleep(0.05)
        except ConnectionError:
            pass  # the client gave up, as it should

    url = serve(trickle)
    with pytest.raises(SynthesisError, match="timed out after 300 ms"):
        _server(url, timeout_ms=300).call("/tts", b"{}", "application/json", text="hi")


def test_an_answer_cut_short_is_a_synthesis_error(serve):
    def cut(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"\0" * 10)
        handler.close_connection = True

    url = serve(cut)
    with pytest.raises(SynthesisError, match="cut short after 10 bytes"):
        _server(url).call("/tts", b"{}", "application/json", text="hi")


def test_a_connection_closed_without_an_answer_is_a_synthesis_error(serve):
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True

    url = serve(hang_up)
    with pytest.raises(SynthesisError, match=f"the Fake server at {url} broke off its answer on /tts"):
        _server(url).call("/tts", b"{}", "application/json", text="hi")


# -- probing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [200, 404, 405, 500])
def test_any_http_answer_means_a_server_is_up(serve, status):
    assert probe(serve(_reply(status, json.dumps({"detail": "Not Found"}).encode()))) is None


def test_a_free_port_is_refused():
    assert probe(f"http://127.0.0.1:{_free_port()}") == "connection refused"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket that listens, so connections are made, but that never reads or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock


def test_a_silent_listener_is_reported_busy(listener):
    start = time.monotonic()
    why = probe(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=0.2)
    assert why == "it took the connection but sent no answer within 0.2 s; it may be busy"
    assert time.monotonic() - start < 1.0


def test_something_that_is_not_http_is_named(listener):
    def babble() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=babble, daemon=True)
    thread.start()
    why = probe(f"http://127.0.0.1:{listener.getsockname()[1]}")
    thread.join(timeout=5)
    assert why.startswith("what listens there does not answer HTTP")


def test_not_answering_says_how_to_start_the_server(serve):
    assert _server(serve(_reply(404))).not_answering() is None
    url = f"http://127.0.0.1:{_free_port()}"
    assert _server(url).not_answering() == f"no Fake server answers at {url} (connection refused); {HINT}"


class _Engine(ServedEngine):
    name = "fake"
    capabilities = Capabilities(languages=("en",), sample_rate=16000, voices=())

    def __init__(self, url: str = "http://127.0.0.1:9") -> None:
        if "10.0.0.1" in url:
            raise UsageError("fake server URL points at '10.0.0.1', which is not on this machine")
        self.server = _server(url)

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.get("url"))

    def synthesize(self, request):
        raise AssertionError("availability never speaks")


def test_server_availability_checks_settings_and_probes_only_when_asked(serve):
    def available(url, probe):
        return _Engine.availability(EngineSettings("fake", {"url": url}), probe=probe)

    down = f"http://127.0.0.1:{_free_port()}"
    assert available("http://10.0.0.1:9", True).endswith("not on this machine")
    assert available(down, False) is None
    assert available(down, True).startswith(f"no Fake server answers at {down}")
    assert available(serve(_reply(404)), True) is None
