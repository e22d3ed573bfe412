from __future__ import annotations

import httpx
import pytest

from rcsgate.kit.clock import FakeClock
from tests.test_gate import assert_problem

AGENTS = "/v3/brands/shop/agents"


@pytest.fixture
async def shop(api: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await api.post("/v3/brands", json={"displayName": "Shop"})).status_code == 201
    return api


FULL = {
    "displayName": "Kundservice",
    "description": "We answer within a minute",
    "logoUrl": "https://shop.example/logo.png",
    "heroUrl": "https://shop.example/hero.png",
    "color": "#1A73E8",
    "phone": "+46 10-160 60 60",
    "website": "https://shop.example",
    "email": "help@shop.example",
    "privacyUrl": "https://shop.example/privacy",
    "termsUrl": "https://shop.example/terms",
    "useCase": "Transactional",
    "smsSender": "Shop",
    "deliveryReportUrl": "https://hooks.shop.example/rcs",
}


class TestCreate:
    async def test_every_field_round_trips(self, shop: httpx.AsyncClient) -> None:
        response = await shop.post(AGENTS, json=FULL)

        assert response.status_code == 201
        body = response.json()
        assert body == {
            **FULL,
            "phone": "46101606060",
            "agentName": "kundservice",
            "brandName": "shop",
            "status": "Draft",
            "operators": [],
            "created": "2026-03-09T08:00:00Z",
            "modified": "2026-03-09T08:00:00Z",
        }
        assert response.headers["location"] == "/v3/brands/shop/agents/kundservice"
        assert (await shop.get(f"{AGENTS}/kundservice")).json() == body

    async def test_defaults(self, shop: httpx.AsyncClient) -> None:
        body = (await shop.post(AGENTS, json={"displayName": "Customer Service"})).json()
        assert body["agentName"] == "customer-service"
        assert body["useCase"] == "MultiUse"
        assert body["description"] is None

    async def test_unknown_brand_is_404(self, api: httpx.AsyncClient) -> None:
        assert_problem(
            await api.post("/v3/brands/ghost/agents", json={"displayName": "A"}), 404, "not-found"
        )

    async def test_brand_by_display_name(self, shop: httpx.AsyncClient) -> None:
        response = await shop.post("/v3/brands/SHOP/agents", json={"displayName": "A"})
        assert response.status_code == 201

    async def test_duplicate_is_409(self, shop: httpx.AsyncClient) -> None:
        await shop.post(AGENTS, json={"displayName": "Support"})
        response = await shop.post(AGENTS, json={"displayName": "Other", "agentName": "SUPPORT"})
        assert_problem(response, 409, "already-exists")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("color", "#12345"),
            ("color", "blue"),
            ("phone", "12345"),
            ("email", "not-an-email"),
            ("logoUrl", "http://plain.example/logo.png"),
            ("heroUrl", "not a url"),
            ("useCase", "Spam"),
            ("smsSender", "ThisIsWayTooLongForASender"),
            ("description", "x" * 101),
            ("deliveryReportUrl", "ftp://hooks.example"),
        ],
    )
    async def test_invalid_field_is_named(
        self, shop: httpx.AsyncClient, field: str, value: str
    ) -> None:
        response = await shop.post(AGENTS, json={"displayName": "A", field: value})
        assert_problem(response, 400, "validation")
        assert [e["field"] for e in response.json()["errors"]] == [f"/{field}"]

    async def test_numeric_sms_sender_is_normalised(self, shop: httpx.AsyncClient) -> None:
        body = (
            await shop.post(AGENTS, json={"displayName": "A", "smsSender": "+46700123456"})
        ).json()
        assert body["smsSender"] == "46700123456"


