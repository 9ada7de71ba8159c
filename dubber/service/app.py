"""`dubber serve`: dubbing as a local HTTP service, for editing tools whose plugins cannot run Python.

Endpoints (documented at /openapi.json, browsable at /docs): GET /voices, POST /tts (one line
fitted to a duration), POST /dub (a job: paths inside the allowed folders, or uploads), GET
/jobs and /jobs/{id} (progress and each line's status), GET /jobs/{id}/result (the dubbed video)
and /jobs/{id}/files/{name} (report, stem, hand-off files), DELETE /jobs/{id}, GET /limits, and
the web page at /. Dubs run on worker threads behind a bounded queue (429 when it is full); /tts
runs on the request's thread, at most `tts_slots` at a time. Every error is JSON:
{"error": {"type": ..., "message": ...}} (`dubber.service.error_responses`). Who may call, and how much they
may send, is checked first (`dubber.service.access`); the schema and /docs are `dubber.service.docs`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import threading
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from dubber import __version__

from dubber.config import Config
from dubber.errors import (
    DubberError,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    ForbiddenPath,
    JobNotReady,
    MediaError,
    OutputClash,
    OverBudget,
    QueueFull,
    SubtitleError,
    SynthesisError,
    TooLarge,
    UnknownEngine,
    UnknownFile,
    UnknownJob,
    UnknownVoice,
    UnsupportedLanguage,
    UsageError,
)
from dubber.fitting.fitter import FitPolicy
from dubber.pipeline.dub import DubOptions
from dubber.pipeline.session import STATUS_COLOURS, STATUS_WORDS
from dubber.pipeline.speak import speak
from dubber.plugin import registry
from dubber.plugin.engine import Reference, check_language, check_voice
from dubber.service import docs as service_docs, error_responses as service_errors
from dubber.service.access import (
    AccessGuard,
    AccessPolicy,
    allowed_path,
    is_loopback,
    media_type,
    redact_logger,
)
from dubber.service.api_models import (
    DubAccepted,
    DubRequest,
    ErrorBody,
    JobList,
    JobStatus,
    Limits,
    TtsRequest,
    TtsResult,
)
from dubber.service.dub_job import DubSpec, run_dub
from dubber.service.jobs import DONE, ENDED, Job, JobQueue
from dubber.subtitles.speakers import AUTO, TUNE
from dubber.synthesis.budget import check_spoken_length

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".m4v", ".webm", ".avi", ".mxf", ".ts")
SUBTITLE_SUFFIXES = (".srt", ".ass", ".ssa", ".vtt")
OUTPUT_SUFFIXES = (".mp4", ".mkv", ".mov")
COPY_CHUNK = 1 << 20
OUTPUT_ROOM = 40  # bytes an output's name leaves for the names derived from it (OUT.dubber.json, temp files)
# Job files' types, text in UTF-8; anything else is guessed from its suffix.
FILE_TYPES = {".ass": "text/x-ssa; charset=utf-8", ".ssa": "text/x-ssa; charset=utf-8",
              ".srt": "application/x-subrip; charset=utf-8", ".vtt": "text/vtt; charset=utf-8",
              ".json": "application/json", ".otio": "application/json", ".wav": "audio/wav",
              ".fcpxml": "application/xml; charset=utf-8", ".edl": "text/plain; charset=utf-8"}

# Each error type's HTTP status, the first match winning (subclasses before their bases).
HTTP_STATUS: list[tuple[type[DubberError], int]] = [
    (QueueFull, 429), (ForbiddenPath, 403), (TooLarge, 413), (OverBudget, 422), (UnknownJob, 404),
    (UnknownFile, 404), (JobNotReady, 409), (OutputClash, 409),
    (UnknownEngine, 400), (UnknownVoice, 400), (UnsupportedLanguage, 400), (UsageError, 400),
    (SubtitleError, 422), (MediaError, 422), (EngineUnavailable, 503), (EngineTimeout, 504),
    (SynthesisError, 502), (EngineError, 502), (DubberError, 500),
]
WAV_HEADERS = {"X-Dubber-Target-Ms": "target_ms", "X-Dubber-Speech-Ms": "speech_ms", "X-Dubber-Error-Ms": "error_ms",
               "X-Dubber-Speech-Start-Ms": "speech_start_ms", "X-Dubber-Speech-End-Ms": "speech_end_ms",
               "X-Dubber-Natural-Ms": "natural_ms", "X-Dubber-Method": "method", "X-Dubber-Status": "status",
               "X-Dubber-Engine": "engine", "X-Dubber-Voice": "voice", "X-Dubber-Seed": "seed"}


@dataclass
class ServiceSettings:
    """How the service listens, what it may touch and how much it takes on."""

    host: str = "127.0.0.1"
    port: int = 7860
    token: str | None = None  # required off loopback; on loopback, optional
    allow_remote: bool = False  # listening on another address must be asked for explicitly
    allowed_folders: tuple[Path, ...] = ()  # paths in requests must lie inside one; empty: the current folder
    work_dir: Path | None = None  # jobs' uploads and outputs; None: the user cache folder
    queue_size: int = 8  # dub jobs waiting at most; one more is answered 429
    workers: int = 1  # dub jobs running at once
    keep_jobs: int = 100  # ended jobs remembered (and their files kept)
    tts_slots: int = 4  # /tts requests at once; one more is answered 429
    max_text_chars: int = 1000
    min_duration_ms: int = 100
    max_duration_ms: int = 60_000
    max_upload_bytes: int = 4 * 1024**3  # a whole /dub upload (video and subtitles)
    max_subtitle_bytes: int = 20 * 1024**2
    max_json_bytes: int = 1024**2  # any other request body
    engines: tuple[str, ...] | None = None  # engines offered; None: every registered one
    cors_origins: tuple[str, ...] = ()  # other sites' pages allowed to call the service
    config: Config | None = None  # engine settings (model folders, server URLs)
    folders: tuple[Path, ...] = field(init=False, default=())  # allowed_folders, resolved

    def __post_init__(self) -> None:
        chosen = self.allowed_folders or (Path.cwd(),)
        self.folders = tuple(Path(f).expanduser().resolve() for f in chosen)

    def check(self) -> None:
        """Refuse settings that would expose the service or cannot work."""
        if not is_loopback(self.host):
            if not self.allow_remote:
                raise UsageError(f"--host {self.host} serves other machines: add --allow-remote (and a --token) "
                                 "if that is what you want; the default, 127.0.0.1, serves this machine only")
            if not self.token:
                raise UsageError(f"--host {self.host} serves other machines, so every request must carry a token: "
                                 "give --token or set DUBBER_TOKEN")
        if "null" in self.cors_origins:
            raise UsageError("--cors-origin null would let every sandboxed frame and file:// page call the service; "
                             "serve the calling page from an http(s) origin and allow that")
        if self.token is not None and len(self.token) < 16:
            raise UsageError("the token is too short to guess-proof the service: use at least 16 characters "
                             "(python -c 'import secrets; print(secrets.token_urlsafe())')")
        for folder in self.folders:
            if not folder.is_dir():
                raise UsageError(f"--allow {folder}: no such folder", path=str(folder))
        if min(self.queue_size, self.workers, self.tts_slots, self.keep_jobs) < 1:
            raise UsageError("the queue size, workers and tts slots must each be at least 1")

    def limits(self) -> Limits:
        return Limits(max_text_chars=self.max_text_chars, min_duration_ms=self.min_duration_ms,
                      max_duration_ms=self.max_duration_ms, max_upload_bytes=self.max_upload_bytes,
                      max_subtitle_bytes=self.max_subtitle_bytes, queue_size=self.queue_size,
                      tts_slots=self.tts_slots)

    def work_folder(self) -> Path:
        if self.work_dir is not None:
            return Path(self.work_dir)
        from platformdirs import user_cache_path

        return user_cache_path("dubber") / "service"

    def body_limit(self, method: str, path: str, kind: str) -> int:
        """The most bytes a body may have: an upload's limit for /dub's multipart form, else the JSON limit."""
        return self.max_upload_bytes if (method, path, kind) == ("POST", "/dub", "multipart/form-data") \
            else self.max_json_bytes


ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 403, 413, 422)}


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service's application: routes, error handling and the access guard, with its job queue."""
    settings.check()
    work = settings.work_folder()
    work.mkdir(parents=True, exist_ok=True)
    queue = JobQueue(run_dub, size=settings.queue_size, workers=settings.workers, keep=settings.keep_jobs)
    tts_slots = threading.BoundedSemaphore(settings.tts_slots)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(queue.close, 30.0)

    app = FastAPI(title="dubber", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Duration-exact dubbing: every line spoken to fit its slot, measured. "
                              "Paths in requests must lie inside the folders the service was started with. "
                              "A multipart POST needs an X-Dubber-Client header (any value).")
    app.state.queue = queue
    app.state.settings = settings
    service_errors.install(app, HTTP_STATUS)
    service_docs.document(app, settings.limits(), settings.config, settings.engines)
    service_docs.add_docs(app)

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_page(settings))

    @app.get("/limits", response_model=Limits, responses=ERRORS, summary="The service's limits")
    def limits() -> Limits:
        return settings.limits()

    @app.get("/voices", responses=ERRORS, summary="Engines, their voices, languages and capabilities")
    def voices(probe: bool = Query(True, description="ask served engines whether they answer")
               ) -> list[dict[str, Any]]:
        return registry.describe(settings.config, probe=probe, names=settings.engines)

    @app.post("/tts", responses={**ERRORS, 429: {"model": ErrorBody}, 502: {"model": ErrorBody},
                                 503: {"model": ErrorBody}, 504: {"model": ErrorBody},
                                 200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}},
                                                   "application/json": {"schema": TtsResult.model_json_schema()}},
                                       "headers": {name: {"schema": {"type": "string"}, "description": key}
                                                   for name, key in WAV_HEADERS.items()},
                                       "description": "the WAV with its measurements in X-Dubber-* headers, or "
                                                      "JSON with the WAV in base64 (format: json)"}},
              summary="Speak one line fitted to a duration", response_class=Response)
    def tts(body: TtsRequest) -> Response:
        options = _tts_options(body, settings)
        if not tts_slots.acquire(blocking=False):
            raise QueueFull(f"{settings.tts_slots} lines are being spoken already; try again in a moment")
        try:
            fit, measured = speak(body.text, body.duration_ms, options, settings.folders[0])
        finally:
            tts_slots.release()
        wav = _wav_bytes(fit.samples, fit.sample_rate)
        if body.format == "json":
            return JSONResponse(TtsResult(**measured, audio=base64.b64encode(wav).decode()).model_dump())
        headers = {name: "" if measured[key] is None else str(measured[key]) for name, key in WAV_HEADERS.items()}
        return Response(wav, media_type="audio/wav", headers={k: _header_safe(v) for k, v in headers.items()})

    @app.post("/dub", status_code=202, response_model=DubAccepted,
              responses={**ERRORS, 409: {"model": ErrorBody}, 415: {"model": ErrorBody}, 429: {"model": ErrorBody}},
              openapi_extra={"requestBody": _dub_body_schema()},
              summary="Start a dub job: a video and its subtitles, by path or upload")
    async def dub(request: Request) -> JSONResponse:
        if queue.full():  # before an upload is copied anywhere
            raise QueueFull(_queue_full_message(queue))
        fields, uploads = await _dub_fields(request, settings)
        try:
            body = DubRequest.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
        job_id = uuid.uuid4().hex
        folder = work / job_id
        try:
            spec = await run_in_threadpool(_dub_spec, body, uploads, folder, settings)
            job = queue.submit(spec, forget=lambda: shutil.rmtree(folder, ignore_errors=True), job_id=job_id)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            for upload in uploads.values():
                await upload.close()
        accepted = DubAccepted(id=job.id, state=job.state, position=queue.position(job),
                               status_url=f"/jobs/{job.id}", result_url=f"/jobs/{job.id}/result")
        return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": f"/jobs/{job.id}"})

    @app.get("/jobs", response_model=JobList, responses=ERRORS, summary="Every job the service remembers")
    def jobs() -> JobList:
        return JobList(jobs=[_status(queue, job) for job in queue.jobs()])

    @app.get("/jobs/{job_id}", response_model=JobStatus, responses={**ERRORS, 404: {"model": ErrorBody}},
             summary="A job's state, progress and per-line status")
    def job_status(job_id: str) -> JobStatus:
        return _status(queue, _job(queue, job_id))

    @app.delete("/jobs/{job_id}", response_model=JobStatus, responses={**ERRORS, 404: {"model": ErrorBody}},
                summary="Cancel a waiting or running job (it stops after its current line), or forget an ended one "
                        "and its files")
    def delete_job(job_id: str) -> JobStatus:
        job = _job(queue, job_id)
        if job.state in ENDED:
            status = _status(queue, job)
            queue.remove(job_id)
            return status
        queue.cancel(job_id)
        return _status(queue, job)

    @app.get("/jobs/{job_id}/result", response_class=FileResponse,
             responses={**ERRORS, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
                        200: {"content": {"video/*": {"schema": {"type": "string", "format": "binary"}}},
                              "description": "the dubbed video"}},
             summary="The dubbed video of a finished job")
    def job_result(job_id: str) -> FileResponse:
        job = _finished(_job(queue, job_id))
        output = Path(job.result["output"])
        return FileResponse(output, filename=output.name, media_type=_video_type(output))

    @app.get("/jobs/{job_id}/files/{name:path}", response_class=FileResponse,
             responses={**ERRORS, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
                        200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                   "format": "binary"}}},
                              "description": "the file"}},
             summary="Another file a finished job wrote: OUT.report.json, OUT.dub.wav, hand-off files")
    def job_file(job_id: str, name: str) -> FileResponse:
        job = _finished(_job(queue, job_id))
        if name not in job.result["files"]:
            raise UnknownFile(f"job {job_id} wrote no file {name!r}; it wrote: {', '.join(job.result['files'])}")
        path = Path(job.result["output"]).parent / name
        return FileResponse(path, filename=path.name, media_type=FILE_TYPES.get(path.suffix.lower()))

    if settings.cors_origins:  # other sites' pages may call the service (and read its X-Dubber-* headers)
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["authorization", "content-type", "x-dubber-token", "x-dubber-client"],
                           expose_headers=list(WAV_HEADERS))
    app.add_middleware(AccessGuard, policy=AccessPolicy(settings.token, is_loopback(settings.host),
                                                        settings.cors_origins, settings.body_limit,
                                                        public=(service_docs.DOCS_ASSETS + "/",)))
    return app


