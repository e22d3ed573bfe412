from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rcsgate.kit.clock import FakeClock
from tests.test_gate import assert_problem


async def make_brands(api: httpx.AsyncClient, clock: FakeClock, count: int) -> list[str]:
    names = []
    for index in range(count):
        clock.advance(1)
        response = await api.post("/v3/brands", json={"displayName": f"Brand {index:02d}"})
        assert response.status_code == 201
        names.append(response.json()["brandName"])
    return names


def links(response: httpx.Response) -> dict[str, dict[str, list[str]]]:
    result = {}
    for part in response.headers["link"].split(", <"):
        target, rel = part.split(">; rel=")
        result[rel.strip('"')] = parse_qs(urlsplit(target.lstrip("<")).query)
    return result


class TestCreate:
    async def test_documented_example_makes_a_slug(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v3/brands", json={"displayName": "Min Butik AB"})

        assert response.status_code == 201
        assert response.json() == {
            "brandName": "min-butik-ab",
            "displayName": "Min Butik AB",
            "website": None,
            "logoUrl": None,
            "created": "2026-03-09T08:00:00Z",
        }
        assert response.headers["location"] == "/v3/brands/min-butik-ab"

    async def test_swedish_letters_fold_in_the_slug(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v3/brands", json={"displayName": "Åre Öl & Kött"})
        assert response.json()["brandName"] == "are-ol-kott"

    async def test_explicit_brand_name_and_urls(self, api: httpx.AsyncClient) -> None:
        response = await api.post(
            "/v3/brands",
            json={
                "displayName": "Shop",
                "brandName": "Min-Butik-AB",
                "website": "http://shop.example",
                "logoUrl": "https://shop.example/logo.png",
            },
        )
        assert response.status_code == 201
        assert response.json()["brandName"] == "Min-Butik-AB"

    async def test_duplicate_name_is_409_in_any_case(self, api: httpx.AsyncClient) -> None:
        assert (await api.post("/v3/brands", json={"displayName": "Shop"})).status_code == 201
        response = await api.post("/v3/brands", json={"displayName": "Other", "brandName": "SHOP"})
        assert_problem(response, 409, "already-exists")

    async def test_concurrent_duplicates_create_one(self, api: httpx.AsyncClient) -> None:
        responses = await asyncio.gather(
            *(api.post("/v3/brands", json={"displayName": "Race"}) for _ in range(5))
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 4
        assert len((await api.get("/v3/brands")).json()) == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"displayName": ""}, "/displayName"),
            ({"displayName": "x" * 101}, "/displayName"),
            ({"displayName": "x", "brandName": "-bad-"}, "/brandName"),
            ({"displayName": "x", "brandName": "has space"}, "/brandName"),
            ({"displayName": "x", "website": "ftp://x.example"}, "/website"),
            ({"displayName": "x", "logoUrl": "http://x.example/l.png"}, "/logoUrl"),
        ],
    )
    async def test_invalid_fields_are_named(
        self, api: httpx.AsyncClient, body: dict[str, str], field: str
    ) -> None:
        response = await api.post("/v3/brands", json=body)
        assert_problem(response, 400, "validation")
        assert [e["field"] for e in response.json()["errors"]] == [field]


class TestGet:
    async def test_by_brand_name_or_display_name_in_any_case(self, api: httpx.AsyncClient) -> None:
        await api.post("/v3/brands", json={"displayName": "Min Butik AB"})
        for name in ("min-butik-ab", "MIN-BUTIK-AB", "Min Butik AB", "min butik ab"):
            response = await api.get(f"/v3/brands/{name}")
            assert response.status_code == 200, name
            assert response.json()["brandName"] == "min-butik-ab"

    async def test_unknown_is_404(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get("/v3/brands/ghost"), 404, "not-found")


