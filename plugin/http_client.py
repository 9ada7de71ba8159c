"""HTTP calls to engine servers, and what their failures mean to dubber.

The server engines (GPT-SoVITS's api_v2.py, CosyVoice's FastAPI server) send every request
through `Server.call`, which reads the whole answer within the engine's timeout and turns each
failure into one of dubber's errors:

- an HTTP error status: SynthesisError with the status and the server's own message (api_v2's
  JSON `message` and `Exception`, FastAPI's `detail`, or the raw body);
- connection refused: EngineUnavailable, with how to start the server as its hint;
- no connection or no whole answer within the timeout: SynthesisError with `timeout_ms`;
- an answer cut short or a dropped connection: SynthesisError.

`probe` asks whether anything answers HTTP at a URL (for `dubber engines`), and server engines
subclass `ServedEngine`, whose `availability` checks their settings and, probing, their server.
A server on this machine is reached directly, never through a configured proxy.

Where requests may go: the text of every line, and for cloning engines the reference voice, go
to the server, so a `Server` only takes an http(s) URL whose host is this machine (127.0.0.0/8,
::1 or the literal name `localhost`; other names are never looked up, as they could point
anywhere). The one way to reach another machine is the engine's `allow_remote` setting:
`allow_remote = true` under `[engines.NAME]` in config.toml, or `--engine-opt NAME.allow_remote=true`
(see dubber/config.py). Redirects are never followed, so a local server cannot hand a request on
to another host: a 3xx answer is a SynthesisError naming where it pointed.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

from dubber.config import is_loopback, server_url
from dubber.errors import EngineUnavailable, SynthesisError, UsageError
from dubber.plugin.engine import Engine

READ_BYTES = 64 * 1024
ERROR_BODY_CHARS = 500  # the most of a server's error body a message quotes
PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Answer:
    """A server's whole successful answer."""

    body: bytes
    headers: Message


