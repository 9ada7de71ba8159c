import pickle
from pathlib import Path

import pytest

from dubber import config as config_module
from dubber.config import EngineSettings, Price, config_path, is_loopback, load_config, parse_override
from dubber.errors import UsageError

EXAMPLE = """\
[engines.indextts2]
model_dir = "~/models/IndexTTS-2"
cfg_path = "IndexTTS-2/config.yaml"
device = "cuda"

[engines.gpt_sovits]
url = "http://127.0.0.1:9880"
timeout_ms = 120000

[engines.cosyvoice]
url = "http://127.0.0.1:50000"
model_dir = "~/models/CosyVoice2-0.5B"
allow_remote = false
"""


@pytest.fixture
def write_config(tmp_path, monkeypatch):
    """Write a config file under tmp_path and point DUBBER_CONFIG at it."""
    def write(text: str) -> Path:
        path = tmp_path / "conf" / "config.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("DUBBER_CONFIG", str(path))
        return path
    return write


def test_missing_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBBER_CONFIG", str(tmp_path / "absent.toml"))
    cfg = load_config()
    assert not cfg.found and cfg.engines == {} and cfg.path == tmp_path / "absent.toml"
    empty = cfg.engine("gpt_sovits")
    assert empty.values == {} and empty.path("model_dir") is None
    assert empty.url(default="http://127.0.0.1:9880") == "http://127.0.0.1:9880"
    assert empty.timeout_ms(60000) == 60000 and empty.allow_remote is False


def test_default_location_is_the_platform_config_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DUBBER_CONFIG", raising=False)
    monkeypatch.setattr(config_module.platformdirs, "user_config_dir", lambda app: str(tmp_path / app))
    assert config_path() == tmp_path / "dubber" / "config.toml"
    assert not load_config().found
    assert not (tmp_path / "dubber").exists()  # looking never creates the folder


def test_reads_the_file_named_by_the_env_var(write_config):
    path = write_config(EXAMPLE)
    cfg = load_config()
    assert cfg.found and cfg.path == path and set(cfg.engines) == {"indextts2", "gpt_sovits", "cosyvoice"}
    sovits = cfg.engine("gpt_sovits")
    assert sovits.url() == "http://127.0.0.1:9880" and sovits.timeout_ms(5000) == 120000
    assert cfg.engine("indextts2").get("device") == "cuda"  # free-form keys are kept
    assert "device" in cfg.engine("indextts2") and cfg.engine("cosyvoice").allow_remote is False


