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


def test_errors_survive_pickling():
    err = SynthesisError("boom", engine="piper", line=3)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SynthesisError and str(back) == "boom" and back.engine == "piper" and back.line == 3
