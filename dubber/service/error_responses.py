"""The service's errors, every one as JSON: a typed error gets its type's status, an invalid request
422 naming the fields, and anything else a catch-all 500 that keeps the connection open.

Starlette's own last resort (ServerErrorMiddleware) answers 500 in plain text and then re-raises, so
uvicorn drops the connection; `CatchAll` sits inside it, answers and logs the traceback instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from dubber.errors import DubberError
from dubber.service.access import App, Message, Receive, Scope, Send

RETRY_AFTER_S = 5
HTTP_KINDS = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge",
              415: "UnsupportedMediaType"}
LOG = logging.getLogger("dubber.service")


def error_response(status: int, kind: str, message: str, **extra: Any) -> Response:
    """{"error": {"type", "message", ...}} (ASCII JSON, so any character a request held can be quoted back)."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 429 else None
    body = json.dumps({"error": {"type": kind, "message": message, **extra}})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def install(app: FastAPI, statuses: Sequence[tuple[type[DubberError], int]]) -> None:
    """Answer every error in JSON: the typed family by `statuses` (first match wins), the rest 422, 4xx or 500."""

    @app.exception_handler(DubberError)
    async def dubber_error(request: Request, exc: DubberError) -> Response:
        status = next(code for cls, code in statuses if isinstance(exc, cls))
        if status >= 500:
            LOG.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        extra = {"fields": [{"field": exc.details["field"], "problem": str(exc)}]} if "field" in exc.details else {}
        return error_response(status, type(exc).__name__, str(exc), **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
                  for e in exc.errors()]
        message = "; ".join(f"{f['field'] or 'body'}: {f['problem']}" for f in fields) or "the request is invalid"
        return error_response(422, "ValidationError", message, fields=fields)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(exc.status_code, HTTP_KINDS.get(exc.status_code, "HTTPError"), str(exc.detail))

    app.add_middleware(CatchAll)


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a JSON 500, logged with its traceback, and
    the connection stays open. Once an answer has begun it cannot be replaced: then the error goes on."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            LOG.error("%s %s failed", scope.get("method"), scope.get("path"), exc_info=exc)
            response = error_response(500, "InternalError", f"the service failed on this request "
                                                             f"({type(exc).__name__}); its log has the details")
            await response(scope, receive, send)
