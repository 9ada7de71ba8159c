"""Who may talk to the service, and how much they may send: an ASGI middleware in front of every route.

- Token: when the service has one (always, off loopback), every request carries it, as
  `Authorization: Bearer T`, `X-Dubber-Token: T` or `?token=T` (the web page's address).
- Host: on loopback the Host header must name loopback, so a web page elsewhere cannot reach the
  service through a DNS name it re-points at 127.0.0.1 (DNS rebinding).
- Origin: a browser request from another site's page is refused unless that origin is allowed
  (`--cors-origin`): any page on the web could otherwise make the user's browser post to it. A
  page without an origin (`Origin: null`: a sandboxed frame, a file:// page) may read but not
  change anything.
- Forms: a POST a page can send without asking first (a form's content type, or none) must carry
  a header no form can set (`X-Dubber-Client`, or the token in a header): a browser that sends no
  Origin cannot be made to start jobs either.
- Size: a body over the limit is refused with 413 before it is read (Content-Length), or as soon
  as it passes the limit (chunked bodies); the limit depends on the body's content type.
- Paths: a file a request names must lie inside the allowed folders, links followed (`allowed_path`),
  and be a name the file system can hold.
- Logs: the token in a logged address is blanked (`RedactTokens`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException

from dubber.errors import ForbiddenPath, UsageError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "localhost.")
TOKEN_HEADER = "x-dubber-token"
CLIENT_HEADER = "x-dubber-client"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Bodies a page may send with no preflight (a CORS "simple" request), a form's included.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain", "")
NAME_MAX = 255  # bytes in one path component (Linux, macOS, Windows alike)
PATH_MAX = 4095  # bytes in a whole path (Linux: 4096 with the closing NUL)
TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*")


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine only."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The host in a Host header, without its port ("[::1]:80" -> "::1")."""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class BodyTooLarge(HTTPException):
    """Raised inside `receive` when a body passes its limit while it is read (an HTTP error, so body
    parsing passes it on as it is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class AccessPolicy:
    token: str | None
    loopback: bool  # bound to loopback: Host headers must name it
    origins: tuple[str, ...]  # other sites' pages allowed to call the service
    body_limit: Callable[[str, str, str], int]  # (method, path, content type) -> the most bytes a body may have
    public: tuple[str, ...] = ()  # path prefixes anyone may GET without the token (the docs page's scripts)


class AccessGuard:
    """The middleware: checks a request's token, host, origin and size before any route sees it."""

    def __init__(self, app: App, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        kind = media_type(headers)
        refused = self._refusal(scope, headers, kind)
        if refused is not None:
            status, error, message, extra = refused
            await _send_error(send, status, error, message, extra)
            return
        limit = self.policy.body_limit(scope["method"], scope["path"], kind)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _send_error(send, 413, "TooLarge", f"the request body ({int(length)} bytes) is over the limit of "
                                                     f"{limit} bytes for {scope['method']} {scope['path']} "
                                                     f"as {kind or 'a body without a type'}")
            return
        await self.app(scope, _counting(receive, limit), send)

    def _refusal(self, scope: Scope, headers: dict[str, str], kind: str
                 ) -> tuple[int, str, str, dict[str, str]] | None:
        policy = self.policy
        method = scope["method"]
        host = headers.get("host", "")
        if policy.loopback and host and not is_loopback(host_name(host)):
            return 403, "ForbiddenHost", (f"this service answers on loopback only, not for host {host!r}; "
                                          "start it with --host and --token to serve other machines"), {}
        origin = headers.get("origin")
        if origin == "null" and method in STATE_CHANGING:
            return 403, "ForbiddenOrigin", (f"{method} from a page without an origin (Origin: null: a sandboxed "
                                            "frame, a file:// page, a redirect from another site) is refused, since "
                                            "any web page can make one; use the service's own page, or serve yours "
                                            "from an http(s) origin and start the service with --cors-origin "
                                            "ORIGIN"), {}
        if origin and origin != "null" and origin not in policy.origins and origin != f"{_scheme(scope)}://{host}":
            return 403, "ForbiddenOrigin", (f"requests from pages at {origin} are not allowed; start the service "
                                            f"with --cors-origin {origin} to allow them"), {}
        public = method in ("GET", "HEAD") and scope["path"].startswith(policy.public)
        if policy.token is not None and method != "OPTIONS" and not public:
            given = _token(headers, scope.get("query_string", b""))
            if given is None or not hmac.compare_digest(given.encode(), policy.token.encode()):
                what = "a wrong token" if given is not None else "no token"
                return 401, "Unauthorized", (f"this service needs its token and the request carried {what}: send "
                                             f"'Authorization: Bearer TOKEN', '{TOKEN_HEADER}: TOKEN' or ?token=TOKEN"), \
                    {"www-authenticate": "Bearer"}
        if method == "POST" and kind in FORM_TYPES and not _custom_header(headers):
            return 403, "ForbiddenForm", (f"a POST {'as ' + kind if kind else 'without a content type'} needs an "
                                          f"{CLIENT_HEADER.title()} header (any value: curl -H '{CLIENT_HEADER.title()}: "
                                          "curl'), or the token in a header: a form on any web page can send this "
                                          "request, but not that header"), {}
        return None


def media_type(headers: dict[str, str]) -> str:
    """A request's content type without its parameters ("multipart/form-data; boundary=x" -> "multipart/form-data")."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _custom_header(headers: dict[str, str]) -> bool:
    """Whether a request carries a header a form cannot set (a page's script can, but only its own origin's
    page, or one --cors-origin allows, gets past the Origin check)."""
    return bool(headers.get(CLIENT_HEADER, "").strip() or headers.get(TOKEN_HEADER)
                or headers.get("authorization", "").lower().startswith("bearer "))


def _scheme(scope: Scope) -> str:
    return str(scope.get("scheme", "http"))


def _token(headers: dict[str, str], query: bytes) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER]
    values = parse_qs(query.decode("latin-1")).get("token")
    return values[0] if values else None


def _counting(receive: Receive, limit: int) -> Receive:
    """`receive`, raising `BodyTooLarge` once the body read so far passes `limit`."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _send_error(send: Send, status: int, kind: str, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RedactTokens(logging.Filter):
    """Blank the token in logged addresses (uvicorn's access log prints `/?token=...` in full)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact(text: str) -> str:
    """`text` with every `token=` query value blanked."""
    return TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


def redact_logger(name: str = "uvicorn.access") -> None:
    """Put `RedactTokens` on a logger, once."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())


def allowed_path(given: str, folders: Sequence[Path], what: str, must_exist: bool = True, room: int = 0) -> Path:
    """A path from a request, resolved (links followed) and checked to lie inside an allowed folder.

    A relative path is taken from the first allowed folder. The answer never says whether a path
    outside the folders exists. With `must_exist` false the path is one to write: its folder must
    exist, and its name leave `room` bytes for the files written beside it (OUT.dubber.json ...).
    """
    if "\x00" in given:
        raise UsageError(f"{what}: a path cannot hold a NUL character", field=what)
    try:
        path = Path(given).expanduser()
    except RuntimeError:  # ~someone with no home here
        raise UsageError(f"{what} {given!r}: no such user's home folder", path=given, field=what) from None
    path = path if path.is_absolute() else folders[0] / path
    _check_name(path, given, what, room)
    try:
        path = path.resolve()
    except RuntimeError:  # pathlib's word for a link loop
        raise UsageError(f"{what} {given!r} cannot be followed: a link loop", path=given, field=what) from None
    if not any(path.is_relative_to(folder) for folder in folders):
        raise ForbiddenPath(f"{what} {given!r} is outside the folders this service may use "
                            f"({', '.join(str(f) for f in folders)}; start it with --allow FOLDER)",
                            path=given)
    try:
        there = path.is_file() if must_exist else path.parent.is_dir()
    except OSError as exc:  # a folder on the way that cannot be searched, a name too long once links are followed
        raise UsageError(f"{what} {given!r} cannot be looked at: {exc.strerror}", path=given, field=what) from None
    if not there:
        raise UsageError(f"{what} {given!r}: " + ("no such file" if must_exist else "its folder does not exist"),
                         path=given, field=what)
    if not must_exist and not os.access(path.parent, os.W_OK):
        raise UsageError(f"{what} {given!r}: its folder cannot be written to", path=given, field=what)
    return path


def _check_name(path: Path, given: str, what: str, room: int) -> None:
    """Refuse a path the file system cannot hold: a name over NAME_MAX bytes or a path over PATH_MAX."""
    try:
        whole = os.fsencode(path)
    except UnicodeEncodeError:
        raise UsageError(f"{what}: the path holds characters no file name can (lone surrogates)", field=what) \
            from None
    if len(whole) + room > PATH_MAX:
        raise UsageError(f"{what}: the path is {len(whole)} bytes; the limit is {PATH_MAX - room}",
                         path=given, field=what)
    for i, part in enumerate(path.parts):
        limit = NAME_MAX - (room if i == len(path.parts) - 1 else 0)
        size = len(os.fsencode(part))
        if size > limit:
            shown = part if len(part) <= 40 else part[:40] + "..."
            raise UsageError(f"{what}: the name {shown!r} is {size} bytes; the limit is {limit}",
                             path=given, field=what)