class TestDelete:
    async def test_delete_returns_it_and_frees_the_name(self, api: httpx.AsyncClient) -> None:
        await api.post("/v3/brands", json={"displayName": "Shop", "website": "https://one.example"})

        deleted = await api.delete("/v3/brands/shop")

        assert deleted.status_code == 200
        assert deleted.json()["website"] == "https://one.example"
        assert (await api.get("/v3/brands/shop")).status_code == 404
        again = await api.post("/v3/brands", json={"displayName": "Shop"})
        assert again.status_code == 201
        assert again.json()["website"] is None

    async def test_brand_with_agents_is_409(self, api: httpx.AsyncClient) -> None:
        await api.post("/v3/brands", json={"displayName": "Shop"})
        await api.post("/v3/brands/shop/agents", json={"displayName": "Support"})

        assert_problem(await api.delete("/v3/brands/shop"), 409, "brand-has-agents")
        assert (await api.delete("/v3/brands/shop/agents/support")).status_code == 200
        assert (await api.delete("/v3/brands/shop")).status_code == 200


class TestList:
    async def test_empty(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/v3/brands")

        assert response.json() == []
        assert response.headers["x-total-count"] == "0"
        assert set(links(response)) == {"self", "first", "last"}

    async def test_default_page_is_ascending_by_creation(
        self, api: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        names = await make_brands(api, clock, 3)
        response = await api.get("/v3/brands")
        assert [b["brandName"] for b in response.json()] == names

    async def test_exact_multiple_of_the_limit(
        self, api: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        names = await make_brands(api, clock, 6)

        first = await api.get("/v3/brands", params={"limit": 3})
        second = await api.get("/v3/brands", params={"start": 3, "limit": 3})

        assert [b["brandName"] for b in first.json()] == names[:3]
        assert links(first)["next"]["start"] == ["3"]
        assert links(first)["last"]["start"] == ["3"]
        assert "prev" not in links(first)
        assert [b["brandName"] for b in second.json()] == names[3:]
        assert "next" not in links(second)
        assert links(second)["prev"]["start"] == ["0"]
        assert second.headers["x-total-count"] == "6"

    async def test_partial_last_page(self, api: httpx.AsyncClient, clock: FakeClock) -> None:
        names = await make_brands(api, clock, 5)

        last = await api.get("/v3/brands", params={"start": 4, "limit": 2})

        assert [b["brandName"] for b in last.json()] == names[4:]
        assert "next" not in links(last)
        assert links(last)["last"]["start"] == ["4"]

    async def test_start_past_the_end(self, api: httpx.AsyncClient, clock: FakeClock) -> None:
        await make_brands(api, clock, 3)

        response = await api.get("/v3/brands", params={"start": 10, "limit": 2})

        assert response.status_code == 200
        assert response.json() == []
        assert response.headers["x-total-count"] == "3"
        assert "next" not in links(response)
        assert links(response)["last"]["start"] == ["2"]

    async def test_descending_any_case(self, api: httpx.AsyncClient, clock: FakeClock) -> None:
        names = await make_brands(api, clock, 4)

        response = await api.get("/v3/brands", params={"order": "desc", "limit": 3})

        assert [b["brandName"] for b in response.json()] == names[::-1][:3]
        assert links(response)["next"]["order"] == ["DESC"]

    async def test_other_query_parameters_are_kept_in_links(
        self, api: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await make_brands(api, clock, 3)
        response = await api.get("/v3/brands", params={"limit": 1, "start": 1, "q": "keep me"})
        for rel, query in links(response).items():
            assert query["q"] == ["keep me"], rel
        assert response.headers["link"].startswith("<https://testserver/v3/brands?")

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"start": -1}, "start"),
            ({"start": "x"}, "start"),
            ({"limit": 0}, "limit"),
            ({"limit": 1001}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"order": "sideways"}, "order"),
        ],
    )
    async def test_bad_paging_values_are_400(
        self, api: httpx.AsyncClient, params: dict[str, object], field: str
    ) -> None:
        response = await api.get("/v3/brands", params=params)
        assert_problem(response, 400, "validation")
        assert [e["field"] for e in response.json()["errors"]] == [field]

    async def test_limit_1000_is_allowed(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/v3/brands", params={"limit": 1000})).status_code == 200