def test_paths_expand_home_and_resolve_against_the_file_folder(write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write_config(EXAMPLE)
    tts = load_config().engine("indextts2")
    assert tts.path("model_dir") == tmp_path / "home" / "models" / "IndexTTS-2"
    assert tts.path("cfg_path") == path.parent / "IndexTTS-2" / "config.yaml"


def test_explicit_path_argument_beats_the_env_var(tmp_path, write_config):
    write_config(EXAMPLE)
    other = tmp_path / "other.toml"
    other.write_text('[engines.gpt_sovits]\nurl = "http://localhost:1"\n')
    assert load_config(other).engine("gpt_sovits").url() == "http://localhost:1"


def test_overrides_beat_the_file(write_config, tmp_path, monkeypatch):
    write_config(EXAMPLE)
    monkeypatch.chdir(tmp_path)
    cfg = load_config(overrides=["gpt_sovits.url=http://127.0.0.1:9881", "gpt_sovits.timeout_ms=500",
                                 "indextts2.model_dir=weights", "kokoro.speed=1.5", 'kokoro.voice="af"',
                                 "kokoro.when=2024-01-01"])
    assert cfg.engine("gpt_sovits").url() == "http://127.0.0.1:9881"
    assert cfg.engine("gpt_sovits").timeout_ms(1) == 500
    # A relative path on the command line means the current folder, not the config's.
    assert cfg.engine("indextts2").path("model_dir") == tmp_path / "weights"
    assert cfg.engine("indextts2").get("device") == "cuda"  # untouched keys survive
    assert cfg.engine("kokoro").values == {"speed": 1.5, "voice": "af", "when": "2024-01-01"}


@pytest.mark.parametrize("text, expected", [
    ("a.b=1", ("a", "b", 1)),
    ("a.b=true", ("a", "b", True)),
    ("a.b = /x/y ", ("a", "b", "/x/y")),
    ('a.b="quoted # not a comment"', ("a", "b", "quoted # not a comment")),
    ("a.b=[1, 2]", ("a", "b", "[1, 2]")),
    ("a.b=1\nc = 2", ("a", "b", "1\nc = 2")),
    ("a.b=", ("a", "b", "")),
])
def test_override_values_are_toml_scalars_or_text(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["gpt_sovits", "gpt_sovits=1", ".url=x", "gpt_sovits.=x", "a.b.c=1"])
def test_malformed_override_names_itself(text):
    with pytest.raises(UsageError) as err:
        load_config(Path("/nonexistent/config.toml"), overrides=[text])
    assert repr(text) in str(err.value) and err.value.override == text


@pytest.mark.parametrize("body, key", [
    ("timeout_ms = 0", "timeout_ms"),
    ("timeout_ms = -5", "timeout_ms"),
    ("timeout_ms = 1.5", "timeout_ms"),
    ("timeout_ms = true", "timeout_ms"),
    ('timeout_ms = "60000"', "timeout_ms"),
    ('allow_remote = "yes"', "allow_remote"),
    ("url = 9880", "url"),
    ("model_dir = 3", "model_dir"),
    ('cfg_path = ""', "cfg_path"),
])
def test_type_errors_name_the_file_and_key(write_config, body, key):
    path = write_config(f"[engines.gpt_sovits]\n{body}\n")
    with pytest.raises(UsageError) as err:
        load_config()
    assert str(path) in str(err.value) and f"engines.gpt_sovits.{key}" in str(err.value)
    assert err.value.file == str(path) and err.value.key == f"engines.gpt_sovits.{key}"


def test_type_error_from_an_override_names_the_override(tmp_path):
    with pytest.raises(UsageError) as err:
        load_config(tmp_path / "none.toml", overrides=["gpt_sovits.timeout_ms=-1"])
    assert "gpt_sovits.timeout_ms=-1" in str(err.value) and err.value.file is None


def test_accessor_checks_keys_without_a_known_suffix():
    settings = EngineSettings("x", {"weights": 7, "poll_ms": "soon"})
    with pytest.raises(UsageError, match="engines.x.weights"):
        settings.path("weights")
    with pytest.raises(UsageError, match="engines.x.poll_ms"):
        settings.timeout_ms(100, key="poll_ms")


def test_bad_toml_names_file_and_line(write_config):
    path = write_config('[engines.gpt_sovits]\nurl = "http://127.0.0.1:9880"\ntimeout_ms = = 3\n')
    with pytest.raises(UsageError) as err:
        load_config()
    assert str(err.value).startswith(f"{path}:3:") and err.value.line == 3 and err.value.file == str(path)
    assert pickle.loads(pickle.dumps(err.value)).line == 3


@pytest.mark.parametrize("text", ['[engine.gpt_sovits]\nurl = "x"\n', 'engines = 3\n', "[engines]\ngpt_sovits = 1\n"])
def test_misplaced_settings_are_refused(write_config, text):
    path = write_config(text)
    with pytest.raises(UsageError, match=str(path)):
        load_config()


def test_non_utf8_and_unreadable_files_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[engines.a]\nx = "\xff"\n')
    with pytest.raises(UsageError, match="bad.toml"):
        load_config(bad)
    with pytest.raises(UsageError, match=str(tmp_path)):
        load_config(tmp_path)  # a folder is not a missing file


def test_remote_url_refused_unless_allowed(write_config):
    write_config('[engines.cosyvoice]\nurl = "http://10.0.0.5:50000"\n')
    with pytest.raises(UsageError, match="allow_remote") as err:
        load_config()
    assert err.value.key == "engines.cosyvoice.url"
    assert load_config(overrides=["cosyvoice.allow_remote=true"]).engine("cosyvoice").url() == "http://10.0.0.5:50000"
    write_config('[engines.cosyvoice]\nurl = "https://tts.example.com"\nallow_remote = true\n')
    assert load_config().engine("cosyvoice").url() == "https://tts.example.com"


def test_remote_override_refused_even_when_file_is_local(write_config):
    write_config(EXAMPLE)
    with pytest.raises(UsageError, match="gpt_sovits.url=http://192.168.1.2"):
        load_config(overrides=["gpt_sovits.url=http://192.168.1.2:9880"])


@pytest.mark.parametrize("url", ["http://[::1]:9880", "http://127.3.4.5", "https://LOCALHOST:8443/api",
                                 "http://[::ffff:127.0.0.1]:80", "http://user@127.0.0.1:9880"])
def test_loopback_urls_pass(url):
    assert EngineSettings("e", {"url": url}).url() == url


@pytest.mark.parametrize("url", ["http://[::2]:9880", "http://0.0.0.0:9880", "http://127.0.0.1.evil.com",
                                 "http://2130706433", "http://localhost.evil.com", "http://127.0.0.1@evil.com"])
def test_non_loopback_hosts_refused(url):
    with pytest.raises(UsageError, match="not on this machine"):
        EngineSettings("e", {"url": url}).url()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "ws://127.0.0.1:9880", "127.0.0.1:9880",
                                 "http://", "http://127.0.0.1:99999", "http://127.0.0.1 :80"])
