"""Model files that ship inside an installed PyPI package, found without touching the network."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dubber.errors import EngineUnavailable


def packaged_file(package: str, resource: str, distribution: str, needed_by: str, what: str) -> Path:
    """Return `resource` inside the importable `package` (installed as `distribution`), or say what to install.

    `needed_by` names what needs it ("voice activity detection"), `what` the file ("model").
    """
    hint = f"pip install {distribution}"
    try:
        path = Path(str(resources.files(package).joinpath(resource)))
    except ModuleNotFoundError as exc:
        raise EngineUnavailable(f"{needed_by} needs {distribution}: {hint}", hint=hint) from exc
    if not path.is_file():
        raise EngineUnavailable(f"{distribution} is installed without its {what} ({path}); reinstall it: {hint}",
                                hint=hint)
    return path