def _page(settings: ServiceSettings) -> str:
    html = resources.files("dubber.service").joinpath("web/index.html").read_text(encoding="utf-8")
    config = {"colours": STATUS_COLOURS, "words": STATUS_WORDS, "limits": settings.limits().model_dump(),
              "version": __version__}
    # </ cannot appear in the JSON (json.dumps leaves '/' alone, so escape '<')
    return html.replace("/*DUBBER_CONFIG*/{}", json.dumps(config).replace("<", "\\u003c"))


def _offered(settings: ServiceSettings, engine: str | None, lang: str) -> str:
    """The engine a request gets: the one it names (if offered) or the default for its language."""
    offered = settings.engines
    if engine is not None and offered is not None and engine not in offered:
        raise UnknownEngine(f"engine {engine!r} is not offered here (offered: {', '.join(offered)})", engine=engine)
    return engine if engine is not None else registry.engine_for_language(lang, among=offered)


def _check_voice(engine: str, voice: str | None, lang: str) -> None:
    """Refuse an unknown engine, voice or language before any work is queued (the engine is not loaded).

    A cloning engine without a catalogue takes any voice name; 'auto' is matched later.
    """
    caps = registry.engine_class(engine).capabilities
    check_language(engine, caps, lang)
    if voice == TUNE:  # minutes of search a speaker: past what one request may cost here
        raise UsageError("voice 'tune' is not offered here: tuning takes minutes a speaker; use `dubber dub --voice "
                         "tune` or the panel's Tune to the original, or voice 'auto'")
    if voice is not None and voice != AUTO and caps.voices:
        check_voice(engine, caps, voice)


