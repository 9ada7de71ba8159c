"""Read engine settings (model folders, server URLs, timeouts) and prices from a TOML file, with CLI overrides.

The file is ``platformdirs.user_config_dir("dubber") / "config.toml"``, or the path in the
``DUBBER_CONFIG`` environment variable. A missing file means defaults. Each ``[engines.NAME]``
table holds that engine's settings; keys are free-form, but these names are checked on load:

- ``url`` and ``*_url``: an http or https URL. Its host must be loopback (127.0.0.0/8, ::1,
  ``localhost``) unless the engine sets ``allow_remote = true``, so a config file cannot
  quietly send your text and voice samples to another machine; nor can a server, as its
  redirects are never followed (plugin/http_client.py).
- ``timeout_ms``: a positive integer number of milliseconds.
- ``allow_remote``: true or false.
- ``threads``: a positive integer: intra-op threads of a built-in engine's ONNX sessions.
- ``*_dir`` and ``*_path``: a path; ``~`` is expanded and a relative path is resolved against
  the config file's folder (or, for a CLI override, the current folder).

Example::

    [engines.indextts2]
    model_dir = "~/models/IndexTTS-2"
    cfg_path = "~/models/IndexTTS-2/config.yaml"
    device = "cuda"

    [engines.gpt_sovits]
    url = "http://127.0.0.1:9880"
    timeout_ms = 120000

    [engines.cosyvoice]
    url = "http://127.0.0.1:50000"
    allow_remote = false

    [engines.cosyvoice_local]
    model_dir = "~/models/CosyVoice2-0.5B"

A ``[prices.ENGINE]`` table prices an engine for `dubber usage`'s cost estimate, the way a hosted
engine bills: ``per_million_tokens``, ``per_audio_hour`` (audio produced) and ``per_compute_hour``
(wall time spent synthesizing), each a number >= 0, missing ones 0. ``currency`` under ``[prices]``
names the unit (default "USD"). An engine without a table has no price (a local engine costs
nothing unless you price its electricity or hardware)::

    [prices]
    currency = "EUR"

    [prices.cosyvoice]
    per_million_tokens = 15.0
    per_compute_hour = 0.8

An override is ``ENGINE.KEY=VALUE``, e.g. ``gpt_sovits.url=http://127.0.0.1:9881`` or
``cosyvoice.allow_remote=true``. VALUE is read as a TOML scalar (integer, float, boolean,
quoted string) when it is one, else kept as the plain string. Overrides beat the file.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from dubber.errors import UsageError

CONFIG_ENV = "DUBBER_CONFIG"
URL_SCHEMES = ("http", "https")
DEFAULT_CURRENCY = "USD"
PRICE_KEYS = ("per_million_tokens", "per_audio_hour", "per_compute_hour")


@dataclass(frozen=True)
class Origin:
    """Where a setting came from: a label for messages and the folder relative paths start from."""

    label: str  # the config file's path, or "override 'k=v'"
    base: Path
    file: str | None = None
    override: str | None = None


@dataclass(frozen=True)
class EngineSettings:
    """One engine's settings: every key as given, with typed, checked accessors for common ones."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a raw value, or `default` when the key is not set."""
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    @property
    def allow_remote(self) -> bool:
        """Return whether this engine may talk to a non-loopback host."""
        value = self.values.get("allow_remote", False)
        if not isinstance(value, bool):
            raise self._error("allow_remote", f"must be true or false, got {value!r}")
        return value

    def path(self, key: str) -> Path | None:
        """Return a path setting with ~ expanded and relative paths resolved, or None if unset."""
        if key not in self.values:
            return None
        value = self.values[key]
        if not isinstance(value, str) or not value:
            raise self._error(key, f"must be a non-empty path string, got {value!r}")
        path = Path(value).expanduser()
        return path if path.is_absolute() else self._origin(key).base / path

    def url(self, key: str = "url", default: str | None = None) -> str | None:
        """Return a checked http(s) URL (loopback unless allow_remote), or `default` if unset."""
        value = self.values.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._error(key, f"must be a URL string, got {value!r}")
        problem = url_problem(value, self.allow_remote, self.name)
        if problem:
            raise self._error(key, problem)
        return value

    def timeout_ms(self, default: int, key: str = "timeout_ms") -> int:
        """Return a positive integer timeout in milliseconds, or `default` if unset."""
        value = self.values.get(key, default)
        # bool is an int subclass; `timeout_ms = true` is a mistake, not 1 ms.
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self._error(key, f"must be a positive integer of milliseconds, got {value!r}")
        return value

    def check(self) -> None:
        """Raise UsageError if a key with a known meaning has a bad value."""
        _ = self.allow_remote
        for key in self.values:
            if key == "url" or key.endswith("_url"):
                self.url(key)
            elif key == "timeout_ms":
                self.timeout_ms(1)
            elif key == "max_chars":
                self.max_chars()
            elif key == "threads":
                self.threads()
            elif key.endswith(("_dir", "_path")):
                self.path(key)

    def max_chars(self) -> int | None:
        """Return the longest text one request may carry (dubber.synthesis.limits), or None if unset."""
        value = self.values.get("max_chars")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise self._error("max_chars", f"must be a positive whole number of characters, got {value!r}")
        return value

    def threads(self) -> int | None:
        """Return the intra-op threads an in-process engine's sessions run with, or None if unset."""
        value = self.values.get("threads")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise self._error("threads", f"must be a positive whole number of threads, got {value!r}")
        return value

    def _origin(self, key: str) -> Origin:
        return self.origins.get(key) or Origin("defaults", Path.cwd())

    def _error(self, key: str, problem: str) -> UsageError:
        origin = self._origin(key)
        full = f"engines.{self.name}.{key}"
        return UsageError(f"{origin.label}: {full} {problem}", file=origin.file, key=full, override=origin.override)


