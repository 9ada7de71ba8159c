"""Server engines reach only this machine unless opted in, and never follow a redirect."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dubber.cli.main import EXIT_USAGE, main
from dubber.config import load_config
from dubber.errors import SynthesisError, UsageError
from dubber.plugin.cosyvoice import CosyVoiceEngine
from dubber.plugin.gpt_sovits import GptSovitsEngine
from dubber.plugin.http_client import Server, probe

REMOTE = ["http://10.0.0.5:9880", "https://tts.example.com", "http://[2001:db8::1]:80", "http://0.0.0.0:9880",
          "http://ip6-localhost:9880", "http://localhost.localdomain", "http://127.0.0.1.nip.io:9880",
          "http://127.0.0.1@evil.example:9880"]
LOCAL = ["http://127.0.0.1:9880", "http://127.8.9.10", "http://localhost:50000", "http://LOCALHOST",
         "http://[::1]:9880", "https://[::ffff:127.0.0.1]:8443"]
NOT_HTTP = ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70", "javascript:alert(1)",
            "127.0.0.1:9880", "http:///tts"]


@pytest.fixture
def no_name_lookups(monkeypatch):
    """Fail any test that resolves a host name: a name's address is not ours to trust."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"looked up a host name: {args[:1]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)


@pytest.mark.parametrize("url", REMOTE)
def test_a_server_elsewhere_is_refused_with_the_way_to_opt_in(url, no_name_lookups):
    with pytest.raises(UsageError) as info:
        Server("cosyvoice", "CosyVoice", url, "start it")
    message = str(info.value)
    assert "not on this machine" in message
    assert "allow_remote = true under [engines.cosyvoice]" in message
    assert "--engine-opt cosyvoice.allow_remote=true" in message
    assert Server("cosyvoice", "CosyVoice", url, "start it", allow_remote=True).url == url.rstrip("/")


@pytest.mark.parametrize("url", LOCAL)
def test_a_server_on_this_machine_needs_no_opt_in(url, no_name_lookups):
    assert Server("gpt_sovits", "GPT-SoVITS", url + "/", "start it").url == url


@pytest.mark.parametrize("url", NOT_HTTP)
def test_only_http_and_https_urls_are_taken_even_with_the_opt_in(url, no_name_lookups):
    with pytest.raises(UsageError, match="gpt_sovits server URL"):
        Server("gpt_sovits", "GPT-SoVITS", url, "start it", allow_remote=True)


@pytest.mark.parametrize("engine", [GptSovitsEngine, CosyVoiceEngine])
def test_engines_refuse_a_remote_url_unless_allowed(engine, no_name_lookups):
    with pytest.raises(UsageError, match=f"--engine-opt {engine.name}.allow_remote=true"):
        engine(url="http://192.168.1.20:9000")
    assert engine(url="http://192.168.1.20:9000", allow_remote=True).server.url == "http://192.168.1.20:9000"


@pytest.mark.parametrize("engine", [GptSovitsEngine, CosyVoiceEngine])
def test_the_opt_in_comes_from_config_or_override(tmp_path, engine):
    url_opt = f"{engine.name}.url=http://192.168.1.20:9000"
    with pytest.raises(UsageError, match=f"engines.{engine.name}.url points at '192.168.1.20'"):
        load_config(tmp_path / "none.toml", [url_opt])
    by_override = load_config(tmp_path / "none.toml", [url_opt, f"{engine.name}.allow_remote=true"])
    assert engine.from_settings(by_override.engine(engine.name)).server.url == "http://192.168.1.20:9000"
    toml = tmp_path / "config.toml"
    toml.write_text(f'[engines.{engine.name}]\nurl = "http://192.168.1.20:9000"\nallow_remote = true\n')
    assert engine.from_settings(load_config(toml).engine(engine.name)).server.url == "http://192.168.1.20:9000"


def test_dubber_engines_refuses_a_remote_override_as_a_usage_error(tmp_path, capsys):
    code = main(["engines", "--no-probe", "--config", str(tmp_path / "none.toml"),
                 "--engine-opt", "cosyvoice.url=http://203.0.113.7:50000"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "cosyvoice.url" in err and "203.0.113.7" in err and "cosyvoice.allow_remote=true" in err


# -- redirects ----------------------------------------------------------------------------------

@pytest.fixture
def servers() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], tuple[str, list[str]]]]:
    """Start loopback servers; each gives its URL and the list of paths it was asked for."""
    started: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[BaseHTTPRequestHandler], None]) -> tuple[str, list[str]]:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                hits.append(f"GET {self.path}")
                answer(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hits.append(f"POST {self.path}")
                answer(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", hits

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"RIFF"):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_redirect_is_never_followed(servers, status, method):
    target, target_hits = servers(_answer(200, body=b"audio"))
    url, hits = servers(_answer(status, {"Location": f"{target}/stolen"}))
    with pytest.raises(SynthesisError, match=rf"redirected /tts to {target}/stolen \(HTTP {status}\); "
                                             "dubber does not follow redirects") as info:
        Server("gpt_sovits", "GPT-SoVITS", url, "start it").call("/tts", b"{}", "application/json", text="hi",
                                                                  method=method)
    assert info.value.status == status and info.value.location == f"{target}/stolen"
    assert hits == [f"{method} /tts"] and target_hits == []


def test_probing_does_not_follow_a_redirect_but_counts_it_as_an_answer(servers):
    target, target_hits = servers(_answer(200))
    url, hits = servers(_answer(302, {"Location": f"{target}/"}))
    assert probe(url) is None
    assert hits == ["GET /"] and target_hits == []