@dataclass(frozen=True)
class Server:
    """An engine's HTTP server, named the way messages name it."""

    engine: str  # the engine's registered name, for error details
    label: str  # how messages name the server's software, e.g. "GPT-SoVITS"
    url: str  # base URL, without a trailing slash
    start_hint: str  # how to start the server, for EngineUnavailable
    timeout_ms: int = 120_000
    allow_remote: bool = False  # the engine's opt-in to a host that is not this machine

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", server_url(self.engine, self.url, self.allow_remote))

    def call(self, path: str, body: bytes, content_type: str, *, text: str, method: str = "POST",
             accept: str | None = None) -> Answer:
        """Send one request for the line `text` and return the whole answer, or raise a dubber error."""
        url = self.url + path
        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        deadline = time.monotonic() + self.timeout_ms / 1000
        try:
            with _opener(self.url).open(request, timeout=self.timeout_ms / 1000) as response:
                return Answer(self._read(response, path, deadline, text), response.headers)
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                raise self._redirected(exc, path, text) from exc
            message = error_message(exc)
            raise SynthesisError(f"{self.label} failed on {text!r}: {path} answered {message}",
                                 engine=self.engine, text=text, status=exc.code, url=url) from exc
        except urllib.error.URLError as exc:  # raised while connecting and sending
            if isinstance(exc.reason, TimeoutError):
                raise self._timed_out(path, text) from exc
            if isinstance(exc.reason, ConnectionRefusedError):
                raise self.unavailable("connection refused") from exc
            raise SynthesisError(f"cannot reach the {self.label} server at {self.url}: {exc.reason}",
                                 engine=self.engine, text=text, url=self.url) from exc
        except TimeoutError as exc:  # raised while waiting for or reading the answer
            raise self._timed_out(path, text) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise SynthesisError(f"the {self.label} server at {self.url} broke off its answer on {path}: {exc!r}",
                                 engine=self.engine, text=text, url=self.url) from exc

    def unavailable(self, why: str) -> EngineUnavailable:
        """Return the error for a server that does not answer, saying how to start it."""
        return EngineUnavailable(f"no {self.label} server answers at {self.url} ({why}); {self.start_hint}",
                                 engine=self.engine, hint=self.start_hint, url=self.url)

    def not_answering(self, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
        """Say that no server answers at the URL and how to start one, or None when one answers."""
        why = probe(self.url, timeout_s)
        return None if why is None else str(self.unavailable(why))

    def _read(self, response: http.client.HTTPResponse, path: str, deadline: float, text: str) -> bytes:
        """Read a (possibly streamed) answer to its end, within the deadline."""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = response.read(READ_BYTES)
            except http.client.IncompleteRead as exc:  # a chunked stream that ended early
                raise self._cut_short(path, sum(map(len, chunks)) + len(exc.partial), text) from exc
            if not chunk:
                break
            chunks.append(chunk)
            if time.monotonic() > deadline:  # the socket timeout is per read; this bounds the whole answer
                raise TimeoutError
        body = b"".join(chunks)
        expected = response.headers.get("Content-Length", "")
        if expected.isdigit() and len(body) < int(expected):  # http.client returns a short body silently
            raise self._cut_short(path, len(body), text)
        return body

    def _redirected(self, exc: urllib.error.HTTPError, path: str, text: str) -> SynthesisError:
        location = exc.headers.get("Location", "") if exc.headers else ""
        exc.close()
        return SynthesisError(f"the {self.label} server at {self.url} redirected {path} to {location or '(nowhere)'} "
                              f"(HTTP {exc.code}); dubber does not follow redirects: set the engine's url to the "
                              f"server itself", engine=self.engine, text=text, status=exc.code, url=self.url,
                              location=location)

    def _cut_short(self, path: str, received: int, text: str) -> SynthesisError:
        return SynthesisError(f"the {self.label} answer on {path} was cut short after {received} bytes",
                              engine=self.engine, text=text, url=self.url)

    def _timed_out(self, path: str, text: str) -> SynthesisError:
        return SynthesisError(f"the {self.label} server timed out after {self.timeout_ms} ms on {path} ({text!r})",
                              engine=self.engine, text=text, timeout_ms=self.timeout_ms)


def error_message(exc: urllib.error.HTTPError) -> str:
    """Say what a server answered with an error status: the status, then its own message."""
    try:
        raw = exc.read()
    except (OSError, http.client.HTTPException):
        raw = b""
    finally:
        exc.close()
    return f"HTTP {exc.code} {exc.reason}: {server_message(raw)}"


def server_message(raw: bytes) -> str:
    """Return the message in an error body: api_v2's `message` and `Exception`, FastAPI's `detail`, or the text."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = None
    if isinstance(payload, dict) and "message" in payload:
        message = str(payload["message"])
        if payload.get("Exception"):
            message += f": {payload['Exception']}"
        return message[:ERROR_BODY_CHARS]
    if isinstance(payload, dict) and "detail" in payload:
        detail = payload["detail"]
        return (detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False))[:ERROR_BODY_CHARS]
    return raw.decode("utf-8", "replace").strip()[:ERROR_BODY_CHARS] or "(no body)"


def probe(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Say why nothing answers HTTP at `url`, or None when something does (any status, even 404)."""
    request = urllib.request.Request(url.rstrip("/") + "/", method="GET")
    try:
        with _opener(url).open(request, timeout=timeout_s):
            return None
    except urllib.error.HTTPError as exc:
        exc.close()
        return None
    except urllib.error.URLError as exc:  # raised while connecting
        if isinstance(exc.reason, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc.reason, TimeoutError):
            return f"no connection within {timeout_s:g} s"
        return str(exc.reason)
    except TimeoutError:  # connected, but no answer: a server busy with one request answers nothing else
        return f"it took the connection but sent no answer within {timeout_s:g} s; it may be busy"
    except (OSError, http.client.HTTPException) as exc:
        return f"what listens there does not answer HTTP: {exc!r}"


class ServedEngine(Engine):
    """An engine that talks to its own server, which it keeps as `server`."""

    server: Server

    @classmethod
    def availability(cls, settings: object | None = None, probe: bool = False) -> str | None:
        """Say what is wrong with the configured settings (URL, timeout, ...), or, probing, that no server answers."""
        try:
            engine = cls() if settings is None else cls.from_settings(settings)
        except UsageError as exc:
            return str(exc)
        return engine.server.not_answering() if probe else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect, so a 3xx answer reaches the caller as an HTTPError."""

    def redirect_request(self, req: urllib.request.Request, fp: object, code: int, msg: str, headers: Message,
                         newurl: str) -> None:
        return None


def _opener(url: str) -> urllib.request.OpenerDirector:
    local = is_loopback(urllib.parse.urlsplit(url).hostname or "")
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if local:
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)