def _invalid(field_name: str, message: str) -> RequestValidationError:
    """A limit the schema states (this service's own), broken: refused like any other invalid field."""
    return RequestValidationError([{"loc": ("body", field_name), "msg": message, "type": "value_error"}])


def _check_text(text: str, lang: str, settings: ServiceSettings) -> None:
    if len(text) > settings.max_text_chars:
        raise _invalid("text", f"the text is {len(text)} characters; the limit is {settings.max_text_chars} "
                               "(split the line)")
    check_spoken_length(text, lang, settings.max_text_chars)  # digits become words: 9 × 1000 is 4,999
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
                  and ch not in "\t\n\r"})
    if bad:
        raise UsageError(f"the text holds characters that cannot be spoken: {', '.join(bad[:5])}")
    if not any(ch.isalnum() for ch in text):
        raise UsageError("the text has nothing to speak: no letters or digits")


def _tts_options(body: TtsRequest, settings: ServiceSettings) -> DubOptions:
    _check_text(body.text, body.lang, settings)
    if not settings.min_duration_ms <= body.duration_ms <= settings.max_duration_ms:
        raise _invalid("duration_ms", f"must be between {settings.min_duration_ms} and {settings.max_duration_ms} ms, "
                                      f"got {body.duration_ms}")
    engine = _offered(settings, body.engine, body.lang)
    _check_voice(engine, body.voice, body.lang)
    reference = None
    if body.reference is not None:
        reference = Reference(allowed_path(body.reference, settings.folders, "reference"), body.reference_text.strip(),
                              body.reference_lang)
    elif body.reference_text or body.reference_lang:
        raise UsageError("reference_text and reference_lang describe a reference clip; give the clip too")
    return DubOptions(lang=body.lang, engine=engine, voice=body.voice, seed=body.seed, config=settings.config,
                      reference=reference)


