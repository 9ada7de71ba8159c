"""Who may talk to the service, and how much they may send: an ASGI middleware in front of every route.

- Token: when the service has one (always, off loopback), every request carries it, as
  `Authorization: Bearer T`, `X-Dubber-Token: T` or `?token=T` (the web page's address).
- Host: on loopback the Host header must name loopback, so a web page elsewhere cannot reach the
  service through a DNS name it re-points at 127.0.0.1 (DNS rebinding).
- Origin: a browser request from another site's page is refused unless that origin is allowed
  (`--cors-origin`): any page on the web could otherwise make the user's browser post to it.
- Size: a body over the limit is refused with 413 before it is read (Content-Length), or as soon
  as it passes the limit (chunked uploads).
- Paths: a file a request names must lie inside the allowed folders, links followed (`allowed_path`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
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
    body_limit: Callable[[str, str], int]  # (method, path) -> the most bytes a body may have


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
        refused = self._refusal(scope, headers)
        if refused is not None:
            status, kind, message, extra = refused
            await _send_error(send, status, kind, message, extra)
            return
        limit = self.policy.body_limit(scope["method"], scope["path"])
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _send_error(send, 413, "TooLarge", f"the request body ({int(length)} bytes) is over the limit of "
                                                     f"{limit} bytes for {scope['method']} {scope['path']}")
            return
        await self.app(scope, _counting(receive, limit), send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str, dict[str, str]] | None:
        policy = self.policy
        host = headers.get("host", "")
        if policy.loopback and host and not is_loopback(host_name(host)):
            return 403, "ForbiddenHost", (f"this service answers on loopback only, not for host {host!r}; "
                                          "start it with --host and --token to serve other machines"), {}
        origin = headers.get("origin")
        if origin and origin != "null" and origin not in policy.origins and origin != f"{_scheme(scope)}://{host}":
            return 403, "ForbiddenOrigin", (f"requests from pages at {origin} are not allowed; start the service "
                                            f"with --cors-origin {origin} to allow them"), {}
        if policy.token is not None and scope["method"] != "OPTIONS":
            given = _token(headers, scope.get("query_string", b""))
            if given is None or not hmac.compare_digest(given.encode(), policy.token.encode()):
                what = "a wrong token" if given is not None else "no token"
                return 401, "Unauthorized", (f"this service needs its token and the request carried {what}: send "
                                             f"'Authorization: Bearer TOKEN', '{TOKEN_HEADER}: TOKEN' or ?token=TOKEN"), \
                    {"www-authenticate": "Bearer"}
        return None


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


def allowed_path(given: str, folders: Sequence[Path], what: str, must_exist: bool = True) -> Path:
    """A path from a request, resolved (links followed) and checked to lie inside an allowed folder.

    A relative path is taken from the first allowed folder. The answer never says whether a path
    outside the folders exists.
    """
    if "\x00" in given:
        raise UsageError(f"{what}: a path cannot hold a NUL character")
    path = Path(given).expanduser()
    path = (path if path.is_absolute() else folders[0] / path).resolve()
    if not any(path.is_relative_to(folder) for folder in folders):
        raise ForbiddenPath(f"{what} {given!r} is outside the folders this service may use "
                            f"({', '.join(str(f) for f in folders)}; start it with --allow FOLDER)",
                            path=given)
    if must_exist and not path.is_file():
        raise UsageError(f"{what} {given!r}: no such file", path=given)
    return path