@dataclass(frozen=True)
class Price:
    """What an engine costs, in the config's currency: per million tokens, per hour of audio, per compute hour."""

    per_million_tokens: float = 0.0
    per_audio_hour: float = 0.0
    per_compute_hour: float = 0.0


@dataclass(frozen=True)
class Config:
    """All engine settings and prices, and which file they came from."""

    path: Path
    found: bool  # False when the file does not exist and defaults were used
    engines: dict[str, EngineSettings] = field(default_factory=dict)
    prices: dict[str, Price] = field(default_factory=dict)  # engines without an entry have no price
    currency: str = DEFAULT_CURRENCY

    def engine(self, name: str) -> EngineSettings:
        """Return the settings for `name`, empty when the engine is not configured."""
        return self.engines.get(name) or EngineSettings(name)


def config_path() -> Path:
    """Return the config file location: $DUBBER_CONFIG, else the platform config folder."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser().absolute()
    return Path(platformdirs.user_config_dir("dubber")) / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None, overrides: list[str] | None = None) -> Config:
    """Read the config file (defaults if missing), apply ENGINE.KEY=VALUE overrides, and check it."""
    path = Path(path).expanduser().absolute() if path is not None else config_path()
    values: dict[str, dict[str, Any]] = {}
    origins: dict[str, dict[str, Origin]] = {}
    prices: dict[str, Price] = {}
    currency = DEFAULT_CURRENCY
    found = path.is_file()
    if found or path.exists():  # a folder or other non-file is an error, not "missing"
        origin = Origin(str(path), path.parent, file=str(path))
        data = _read_toml(path)
        for name, table in _engine_tables(data, path).items():
            values[name] = dict(table)
            origins[name] = {key: origin for key in table}
        prices, currency = _price_table(data, path)
    cwd = Path.cwd()
    for text in overrides or []:
        name, key, value = parse_override(text)
        values.setdefault(name, {})[key] = value
        origins.setdefault(name, {})[key] = Origin(f"override {text!r}", cwd, override=text)
    engines = {name: EngineSettings(name, values[name], origins[name]) for name in values}
    for settings in engines.values():
        settings.check()
    return Config(path, found, engines, prices, currency)


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split "ENGINE.KEY=VALUE" into its parts, reading VALUE as a TOML scalar when it is one."""
    target, sep, raw = text.partition("=")
    name, dot, key = target.strip().partition(".")
    if not sep or not dot or not name or not key or "." in key:
        raise UsageError(f"override {text!r}: expected ENGINE.KEY=VALUE, e.g. gpt_sovits.url=http://127.0.0.1:9880",
                         override=text)
    return name, key, _scalar(raw.strip())