def _dub_body_schema() -> dict[str, Any]:
    """/dub's body: JSON with paths, or a multipart form whose files stand in for the paths."""
    json_schema = DubRequest.model_json_schema()
    form = json.loads(json.dumps(json_schema))
    form["properties"]["exports"] = {"type": "string", "pattern": r"^[a-z,]*$",
                                     "description": "comma-separated: otio, fcpxml, edl, srt, ass, vtt, stems"}
    form["properties"]["video_file"] = {"type": "string", "format": "binary", "description": "the video, uploaded"}
    form["properties"]["subtitles_file"] = {"type": "string", "format": "binary",
                                            "description": "the subtitles, uploaded"}
    form["title"] = "DubUpload"
    return {"required": True, "content": {"application/json": {"schema": json_schema},
                                          "multipart/form-data": {"schema": form}}}


async def _dub_fields(request: Request, settings: ServiceSettings) -> tuple[dict[str, Any], dict[str, UploadFile]]:
    """A /dub body's fields and uploaded files, whichever way it was sent."""
    kind = media_type(dict(request.headers))
    if kind == "application/json":
        try:
            fields = await request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestValidationError([{"loc": ("body",), "msg": f"not JSON: {exc}", "type": "json_invalid"}]) \
                from None
        except RecursionError:
            raise RequestValidationError([{"loc": ("body",), "msg": "the JSON is nested too deeply",
                                           "type": "json_invalid"}]) from None
        if not isinstance(fields, dict):
            raise RequestValidationError([{"loc": ("body",), "msg": "the body must be a JSON object",
                                           "type": "model_type"}])
        return fields, {}
    if kind != "multipart/form-data":
        raise _unsupported(kind)
    form = await request.form(max_files=2, max_fields=40, max_part_size=64 * 1024)
    fields: dict[str, Any] = {}
    uploads: dict[str, UploadFile] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key not in ("video_file", "subtitles_file"):
                raise UsageError(f"unexpected file field {key!r}: upload video_file and subtitles_file")
            uploads[key] = value
        elif key in ("video_file", "subtitles_file"):
            raise UsageError(f"{key} must be an uploaded file (or give the path as {key[:-5]})")
        elif key in fields:
            raise UsageError(f"the field {key!r} is given twice")
        else:
            fields[key] = value
    if "exports" in fields:
        fields["exports"] = [kind for kind in str(fields["exports"]).split(",") if kind]
    return fields, uploads


