"""`make test` installs the system packages it needs: .ci/system-packages against stand-in dpkg-query,
apt-get, id and sudo on PATH, and the panel's one-line message when a library is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dubber.cli.system_libraries import missing_library_message, system_packages

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "system-packages"
LIST = ROOT / "ui" / "system-packages.txt"


def _stand_ins(tmp_path: Path, installed: set[str], uid: int, sudo_ok: bool, apt_ok: bool = True) -> Path:
    """A bin folder whose dpkg-query knows `installed`, whose apt-get logs its arguments, and an id and sudo."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    (tmp_path / "installed").write_text("\n".join(sorted(installed)) + "\n")
    scripts = {
        # dpkg-query -W -f='${Status}' PACKAGE
        "dpkg-query": f'grep -qx "${{@: -1}}" {tmp_path}/installed && printf "install ok installed" || exit 1',
        "apt-get": f'echo "apt-get $*" >> {log}; exit {0 if apt_ok else 100}',
        "id": f'[ "$1" = -u ] && echo {uid} || /usr/bin/id "$@"',
        "sudo": (f'[ "$*" = "-n true" ] && exit {0 if sudo_ok else 1}; echo "sudo $1" >> {log}; shift 0; '
                 f'"$@"'),
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/bash\n{body}\n")
        path.chmod(0o755)
    return bin_dir


def _run(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DUBBER_SYSTEM_PACKAGES"}
    environ.update(PATH=f"{bin_dir}:/usr/bin:/bin", **env)
    return subprocess.run(["bash", str(SCRIPT), *args], check=False, capture_output=True, text=True, env=environ,
                          timeout=60)


def _calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _names(group: str | None = None) -> list[str]:
    return [p.name for p in system_packages() if group is None or p.group == group]


def test_the_list_is_read_the_same_by_python_and_the_script():
    assert _names("panel")[0] == "libpulse0" and "chromium" in _names("test")
    assert all(p.group in ("panel", "test") for p in system_packages())
    assert len(set(_names())) == len(_names())
    # The list is the one CI uses: .ci/run only calls make test, which runs the script.
    assert "apt-get" not in (ROOT / ".ci" / "run").read_text() and "make test" in (ROOT / ".ci" / "run").read_text()


def test_nothing_is_installed_when_nothing_is_missing(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(_names()), uid=1000, sudo_ok=False)
    done = _run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path) == [] and done.stderr == ""


def test_root_installs_exactly_the_missing_packages_of_the_list(tmp_path):
    missing = ["libpulse0", "chromium"]
    bin_dir = _stand_ins(tmp_path, set(_names()) - set(missing), uid=0, sudo_ok=False)
    done = _run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path) == ["apt-get update -qq", "apt-get install -y -qq libpulse0 chromium"]


def test_a_group_installs_only_its_packages(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(), uid=0, sudo_ok=False)
    assert _run(bin_dir, "panel").returncode == 0
    assert _calls(tmp_path)[-1] == "apt-get install -y -qq " + " ".join(_names("panel"))


def test_passwordless_sudo_is_used_when_not_root(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(_names()) - {"xvfb"}, uid=1000, sudo_ok=True)
    done = _run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path) == ["sudo apt-get", "apt-get update -qq", "sudo env", "apt-get install -y -qq xvfb"]


def test_without_root_or_sudo_it_stops_with_the_exact_command(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(_names()) - {"libpulse0", "chromium-driver"}, uid=1000, sudo_ok=False)
    done = _run(bin_dir)
    assert done.returncode == 1
    assert _calls(tmp_path) == []
    assert done.stderr == ("dubber needs system packages that are not installed: libpulse0 chromium-driver. "
                           "Install them with: sudo apt-get install -y libpulse0 chromium-driver\n")


def test_a_failed_install_names_the_command(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(_names()) - {"libpulse0"}, uid=0, sudo_ok=False, apt_ok=False)
    done = _run(bin_dir)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == ("Installing system packages failed. Run it yourself: "
                                            "apt-get install -y libpulse0")


def test_skip_is_the_way_out_on_another_system(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(), uid=1000, sudo_ok=False)
    assert _run(bin_dir, DUBBER_SYSTEM_PACKAGES="skip").returncode == 0
    assert _calls(tmp_path) == []


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_installs_the_system_packages_first(tmp_path):
    bin_dir = _stand_ins(tmp_path, set(_names()) - {"libpulse0"}, uid=0, sudo_ok=False)
    # Run from `make test` itself, the make below would inherit its level and flags: start it afresh.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEFILES",
                                                            "DUBBER_SYSTEM_PACKAGES")}
    planned = subprocess.run(["make", "--no-print-directory", "-n", "test"], cwd=ROOT, check=False,
                             capture_output=True, text=True, env=env, timeout=60).stdout
    assert planned.splitlines()[0] == "bash .ci/system-packages"
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    done = subprocess.run(["make", "--no-print-directory", "-s", "system"], cwd=ROOT, check=False,
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path)[-1] == "apt-get install -y -qq libpulse0"


def test_the_panel_names_the_package_of_a_missing_library():
    error = ImportError("libpulse.so.0: cannot open shared object file: No such file or directory")
    message = missing_library_message(error)
    assert message is not None and "\n" not in message
    assert message.startswith("the panel needs the system library libpulse.so.0: install it with "
                              "`sudo apt-get install -y libpulse0`")
    assert missing_library_message(ImportError("No module named 'PySide6'")) is None


def test_dubber_gui_without_the_library_says_one_line(tmp_path):
    # A stand-in dubber.ui.app that fails the way QtMultimedia does without libpulse0.
    fake = tmp_path / "sitecustomize.py"
    fake.write_text("import sys, importlib.abc, importlib.machinery\n"
                    "class F(importlib.abc.MetaPathFinder):\n"
                    "    def find_spec(self, name, path=None, target=None):\n"
                    "        if name == 'dubber.ui.app':\n"
                    "            raise ImportError('libpulse.so.0: cannot open shared object file: No such file')\n"
                    "sys.meta_path.insert(0, F())\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "dubber.cli.main", "gui"], check=False, capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "sudo apt-get install -y libpulse0" in done.stderr