def test_bad_scheme_or_shape_refused_even_with_allow_remote(url):
    with pytest.raises(UsageError, match="engines.e.url"):
        EngineSettings("e", {"url": url, "allow_remote": True}).url()


def test_is_loopback_never_resolves_names():
    assert is_loopback("localhost") and is_loopback("::1") and is_loopback("127.255.255.254")
    assert not is_loopback("ip6-localhost") and not is_loopback("example.com")


def test_prices_are_read_per_engine_with_their_currency(write_config):
    write_config('[engines.cosyvoice]\nurl = "http://127.0.0.1:50000"\n\n[prices]\ncurrency = "EUR"\n\n'
                 '[prices.cosyvoice]\nper_million_tokens = 15\nper_compute_hour = 0.8\n\n[prices.kokoro]\n')
    cfg = load_config()
    assert cfg.currency == "EUR" and set(cfg.engines) == {"cosyvoice"}
    assert cfg.prices == {"cosyvoice": Price(per_million_tokens=15.0, per_audio_hour=0.0, per_compute_hour=0.8),
                          "kokoro": Price(0.0, 0.0, 0.0)}
    assert isinstance(cfg.prices["cosyvoice"].per_million_tokens, float)


def test_no_price_table_means_no_prices(write_config, tmp_path):
    write_config('[engines.gpt_sovits]\nurl = "http://127.0.0.1:9880"\n')
    assert (load_config().prices, load_config().currency) == ({}, "USD")
    missing = load_config(tmp_path / "absent.toml")
    assert (missing.prices, missing.currency) == ({}, "USD")


@pytest.mark.parametrize("body, key", [
    ("[prices.cosyvoice]\nper_million_tokens = -1", "prices.cosyvoice.per_million_tokens"),
    ('[prices.cosyvoice]\nper_audio_hour = "2"', "prices.cosyvoice.per_audio_hour"),
    ("[prices.cosyvoice]\nper_compute_hour = true", "prices.cosyvoice.per_compute_hour"),
    ("[prices.cosyvoice]\nper_compute_hour = nan", "prices.cosyvoice.per_compute_hour"),
    ("[prices.cosyvoice]\nper_token = 1.0", "prices.cosyvoice.per_token"),
    ("[prices]\ncosyvoice = 3", "prices.cosyvoice"),
    ("[prices]\ncurrency = 3", "prices.currency"),
    ('[prices]\ncurrency = " "', "prices.currency"),
    ("prices = 3", "prices"),
])
def test_bad_prices_name_the_file_and_key(write_config, body, key):
    path = write_config(body + "\n")
    with pytest.raises(UsageError) as err:
        load_config()
    assert str(err.value).startswith(f"{path}: {key} ") and err.value.file == str(path) and err.value.key == key
