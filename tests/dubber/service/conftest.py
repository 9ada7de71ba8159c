"""An HTTP client for the module's `service` fixture (a `RunningService`, each module starting its own)."""

import httpx
import pytest


@pytest.fixture
def client(service):
    with httpx.Client(base_url=service.url, timeout=120) as c:
        yield c
