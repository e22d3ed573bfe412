"""What the app serves besides /v3 and the portal."""

from __future__ import annotations

import httpx
import pytest

from rcsgate.app import create_app
from rcsgate.context import AppContext
from tests.conftest import ClientFactory
from tests.test_gate import assert_problem

TOKEN = "scrape-me-7f3a"


class TestMetrics:
    @pytest.fixture
    def scraper(self, context: AppContext, client_for: ClientFactory) -> httpx.AsyncClient:
        """A client of an app configured with RCSGATE_METRICS_TOKEN."""
        context.settings = context.settings.model_copy(update={"metrics_token": TOKEN})
        return client_for(target=create_app(context=context))

    async def test_not_served_without_a_token_setting(self, client_for: ClientFactory) -> None:
        assert_problem(await client_for().get("/metrics"), 404, "not-found")

    async def test_served_to_the_token(self, scraper: httpx.AsyncClient) -> None:
        await scraper.get("/healthz")

        response = await scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

        assert response.status_code == 200
        assert 'rcsgate_http_requests_total{method="GET",route="/healthz"' in response.text

    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer é".encode()],
        ids=["none", "wrong", "basic", "bare", "non-ascii"],
    )
    async def test_refused_without_the_token(
        self, scraper: httpx.AsyncClient, authorization: str | bytes | None
    ) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}

        response = await scraper.get("/metrics", headers=headers)

        assert_problem(response, 401, "unauthorized")
        assert "rcsgate_http_requests_total" not in response.text
