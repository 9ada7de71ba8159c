"""Dub the current DaVinci Resolve timeline with dubber: Workspace > Scripts > dub_with_dubber.

What it does: takes the first clip on video track 1 and subtitle track 1 of the current timeline, runs
`dubber dub VIDEO SUBS.srt -o OUT.mp4 --export otio,srt,stems`, and imports OUT.otio as a new timeline
(or, if Resolve makes no timeline of it, the dubbed video and its stems into the media pool). dubber's
messages and the result appear in Workspace > Console. The work is done by dubber.plugin.resolve_bridge.

Install
  1. Copy this file into Resolve's scripts folder, into Edit (Edit page) or Utility (every page):
       Linux:   ~/.local/share/DaVinciResolve/Fusion/Scripts/Edit/
       macOS:   ~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Edit/
       Windows: %APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion\\Scripts\\Edit\\
  2. Let this script find dubber, one of:
       a. set DUBBER_PYTHON below (or in the environment) to the python of the environment dubber is
          installed in, e.g. /home/me/dubber/.venv/bin/python or C:\\dubber\\.venv\\Scripts\\python.exe.
          The script loads the bridge from there and runs `DUBBER_PYTHON -m dubber.cli.main`, so the Python
          Resolve runs scripts with (a system-wide Python 3 it finds) needs nothing installed.
       b. or install dubber into the Python Resolve uses (`python3 -m pip install dubber`, Python 3.10 or
          newer) and make sure `dubber` is on the PATH Resolve sees, or set DUBBER to its executable.
Settings (here, or as environment variables of the same name; a value here wins):
  DUBBER_LANG (language to speak, e.g. de), DUBBER_LOUDNESS (-16, web or broadcast), DUBBER_ARGS (more
  `dubber dub` options, e.g. "--voice auto"), DUBBER_OUT_DIR (default: VIDEO's folder/VIDEO.dubber),
  DUBBER_SUBTITLE_TRACK (default 1).
"""

import os
import site
import subprocess

SETTINGS = {
    "DUBBER_PYTHON": "",
    "DUBBER": "",
    "DUBBER_LANG": "",
    "DUBBER_LOUDNESS": "",
    "DUBBER_ARGS": "",
    "DUBBER_OUT_DIR": "",
    "DUBBER_SUBTITLE_TRACK": "",
}


def _environment():
    env = dict(os.environ)
    env.update({name: value for name, value in SETTINGS.items() if value})
    return env


def _load_bridge(env):
    try:
        from dubber.plugin import resolve_bridge
        return resolve_bridge
    except ImportError:
        python = env.get("DUBBER_PYTHON")
        if not python:
            raise
    # Add dubber's environment after Resolve's own packages (addsitedir appends and reads its .pth files,
    # which an editable install needs); the bridge itself needs only the standard library.
    ask = "import sysconfig; print(sysconfig.get_path('purelib')); print(sysconfig.get_path('platlib'))"
    found = subprocess.run([python, "-c", ask], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    for folder in dict.fromkeys(found.stdout.split("\n")):
        if folder.strip():
            site.addsitedir(folder.strip())
    from dubber.plugin import resolve_bridge
    return resolve_bridge


def _resolve():
    # Resolve's script menu defines `resolve` (or Fusion's `app`/`bmd`); outside Resolve, its documented module.
    scope = globals()
    if scope.get("resolve"):
        return scope["resolve"]
    if scope.get("app"):
        return scope["app"].GetResolve()
    if scope.get("bmd"):
        return scope["bmd"].scriptapp("Resolve")
    try:
        import DaVinciResolveScript
    except ImportError:
        return None
    return DaVinciResolveScript.scriptapp("Resolve")


def run():
    """Dub the current timeline and report in the console."""
    env = _environment()
    try:
        bridge = _load_bridge(env)
    except (ImportError, OSError, subprocess.CalledProcessError) as exc:
        script = globals().get("__file__", "dub_with_dubber.py")
        print("dubber: cannot load dubber.plugin.resolve_bridge (" + str(exc) + "): set DUBBER_PYTHON at the top of "
              + script + " to the python of the environment dubber is installed in")
        return 1
    return bridge.main(_resolve(), env)


run()
