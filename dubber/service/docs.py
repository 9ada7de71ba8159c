"""The service's documentation: its OpenAPI schema as this service runs, and /docs to browse it.

The schema states the limits this service enforces and offers, as enums, only the engines that can
run here now (`registry.describe`: installed, set up, and for served engines answering), with their
voices and languages; it is worked out again on each request, as servers come and go. /docs is
Swagger UI from the files fastapi-offline ships (no CDN: it works offline), and sends the token it
was opened with (/docs?token=T) with every request it makes, the schema's included.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from dubber.config import Config
from dubber.plugin import registry
from dubber.service.api_models import Limits
from dubber.subtitles.speakers import AUTO

DOCS_ASSETS = "/docs-assets"  # Swagger UI's script, style and icon (web/docs.html names them): public files
SWAGGER_PACKAGE = ("fastapi_offline", "static")


@dataclass(frozen=True)
class Offer:
    """What a request can ask for here: engines that can run, their voices and their languages."""

    engines: list[str]
    voices: list[str]
    languages: list[str]


def offer(config: Config | None, names: Collection[str] | None) -> Offer:
    """The engines among `names` (None: all) that can run with `config` now, and their voices and languages."""
    usable = [row for row in registry.describe(config, probe=True, names=names) if row["available"]]
    return Offer([row["name"] for row in usable],
                 sorted({v for row in usable for v in row["capabilities"]["voices"]}),
                 sorted({lang for row in usable for lang in row["capabilities"]["languages"]}))


def add_docs(app: FastAPI) -> None:
    """Serve /docs and the files it loads (the app is made with docs_url=None)."""
    app.mount(DOCS_ASSETS, StaticFiles(packages=[SWAGGER_PACKAGE]), name="docs-assets")
    page = resources.files("dubber.service").joinpath("web/docs.html").read_text(encoding="utf-8")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)


def document(app: FastAPI, limits: Limits, config: Config | None, names: Collection[str] | None) -> None:
    """Write this service's limits and offered choices into its schema, as it enforces them."""
    generate = app.openapi
    base: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not base:
            base.update(generate())
            tts = base["components"]["schemas"]["TtsRequest"]["properties"]
            tts["text"]["maxLength"] = limits.max_text_chars
            tts["duration_ms"].update(minimum=limits.min_duration_ms, maximum=limits.max_duration_ms)
        schema = copy.deepcopy(base)
        now = offer(config, names)
        _offered_choices(schema["components"]["schemas"]["TtsRequest"]["properties"], now.engines, now.voices,
                         now.languages)
        for body in schema["paths"]["/dub"]["post"]["requestBody"]["content"].values():
            _offered_choices(body["schema"]["properties"], now.engines, [*now.voices, AUTO], now.languages)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _offered_choices(props: dict[str, Any], engines: list[str], voices: list[str], langs: list[str]) -> None:
    props["engine"]["anyOf"] = [{"type": "string", "enum": engines}, {"type": "null"}]
    props["voice"]["anyOf"] = [{"type": "string", "enum": voices}, {"type": "null"}]
    props["lang"] = {**{k: v for k, v in props["lang"].items() if k not in ("pattern", "maxLength")}, "enum": langs}
