"""What the service tests share: an HTTP client for the module's `service` fixture (a `RunningService`, each
module starting its own), and a folder the service may read and write in."""

from pathlib import Path

import httpx
import pytest


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("allowed")


@pytest.fixture
def client(service):
    with httpx.Client(base_url=service.url, timeout=120) as c:
        yield c