def _unsupported(kind: str) -> HTTPException:
    return HTTPException(415, f"send /dub as application/json (paths) or multipart/form-data (uploads), "
                              f"not {kind or 'a body without a type'}")


def _dub_spec(body: DubRequest, uploads: dict[str, UploadFile], folder: Path, settings: ServiceSettings) -> DubSpec:
    """Check a dub request, put its uploads in the job's folder and describe the job."""
    engine = _offered(settings, body.engine, body.lang)
    _check_voice(engine, body.voice, body.lang)
    folder.mkdir(parents=True)
    video = _input(body.video, uploads.get("video_file"), "video", VIDEO_SUFFIXES, folder, settings,
                   settings.max_upload_bytes)
    subtitles = _input(body.subtitles, uploads.get("subtitles_file"), "subtitles", SUBTITLE_SUFFIXES, folder,
                       settings, settings.max_subtitle_bytes)
    if body.output is not None:
        output = allowed_path(body.output, settings.folders, "output", must_exist=False, room=OUTPUT_ROOM)
        if output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(f"output {body.output!r}: write .mp4, .mkv or .mov")
    else:  # the job's own folder, new for each job: nothing there to replace
        suffix = video.suffix.lower() if video.suffix.lower() in OUTPUT_SUFFIXES else ".mkv"
        output = folder / f"dubbed{suffix}"
    options = DubOptions(lang=body.lang, engine=engine, voice=body.voice, seed=body.seed, mix=body.mix,
                         policy=FitPolicy(borrow_gap=body.borrow_gap), keep_original=body.keep_original,
                         config=settings.config, loudness=body.loudness, exports=tuple(body.exports),
                         original_lang=body.original_lang, candidates=body.candidates, sync=body.sync,
                         speak_all=body.speak_all, foreign=body.foreign,
                         project=folder / "project.dubber.json" if body.output is None else None)
    spec = DubSpec(video, subtitles, output, options, overwrite=body.overwrite)
    for item in spec.planned() if body.output is not None else ():  # no link beside the output leads out
        allowed_path(str(item.path), settings.folders, item.what, must_exist=False)
    spec.check(advice='send "overwrite": true to replace')  # a clash is the request's error, before a job
    return spec


