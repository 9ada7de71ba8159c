"""The system packages the panel needs, read from the one list (`ui/system-packages.txt`), and a
one-line message naming the package when Qt cannot load a library (never a bare ImportError)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

LIST_NAME = "system-packages.txt"
_MISSING_LIBRARY = re.compile(r"(lib[\w.+-]*?\.so(?:\.\d+)*): cannot open shared object file")


@dataclass(frozen=True)
class SystemPackage:
    name: str  # the Debian package
    group: str  # panel: needed to run it; test: needed by the tests only
    library: str | None  # the shared library it provides, as a loader error names it


def system_packages() -> list[SystemPackage]:
    """Every package of the list, in its order."""
    text = resources.files("dubber.ui").joinpath(LIST_NAME).read_text(encoding="utf-8")
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [SystemPackage(row[0], row[1], None if row[2] == "-" else row[2]) for row in rows]


def missing_library_message(exc: ImportError) -> str | None:
    """What to install when `exc` is a shared library the loader could not find; None for any other ImportError."""
    match = _MISSING_LIBRARY.search(str(exc))
    if match is None:
        return None
    library = match.group(1)
    packages = system_packages()
    panel = [p.name for p in packages if p.group == "panel"]
    package = next((p.name for p in packages if p.library == library), None)
    if package is None:
        return (f"the panel cannot load the system library {library}; install the panel's system packages: "
                f"sudo apt-get install -y {' '.join(panel)}")
    return (f"the panel needs the system library {library}: install it with `sudo apt-get install -y {package}` "
            f"(all the panel's system packages: sudo apt-get install -y {' '.join(panel)})")
