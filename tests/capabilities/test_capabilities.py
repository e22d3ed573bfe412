from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from rcsgate.capabilities.schemas import CapabilitiesQuery
from tests.conftest import Tenant, TenantFactory
from tests.fixtures.messaging import AGENT, Sender, launched_sender
from tests.fixtures.platform import Platform, platform

__all__ = ["platform"]


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


class TestOneNumber:
    async def test_live_then_cached(self, platform: Platform, sender: Sender) -> None:
        first = await platform.api.get(f"/v3/capabilities/46700000001?agent={AGENT}")
        assert first.status_code == 200, first.text
        body = first.json()
        assert (body["recipient"], body["rcs"], body["source"]) == ("46700000001", True, "Live")
        assert "RICHCARD_STANDALONE" in body["features"]
        again = (await platform.api.get(f"/v3/capabilities/+46 70 000 00 01?agent={AGENT}")).json()
        assert (again["source"], again["checked"]) == ("Cache", body["checked"])

    async def test_a_number_without_rcs(self, platform: Platform, sender: Sender) -> None:
        body = (await platform.api.get(f"/v3/capabilities/46700000002?agent={AGENT}")).json()
        assert (body["rcs"], body["features"]) == (False, [])

    async def test_an_invalid_number_is_a_400(self, platform: Platform, sender: Sender) -> None:
        response = await platform.api.get(f"/v3/capabilities/12?agent={AGENT}")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "/recipients/0"

    async def test_an_unknown_agent_is_a_404(self, platform: Platform, sender: Sender) -> None:
        response = await platform.api.get("/v3/capabilities/46700000001?agent=nobody")
        assert response.status_code == 404


class TestMany:
    async def test_many_numbers_in_order(self, platform: Platform, sender: Sender) -> None:
        response = await platform.api.post(
            "/v3/capabilities",
            json={"agent": AGENT, "recipients": ["46700000002", "46700000005"]},
        )
        assert response.status_code == 200, response.text
        assert [(c["recipient"], c["rcs"]) for c in response.json()] == [
            ("46700000002", False),
            ("46700000005", True),
        ]

    async def test_bad_numbers_are_named(self, platform: Platform, sender: Sender) -> None:
        response = await platform.api.post(
            "/v3/capabilities", json={"agent": AGENT, "recipients": ["46700000001", "x"]}
        )
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == ["/recipients/1"]

    def test_more_than_1000_are_refused(self) -> None:
        # (A request that large is past the test app's 4 KiB body limit, so the model is
        # checked directly; its errors become the 400's JSON pointers like every other.)
        numbers = [f"4670{i:07d}" for i in range(1001)]
        with pytest.raises(ValidationError) as caught:
            CapabilitiesQuery.model_validate({"agent": AGENT, "recipients": numbers})
        assert caught.value.errors()[0]["loc"] == ("recipients",)
        assert CapabilitiesQuery.model_validate({"agent": AGENT, "recipients": numbers[:1000]})


class TestIsolation:
    async def test_another_accounts_agent_is_not_found(
        self, platform: Platform, make_tenant: TenantFactory
    ) -> None:
        other = await make_tenant(name="Other")
        await launched_sender(platform.context, other.account_id)
        response = await platform.api.get(f"/v3/capabilities/46700000001?agent={AGENT}")
        assert response.status_code == 404


async def test_without_a_connected_operator_the_answer_is_503(
    api: httpx.AsyncClient, sender: Sender
) -> None:
    response = await api.get(f"/v3/capabilities/46700000001?agent={AGENT}")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