class TestReadAndList:
    async def test_get_by_display_name_any_case(self, shop: httpx.AsyncClient) -> None:
        await shop.post(AGENTS, json={"displayName": "Kundservice"})
        assert (await shop.get(f"{AGENTS}/KUNDSERVICE")).status_code == 200
        assert (await shop.get("/v3/brands/Shop/agents/kundservice")).status_code == 200

    async def test_list_pages_and_only_this_brand(
        self, shop: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await shop.post("/v3/brands", json={"displayName": "Other"})
        await shop.post("/v3/brands/other/agents", json={"displayName": "Elsewhere"})
        for name in ("a1", "a2", "a3"):
            clock.advance(1)
            await shop.post(AGENTS, json={"displayName": name})

        first = await shop.get(AGENTS, params={"limit": 2})
        desc = await shop.get(AGENTS, params={"order": "DESC"})

        assert [a["agentName"] for a in first.json()] == ["a1", "a2"]
        assert first.headers["x-total-count"] == "3"
        assert 'rel="next"' in first.headers["link"]
        assert [a["agentName"] for a in desc.json()] == ["a3", "a2", "a1"]


class TestUpdate:
    async def test_merge_patch_sets_clears_and_keeps(
        self, shop: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await shop.post(AGENTS, json=FULL)
        clock.advance(60)

        response = await shop.patch(
            f"{AGENTS}/kundservice",
            json={"displayName": "Support", "description": None, "color": "#000000"},
        )

        body = response.json()
        assert response.status_code == 200
        assert (body["displayName"], body["description"], body["color"]) == (
            "Support",
            None,
            "#000000",
        )
        assert body["website"] == FULL["website"]
        assert body["modified"] == "2026-03-09T08:01:00Z"
        assert body["created"] == "2026-03-09T08:00:00Z"
        assert (await shop.get(f"{AGENTS}/support")).json()["agentName"] == "kundservice"

    @pytest.mark.parametrize("field", ["displayName", "useCase"])
    async def test_required_fields_cannot_be_cleared(
        self, shop: httpx.AsyncClient, field: str
    ) -> None:
        await shop.post(AGENTS, json={"displayName": "A"})
        response = await shop.patch(f"{AGENTS}/a", json={field: None})
        assert_problem(response, 400, "validation")
        assert [e["field"] for e in response.json()["errors"]] == [f"/{field}"]

    async def test_invalid_value_changes_nothing(self, shop: httpx.AsyncClient) -> None:
        await shop.post(AGENTS, json={"displayName": "A", "color": "#111111"})
        response = await shop.patch(f"{AGENTS}/a", json={"color": "#222222", "email": "nope"})
        assert response.status_code == 400
        assert (await shop.get(f"{AGENTS}/a")).json()["color"] == "#111111"


class TestDelete:
    async def test_deleted_agent_is_gone_and_name_free(self, shop: httpx.AsyncClient) -> None:
        await shop.post(AGENTS, json={"displayName": "A"})
        assert (await shop.delete(f"{AGENTS}/a")).status_code == 200
        assert (await shop.get(f"{AGENTS}/a")).status_code == 404
        assert (await shop.get(AGENTS)).json() == []
        assert (await shop.post(AGENTS, json={"displayName": "A"})).status_code == 201


class TestLaunch:
    async def test_launch_is_recorded_per_operator(self, shop: httpx.AsyncClient) -> None:
        await shop.post(AGENTS, json={"displayName": "A"})

        response = await shop.post(f"{AGENTS}/a/launch")

        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "Submitted"
        assert body["operators"] == [
            {"operator": "maap", "status": "Submitted"},
            {"operator": "rbm", "status": "Submitted"},
        ]
        assert (await shop.get(f"{AGENTS}/a")).json()["status"] == "Submitted"

    async def test_launching_again_while_submitted_changes_nothing(
        self, shop: httpx.AsyncClient
    ) -> None:
        await shop.post(AGENTS, json={"displayName": "A"})
        first = (await shop.post(f"{AGENTS}/a/launch")).json()
        second = await shop.post(f"{AGENTS}/a/launch")
        assert second.status_code == 202
        assert second.json()["operators"] == first["operators"]

    async def test_launch_with_an_empty_json_body(self, shop: httpx.AsyncClient) -> None:
        await shop.post(AGENTS, json={"displayName": "A"})
        assert (await shop.post(f"{AGENTS}/a/launch", json={})).status_code == 202

    async def test_unknown_agent_is_404(self, shop: httpx.AsyncClient) -> None:
        assert_problem(await shop.post(f"{AGENTS}/ghost/launch"), 404, "not-found")