def url_problem(url: str, allow_remote: bool, engine: str = "NAME") -> str | None:
    """Return why `url` is refused, or None; the host is judged literally, never looked up."""
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return f"must not contain spaces or control characters: {url!r}"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc}): {url!r}"
    if parts.scheme not in URL_SCHEMES:
        return f"must use http or https, got {url!r}"
    if not parts.hostname:
        return f"has no host: {url!r}"
    if not allow_remote and not is_loopback(parts.hostname):
        return (f"points at {parts.hostname!r}, which is not on this machine; to send it there, set "
                f"allow_remote = true under [engines.{engine}] in config.toml "
                f"(or pass --engine-opt {engine}.allow_remote=true)")
    return None


def server_url(engine: str, url: str, allow_remote: bool, why: str = "") -> str:
    """Return an engine server's base URL, or raise UsageError saying why it is refused."""
    problem = url_problem(url, allow_remote, engine)
    if problem:
        raise UsageError(f"{engine} server URL {problem}{'; ' + why if why else ''}", engine=engine, url=url)
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """Return whether `host` (a name or IP literal, without brackets) is this machine."""
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name could resolve anywhere
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_loopback


def _read_toml(path: Path) -> dict[str, Any]:
    """Read the config file, refusing a top-level key it does not know."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read config file: {exc.strerror or exc}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 reports the position only inside the message text.
        m = re.search(r"at line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        where = f"{path}:{line}" if line else str(path)
        raise UsageError(f"{where}: bad TOML: {exc}", file=str(path), line=line) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: config file is not UTF-8 text", file=str(path)) from exc
    # An unknown top-level key is most likely a typo ([engine.x]); ignoring it would hide it.
    for key in data:
        if key not in ("engines", "prices"):
            raise UsageError(f"{path}: unknown key {key!r}; engine settings go under [engines.NAME], "
                             "prices under [prices.NAME]", file=str(path), key=key)
    return data


def _engine_tables(data: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    engines = data.get("engines", {})
    if not isinstance(engines, dict):
        raise UsageError(f"{path}: engines must be a table of [engines.NAME] tables", file=str(path), key="engines")
    for name, table in engines.items():
        if not isinstance(table, dict):
            raise UsageError(f"{path}: engines.{name} must be a table, got {table!r}",
                             file=str(path), key=f"engines.{name}")
    return engines


def _price_table(data: dict[str, Any], path: Path) -> tuple[dict[str, Price], str]:
    """Read [prices]: the currency and a checked Price per [prices.ENGINE] table."""
    def error(key: str, problem: str) -> UsageError:
        return UsageError(f"{path}: {key} {problem}", file=str(path), key=key)

    table = data.get("prices", {})
    if not isinstance(table, dict):
        raise error("prices", "must be a table of [prices.ENGINE] tables")
    currency = table.get("currency", DEFAULT_CURRENCY)
    if not isinstance(currency, str) or not currency.strip():
        raise error("prices.currency", f"must be a non-empty string such as \"USD\", got {currency!r}")
    prices = {}
    for name, entry in table.items():
        if name == "currency":
            continue
        if not isinstance(entry, dict):
            raise error(f"prices.{name}", f"must be a table of {', '.join(PRICE_KEYS)}, got {entry!r}")
        for key, value in entry.items():
            if key not in PRICE_KEYS:
                raise error(f"prices.{name}.{key}", f"is not a price; use {', '.join(PRICE_KEYS)}")
            # bool is an int subclass; `per_audio_hour = true` is a mistake, not 1.
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise error(f"prices.{name}.{key}", f"must be a number >= 0, got {value!r}")
        prices[name] = Price(**{key: float(value) for key, value in entry.items()})
    return prices, currency.strip()


def _scalar(raw: str) -> Any:
    try:
        doc = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        return raw
    value = doc.get("v")
    # Only plain scalars count; a date, array or smuggled second key stays the literal text.
    if len(doc) == 1 and type(value) in (str, int, float, bool):
        return value
    return raw
