"""The service's request and response bodies (pydantic): what `/openapi.json` documents and requests are checked against."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dubber.fitting.slots import SYNC_MODES
from dubber.handoff.export import EXPORT_KINDS
from dubber.mix.mixing import MIX_MODES
from dubber.subtitles.spoken import FOREIGN_CHOICES

LANG_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$"
MAX_SEED = 2**31 - 1
ExportKind = Literal[EXPORT_KINDS]  # type: ignore[valid-type]
MixMode = Literal[MIX_MODES]  # type: ignore[valid-type]
SyncMode = Literal[SYNC_MODES]  # type: ignore[valid-type]
Foreign = Literal[FOREIGN_CHOICES]  # type: ignore[valid-type]


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a misspelt option is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Limits(BaseModel):
    """The service's limits, as it enforces them."""

    max_text_chars: int
    min_duration_ms: int
    max_duration_ms: int
    max_upload_bytes: int
    max_subtitle_bytes: int
    queue_size: int
    tts_slots: int


class TtsRequest(Strict):
    """One line to speak, fitted to a duration."""

    text: str = Field(min_length=1, description="the line; pinyin tags ([hao4]) and {word|IPA} markup are read")
    lang: str = Field("en", pattern=LANG_PATTERN, max_length=16)
    engine: str | None = Field(None, min_length=1, max_length=64, description="default: the best for `lang`")
    voice: str | None = Field(None, min_length=1, max_length=128, description="default: the engine's voice for `lang`")
    duration_ms: int = Field(description="how long the speech must last, in milliseconds")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="a new seed re-rolls the line")
    format: Literal["wav", "json"] = Field("wav", description="wav: the audio, measurements in headers; "
                                                              "json: the measurements with the audio in base64")
    reference: str | None = Field(None, min_length=1, max_length=4096,
                                  description="a clip to clone (cloning engines), inside an allowed folder")
    reference_text: str = Field("", max_length=2000, description="what is said in the reference clip")
    reference_lang: str | None = Field(None, pattern=LANG_PATTERN, max_length=16)


class TtsResult(BaseModel):
    """What was measured on a spoken line (`audio` is the WAV in base64 when format is json)."""

    target_ms: int
    speech_ms: int
    error_ms: int = Field(description="speech_ms - target_ms")
    speech_start_ms: int = Field(description="where the speech starts in the clip")
    speech_end_ms: int
    natural_ms: int
    method: str
    rate: float
    heard_rate: float
    stretch: float
    status: str
    reason: str
    engine: str
    voice: str | None
    similarity: float | None
    seed: int
    sample_rate: int
    audio: str | None = Field(None, description="the WAV (16-bit PCM), base64")


class DubRequest(Strict):
    """A dub job: a video and its subtitles (paths inside an allowed folder, or uploads), and the options."""

    video: str | None = Field(None, min_length=1, max_length=4096, description="path of the video")
    subtitles: str | None = Field(None, min_length=1, max_length=4096, description="path of the SRT, ASS or VTT")
    output: str | None = Field(None, min_length=1, max_length=4096,
                               description="where the dubbed video goes (.mp4, .mkv, .mov), inside an allowed "
                                           "folder; default: the job's own folder, fetched from /jobs/{id}/result")
    lang: str = Field("en", pattern=LANG_PATTERN, max_length=16)
    engine: str | None = Field(None, min_length=1, max_length=64)
    voice: str | None = Field(None, min_length=1, max_length=128, description="a voice, or 'auto' to match "
                                                                             "each original speaker")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    mix: MixMode = "duck"  # type: ignore[valid-type]
    keep_original: bool = Field(True, description="keep the original audio as a second track")
    original_lang: str | None = Field(None, pattern=LANG_PATTERN, max_length=16)
    loudness: float | None = Field(None, ge=-40, le=-5, description="integrated loudness (LUFS) of the dub track")
    candidates: int = Field(1, ge=1, le=8, description="takes rendered per line, the best kept")
    borrow_gap: bool = Field(False, description="let a long line run into the silence after its cue")
    sync: SyncMode | None = Field(None, description="time lines to the original speech (speech, the default when "  # type: ignore[valid-type]
                                                    "the video has audio), start them at their cues (cue), or fill "
                                                    "each cue (fill)")
    speak_all: bool = Field(False, description="also speak sound descriptions, signs, credits and other languages")
    foreign: Foreign = Field("skip", description="lines not in lang: skip them, or speak them in their own")  # type: ignore[valid-type]
    exports: list[ExportKind] = Field(default_factory=list, max_length=len(EXPORT_KINDS),  # type: ignore[valid-type]
                                      description="hand-off files written beside the output")
    overwrite: bool = Field(False, description="replace the output, its sidecars (OUT.report.json, OUT.dub.wav) "
                                               "and hand-off files where they exist; an input is never replaced")


class DubAccepted(BaseModel):
    id: str
    state: str
    position: int | None = Field(description="jobs waiting before this one")
    status_url: str
    result_url: str


class LineRow(BaseModel):
    """A line of a dub job: its cue, and once rendered its status.

    pending, ok, off, unfittable, failed or overlap; skipped when the line is not spoken.
    """

    index: int
    line: int | None
    start_ms: int
    end_ms: int
    speaker: str
    text: str
    status: str
    error_ms: int | None
    speech_ms: int | None
    engine: str | None
    voice: str | None
    takes: int
    reason: str


class JobResult(BaseModel):
    output: str
    summary: dict[str, Any]
    files: list[str] = Field(description="every file written, relative to the output's folder")
    diagnostics: list[dict[str, Any]] = Field(description="problems in the subtitles (file and line)")


class JobError(BaseModel):
    type: str
    message: str


class JobStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    position: int | None
    created_ms: int
    started_ms: int | None
    finished_ms: int | None
    done: int
    total: int
    request: dict[str, Any]
    lines: list[LineRow]
    result: JobResult | None
    error: JobError | None


class JobList(BaseModel):
    jobs: list[JobStatus]


class ErrorDetail(BaseModel):
    type: str = Field(description="the error's type, e.g. UnknownVoice, ForbiddenPath, QueueFull")
    message: str
    fields: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
