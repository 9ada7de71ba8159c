"""The service's schema and /docs over real HTTP on loopback: the enums offer only engines that can run here
(and their voices and languages), and /docs loads from the service alone and works with a token."""

from __future__ import annotations

import re

import httpx
import pytest

from dubber.errors import DubberError
from dubber.plugin import registry
from dubber.plugin.engine import check_language, check_voice
from dubber.service.app import ServiceSettings
from dubber.subtitles.speakers import AUTO
from tests.dubber.service.service_server import SAMPLES, RunningService

TOKEN = "docs-token-for-the-tests-0123"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    with RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path_factory.mktemp("jobs"),
                                        token=TOKEN)) as running:
        yield running


@pytest.fixture
def client(service: RunningService):
    with httpx.Client(base_url=service.url, timeout=120, headers={"x-dubber-token": TOKEN}) as c:
        yield c


def _accepted(check, *args) -> bool:
    try:
        check(*args)
    except DubberError:
        return False
    return True


def _choices(props: dict) -> tuple[list[str], list[str], list[str]]:
    return props["engine"]["anyOf"][0]["enum"], props["voice"]["anyOf"][0]["enum"], props["lang"]["enum"]


def test_the_schema_offers_only_what_can_run_here(client):
    schema = client.get("/openapi.json").json()
    tts = schema["components"]["schemas"]["TtsRequest"]["properties"]
    dub = schema["paths"]["/dub"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    engines, voices, langs = _choices(tts)
    assert engines and voices and langs
    assert _choices(dub) == (engines, [*voices, AUTO], langs)
    caps = {name: registry.engine_class(name).capabilities for name in engines}
    for name in engines:  # an offered engine is not answered 503
        assert registry.engine_class(name).availability(None, probe=True) is None, name
    for lang in langs:  # nor an offered language 400: some offered engine speaks it ...
        speakers = [name for name in engines if _accepted(check_language, name, caps[name], lang)]
        assert speakers, lang
        if any(caps[name].cloning == "none" for name in speakers):  # ... and a request naming only it gets one
            assert registry.engine_for_language(lang, among=engines) in speakers
    for voice in voices:  # nor an offered voice 400
        assert any(_accepted(check_voice, name, caps[name], voice) for name in engines), voice
    left_out = [row for row in registry.describe(probe=True) if row["name"] not in engines]
    assert all(not row["available"] for row in left_out), left_out


def test_docs_load_nothing_from_elsewhere(client, service):
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", page.text, re.IGNORECASE), "the docs page names another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"} <= set(assets)
    assert all(asset.startswith("/") and not asset.startswith("//") for asset in assets), assets
    for asset in assets:  # served here, and without the token: a script tag cannot send one
        answer = httpx.get(service.url + asset)
        assert answer.status_code == 200 and len(answer.content) > 1000, asset
    assert "X-Dubber-Token" in page.text and "requestInterceptor" in page.text
    assert httpx.get(service.url + "/docs").status_code == 401
    assert httpx.get(f"{service.url}/docs?token={TOKEN}").status_code == 200
