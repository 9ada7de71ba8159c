import pickle

import pytest

from dubber.errors import SynthesisError, UnknownEngine
from dubber.plugin import registry
from dubber.plugin.engine import Engine


def test_builtins_register_through_the_entry_point_group():
    found = registry.entries()
    assert {"kokoro", "piper"} <= set(found)
    assert all(e.entry_point.group == "dubber.engines" for e in found.values())


def test_classes_load_lazily_and_declare_capabilities():
    for name in ("kokoro", "piper"):
        cls = registry.engine_class(name)
        assert issubclass(cls, Engine) and cls.name == name
        assert cls.capabilities.sample_rate in (22050, 24000)


def test_unknown_engine_names_the_known_ones():
    with pytest.raises(UnknownEngine, match="kokoro"):
        registry.engine_class("nope")


def test_language_defaults():
    assert registry.engine_for_language("en") == "piper"
    assert registry.engine_for_language("ja") == "kokoro"
    with pytest.raises(UnknownEngine):
        registry.engine_for_language("tlh")


def test_language_default_among_the_offered_engines():
    assert registry.engine_for_language("en", among=("kokoro",)) == "kokoro"  # piper is preferred, but not offered
    with pytest.raises(UnknownEngine):
        registry.engine_for_language("ja", among=("piper",))


def test_errors_survive_pickling():
    err = SynthesisError("boom", engine="piper", line=3)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SynthesisError and str(back) == "boom" and back.engine == "piper" and back.line == 3


def test_config_reaches_server_engines(tmp_path):
    from dubber.config import load_config
    from dubber.errors import UsageError

    cfg = load_config(tmp_path / "none.toml", ["gpt_sovits.url=http://127.0.0.1:9999", "cosyvoice.timeout_ms=5000"])
    assert registry.get_engine("gpt_sovits", cfg).url == "http://127.0.0.1:9999"
    assert registry.get_engine("cosyvoice", cfg).timeout_ms == 5000
    with pytest.raises(UsageError, match="not on this machine"):
        load_config(tmp_path / "none.toml", ["cosyvoice.url=http://10.1.2.3:50000"])


def test_every_registered_engine_declares_its_capabilities():
    for name in registry.entries():
        caps = registry.engine_class(name).capabilities.to_dict()
        assert caps["languages"] and caps["sample_rate"] > 0 and caps["duration_control"]


def test_engines_are_shared_by_settings_not_by_config_object(tmp_path):
    from dubber.config import load_config

    plain = registry.get_engine("piper")
    assert registry.get_engine("piper", load_config(tmp_path / "none.toml")) is plain
    a = registry.get_engine("gpt_sovits", load_config(tmp_path / "none.toml", ["gpt_sovits.url=http://127.0.0.1:9001"]))
    b = registry.get_engine("gpt_sovits", load_config(tmp_path / "none.toml", ["gpt_sovits.url=http://127.0.0.1:9001"]))
    c = registry.get_engine("gpt_sovits", load_config(tmp_path / "none.toml", ["gpt_sovits.url=http://127.0.0.1:9002"]))
    assert a is b and c is not a and c.url.endswith(":9002")


def test_get_engine_asks_availability_with_the_engines_settings(tmp_path, monkeypatch):
    from dubber.config import load_config
    from dubber.errors import EngineUnavailable
    from dubber.plugin.engine import Capabilities

    seen = []

    class NeedsWeights(Engine):
        name = "needs_weights"
        capabilities = Capabilities(languages=("en",), sample_rate=16000, voices=("a",))

        @classmethod
        def availability(cls, settings=None, probe=False):
            seen.append((settings, probe))
            folder = settings.path("model_dir") if settings is not None else None
            return None if folder and folder.is_dir() else "set engines.needs_weights.model_dir to the weights folder"

        @classmethod
        def from_settings(cls, settings):
            return cls()

        def synthesize(self, request):
            raise AssertionError("not called")

    monkeypatch.setattr(registry, "engine_class", lambda name: NeedsWeights)
    with pytest.raises(EngineUnavailable, match="model_dir"):
        registry.get_engine("needs_weights", load_config(tmp_path / "none.toml"))
    cfg = load_config(tmp_path / "none.toml", [f"needs_weights.model_dir={tmp_path}"])
    assert isinstance(registry.get_engine("needs_weights", cfg), NeedsWeights)
    assert seen[-1][0].path("model_dir") == tmp_path and seen[-1][1] is False  # never probes servers on load


def test_the_default_engine_never_needs_a_reference_clip():
    assert registry.engine_for_language("zh") == "kokoro"  # cosyvoice and indextts2 speak it too, but clone
    with pytest.raises(UnknownEngine, match="clone a reference clip speak it: .*indextts2"):
        registry.engine_for_language("ar")  # only IndexTTS-2.5 speaks Arabic, and it clones
