"""schemathesis against /openapi.json: generated requests, valid and invalid, to the running service.

Every answer must be one the schema documents (status, content type, body, headers), no request may
cause a server error, and invalid requests must be refused. One check is left out: that every
schema-valid request is accepted. A schema cannot say that a text must hold something speakable,
that a voice must belong to the engine asked for, or that a path must exist inside an allowed
folder; those requests are refused with 4xx and a message (tests/dubber/service/test_app.py checks
each). The service offers Piper only and caps texts and durations, so each generated line is quick
to speak. (schemathesis's pytest plugin does not load under pytest 9, so each operation's strategy
is driven with hypothesis's @given directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dubber.service.app import ServiceSettings
from tests.dubber.service.service_server import RunningService

# Operations with something a request can get wrong (a body or typed parameters): the others have
# no invalid requests to generate.
NEGATABLE = [("GET", "/voices"), ("POST", "/tts"), ("POST", "/dub")]
OPERATIONS = [("GET", "/limits"), ("GET", "/voices"), ("POST", "/tts"), ("POST", "/dub"), ("GET", "/jobs"),
              ("GET", "/jobs/{job_id}"), ("DELETE", "/jobs/{job_id}"), ("GET", "/jobs/{job_id}/result"),
              ("GET", "/jobs/{job_id}/files/{name}")]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):
    running = RunningService(ServiceSettings(allowed_folders=(tmp_path_factory.mktemp("allowed"),),
                                             work_dir=tmp_path_factory.mktemp("jobs"), engines=("piper",),
                                             max_text_chars=120, max_duration_ms=8000, queue_size=4, keep_jobs=20,
                                             max_upload_bytes=1_000_000))
    yield schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    running.stop()


def test_the_schema_documents_every_operation(api_schema):
    found = sorted((op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations())
    assert found == sorted(OPERATIONS)


CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + [(m, p, GenerationMode.NEGATIVE) for m, p in NEGATABLE]


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES])
def test_the_service_keeps_to_its_schema(api_schema, method, path, mode):
    operation = api_schema[path][method]
    statuses: list[int] = []

    # schemathesis cannot negate a binary form field (ValueError: Unsupported type: 'Binary'): invalid
    # /dub bodies are generated as JSON; both kinds of body are read into the same model.
    media = "application/json" if (method, path, mode) == ("POST", "/dub", GenerationMode.NEGATIVE) else None

    @given(case=operation.as_strategy(generation_mode=mode, media_type=media))
    @settings(max_examples=20, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def call(case):
        # X-Dubber-Client: what a multipart POST needs, as a client other than a web page's form
        response = case.call_and_validate(timeout=120, excluded_checks=[positive_data_acceptance],
                                          headers={"X-Dubber-Client": "schemathesis"})
        statuses.append(response.status_code)

    call()
    # Bodies vary without end; an operation without inputs has one request to make.
    assert len(statuses) >= (10 if method == "POST" else 1), f"only {len(statuses)} requests were made"
