"""Model files inside installed packages: found, or a message saying what to install."""

import pytest

from dubber.errors import EngineUnavailable
from dubber.models.packaged import packaged_file


def test_finds_a_file_shipped_in_a_package():
    path = packaged_file("dubber", "__init__.py", "dubber", "the test", "module")
    assert path.is_file() and path.name == "__init__.py"


def test_a_missing_package_names_what_to_install():
    with pytest.raises(EngineUnavailable, match="voice activity detection needs no-such-dist: pip install no-such-dist"):
        packaged_file("no_such_package_here", "m.onnx", "no-such-dist", "voice activity detection", "model")


def test_a_package_without_its_file_says_reinstall():
    with pytest.raises(EngineUnavailable, match=r"dubber is installed without its model \(.*nothere.onnx\); reinstall"):
        packaged_file("dubber", "nothere.onnx", "dubber", "x", "model")