def _input(path: str | None, upload: UploadFile | None, what: str, suffixes: tuple[str, ...], folder: Path,
           settings: ServiceSettings, limit: int) -> Path:
    """A job's input: an allowed path, or an upload copied into the job's folder."""
    if (path is None) == (upload is None):
        raise UsageError(f"give the {what} as a path ({what}) or an upload ({what}_file), one of the two")
    if path is not None:
        return allowed_path(path, settings.folders, what)
    assert upload is not None
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in suffixes:
        raise UsageError(f"{what}_file {upload.filename!r}: expected a {', '.join(suffixes)} file")
    target = folder / f"input.{what}{suffix}"
    copied = 0
    upload.file.seek(0)
    with open(target, "wb") as out:
        while chunk := upload.file.read(COPY_CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise TooLarge(f"{what}_file is over the limit of {limit} bytes")
            out.write(chunk)
    if copied == 0:
        raise UsageError(f"{what}_file {upload.filename!r} is empty")
    return target


def _queue_full_message(queue: JobQueue) -> str:
    return (f"{queue.waiting()} dub jobs are already waiting (the queue holds {queue.size}); "
            f"try again in a little while")


def _job(queue: JobQueue, job_id: str) -> Job:
    job = queue.get(job_id)
    if job is None:
        raise UnknownJob(f"no job {job_id!r} (it never existed, or it ended long ago and was forgotten)")
    return job


def _finished(job: Job) -> Job:
    if job.state != DONE:
        detail = f": {job.error['message']}" if job.error else ""
        raise JobNotReady(f"job {job.id} is {job.state}, so it has no result yet{detail}")
    return job


def _status(queue: JobQueue, job: Job) -> JobStatus:
    return JobStatus(id=job.id, state=job.state, position=queue.position(job), created_ms=job.created_ms,  # type: ignore[arg-type]
                     started_ms=job.started_ms, finished_ms=job.finished_ms, done=job.done, total=job.total,
                     request=job.spec.describe(), lines=[dict(row) for row in job.lines],  # type: ignore[misc]
                     result=job.result or None, error=job.error)  # type: ignore[arg-type]


def _video_type(path: Path) -> str:
    return {".mp4": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska"}.get(path.suffix.lower(),
                                                                                          "application/octet-stream")


def _wav_bytes(samples: Any, rate: int) -> bytes:
    """A clip as 16-bit PCM WAV, which every browser and editor plays."""
    import numpy as np
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0), int(rate), subtype="PCM_16",
                    format="WAV")
    return buf.getvalue()


def _header_safe(value: str) -> str:
    """A header value in ASCII (a voice name could be anything): non-ASCII is %-escaped."""
    from urllib.parse import quote

    return value if value.isascii() and value.isprintable() else quote(value, safe="")


def serve(settings: ServiceSettings) -> None:
    """Run the service until interrupted."""
    import uvicorn

    app = create_app(settings)
    address = f"[{settings.host}]" if ":" in settings.host else settings.host
    token = f"?token={settings.token}" if settings.token else ""
    print(f"dubber {__version__} serving on http://{address}:{settings.port}/{token}\n"
          f"  API: /docs{token} (schema /openapi.json); paths allowed in: "
          f"{', '.join(str(f) for f in settings.folders)}; jobs in {settings.work_folder()}", flush=True)
    config = uvicorn.Config(app, host=settings.host, port=settings.port,
                            log_level=os.environ.get("DUBBER_LOG", "info"))
    redact_logger()  # after uvicorn has set its logging up: its access log would print ?token= in full
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl-C again once it has shut down
        uvicorn.Server(config).run()
