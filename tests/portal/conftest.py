from __future__ import annotations

import httpx
import pytest

from tests.conftest import ClientFactory


@pytest.fixture
def browser_client(client_for: ClientFactory) -> httpx.AsyncClient:
    """A cookie-keeping client over HTTPS, as a browser without JavaScript."""
    return client_for()
