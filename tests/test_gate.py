"""The /v3 gate: HTTPS, API keys, IP allow-lists, forged headers, cross-account isolation."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest

from rcsgate.context import AppContext
from rcsgate.keys.service import revoke_key
from rcsgate.kit.clock import FakeClock
from rcsgate.models import ApiKey
from tests.conftest import ClientFactory, Tenant, TenantFactory
from tests.fixtures.database import statements_run

TRUSTED_PROXY = "10.9.0.5"  # inside settings.trusted_proxies (10.9.0.0/16)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://rcsgate.dev/problems/{slug}", body
    assert body["status"] == status
    return body


async def last_used(context: AppContext, tenant: Tenant) -> datetime | None:
    async with context.sessionmaker() as session:
        key = await session.get(ApiKey, tenant.key_id)
        assert key is not None
        return key.last_used_at


class TestAuthentication:
    @pytest.mark.parametrize(
        "authorization",
        [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b"],
    )
    async def test_missing_or_malformed_header_is_401(
        self, client_for: ClientFactory, authorization: str | None
    ) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = await client_for().get("/v3/account", headers=headers)

        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_unknown_key_is_401(self, client_for: ClientFactory, tenant: Tenant) -> None:
        response = await client_for(token=tenant.token + "x").get("/v3/account")

        assert_problem(response, 401, "unauthorized")

    async def test_key_revoked_elsewhere_stops_within_the_cache_time(
        self, client_for: ClientFactory, tenant: Tenant, context: AppContext, clock: FakeClock
    ) -> None:
        api = client_for(token=tenant.token)
        assert (await api.get("/v3/account")).status_code == 200
        async with context.sessionmaker.begin() as session:  # as `rcsgate keys revoke` does
            await revoke_key(session, context.clock, tenant.account_id, tenant.key_id)

        clock.advance(context.settings.key_cache_seconds)

        assert_problem(await api.get("/v3/account"), 401, "unauthorized")

    async def test_requests_missing_an_expired_key_entry_together_look_it_up_once(
        self, client_for: ClientFactory, tenant: Tenant, context: AppContext, clock: FakeClock
    ) -> None:
        api = client_for(token=tenant.token)
        assert (await api.get("/v3/account")).status_code == 200
        clock.advance(context.settings.key_cache_seconds)

        with statements_run(context.engine) as statements:
            responses = await asyncio.gather(*(api.get("/v3/account") for _ in range(8)))

        assert [r.status_code for r in responses] == [200] * 8
        lookups = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len([s for s in lookups if "api_keys" in s]) == 1

    async def test_key_revoked_in_this_process_stops_at_once(
        self, client_for: ClientFactory, tenant: Tenant, context: AppContext
    ) -> None:
        api = client_for(token=tenant.token)
        assert (await api.get("/v3/account")).status_code == 200
        async with context.sessionmaker.begin() as session:
            await revoke_key(session, context.clock, tenant.account_id, tenant.key_id)
        context.key_cache.forget_key(tenant.key_id)

        assert_problem(await api.get("/v3/account"), 401, "unauthorized")

    async def test_never_used_key_revoked_is_401_at_once(
        self, client_for: ClientFactory, tenant: Tenant, context: AppContext
    ) -> None:
        async with context.sessionmaker.begin() as session:
            await revoke_key(session, context.clock, tenant.account_id, tenant.key_id)

        assert_problem(await client_for(token=tenant.token).get("/v3/account"), 401, "unauthorized")

    async def test_scheme_is_case_insensitive(
        self, client_for: ClientFactory, tenant: Tenant
    ) -> None:
        response = await client_for().get(
            "/v3/account", headers={"Authorization": f"bearer {tenant.token}"}
        )
        assert response.status_code == 200

    async def test_a_refused_request_has_no_rate_limit_headers_or_effect(
        self, client_for: ClientFactory
    ) -> None:
        response = await client_for(token="rcs_nope").post("/v3/brands", json={"displayName": "X"})

        assert response.status_code == 401
        assert "ratelimit-limit" not in response.headers


class TestHttps:
    async def test_plain_http_is_refused_before_anything_runs(
        self, client_for: ClientFactory, tenant: Tenant
    ) -> None:
        plain = client_for(scheme="http", token=tenant.token)
        response = await plain.post("/v3/brands", json={"displayName": "Via HTTP"})

        assert_problem(response, 403, "https-required")
        listed = await client_for(token=tenant.token).get("/v3/brands")
        assert listed.json() == []

    async def test_trusted_proxy_may_vouch_for_https(
        self, client_for: ClientFactory, tenant: Tenant
    ) -> None:
        proxied = client_for(peer=TRUSTED_PROXY, scheme="http", token=tenant.token)
        response = await proxied.get("/v3/account", headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 200

    async def test_untrusted_peer_cannot_vouch_for_https(
        self, client_for: ClientFactory, tenant: Tenant
    ) -> None:
        plain = client_for(scheme="http", token=tenant.token)
        response = await plain.get("/v3/account", headers={"X-Forwarded-Proto": "https"})
        assert_problem(response, 403, "https-required")

    async def test_a_client_sent_proto_line_is_not_the_proxys(
        self, client_for: ClientFactory, tenant: Tenant
    ) -> None:
        # The client sent "https" over plain HTTP; the proxy appended what it saw.
        proxied = client_for(peer=TRUSTED_PROXY, scheme="http", token=tenant.token)
        response = await proxied.get(
            "/v3/account", headers=[("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http")]
        )
        assert_problem(response, 403, "https-required")

    async def test_each_proxy_of_a_chain_vouches_for_its_own_hop(
        self, client_for: ClientFactory, tenant: Tenant
    ) -> None:
        proxied = client_for(peer=TRUSTED_PROXY, scheme="http", token=tenant.token)
        forwarded = {"X-Forwarded-For": "203.0.113.9, 10.9.0.6"}
        edge_https = await proxied.get(
            "/v3/account", headers={**forwarded, "X-Forwarded-Proto": "https, http"}
        )
        edge_http = await proxied.get(
            "/v3/account", headers={**forwarded, "X-Forwarded-Proto": "http, https"}
        )
        assert edge_https.status_code == 200
        assert_problem(edge_http, 403, "https-required")


class TestIpAllowList:
    @pytest.fixture
    async def restricted(self, make_tenant: TenantFactory) -> Tenant:
        return await make_tenant(allowed_ips=["198.51.100.0/24", "2001:db8::/32"])

    @pytest.mark.parametrize("peer", ["198.51.100.7", "2001:db8::1", "::ffff:198.51.100.8"])
    async def test_address_inside_the_list_passes(
        self, client_for: ClientFactory, restricted: Tenant, peer: str
    ) -> None:
        response = await client_for(peer=peer, token=restricted.token).get("/v3/account")
        assert response.status_code == 200

    @pytest.mark.parametrize("peer", ["203.0.113.9", "198.51.101.1", "2001:db9::1"])
    async def test_address_outside_the_list_is_403(
        self, client_for: ClientFactory, restricted: Tenant, peer: str
    ) -> None:
        response = await client_for(peer=peer, token=restricted.token).get("/v3/account")
        assert_problem(response, 403, "ip-not-allowed")

    async def test_only_a_use_from_an_allowed_address_counts_as_use(
        self,
        client_for: ClientFactory,
        restricted: Tenant,
        context: AppContext,
        clock: FakeClock,
    ) -> None:
        refused = await client_for(peer="203.0.113.9", token=restricted.token).get("/v3/account")
        assert refused.status_code == 403
        assert await last_used(context, restricted) is None
        context.key_cache.forget_key(restricted.key_id)
        allowed = await client_for(peer="198.51.100.7", token=restricted.token).get("/v3/account")
        assert allowed.status_code == 200
        assert await last_used(context, restricted) == clock.now()

    async def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(
        self, client_for: ClientFactory, restricted: Tenant
    ) -> None:
        api = client_for(peer="203.0.113.9", token=restricted.token)
        response = await api.get("/v3/account", headers={"X-Forwarded-For": "198.51.100.7"})
        assert_problem(response, 403, "ip-not-allowed")

    async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
        self, client_for: ClientFactory, restricted: Tenant
    ) -> None:
        api = client_for(peer=TRUSTED_PROXY, token=restricted.token)
        allowed = await api.get("/v3/account", headers={"X-Forwarded-For": "198.51.100.7"})
        refused = await api.get("/v3/account", headers={"X-Forwarded-For": "203.0.113.9"})
        assert allowed.status_code == 200
        assert_problem(refused, 403, "ip-not-allowed")

    async def test_client_cannot_prepend_an_allowed_address_through_a_proxy(
        self, client_for: ClientFactory, restricted: Tenant
    ) -> None:
        # The proxy appends the real client (203.0.113.9) to whatever the client sent.
        api = client_for(peer=TRUSTED_PROXY, token=restricted.token)
        response = await api.get(
            "/v3/account", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
        )
        assert_problem(response, 403, "ip-not-allowed")

    async def test_the_proxy_itself_is_not_the_client(
        self, client_for: ClientFactory, make_tenant: TenantFactory
    ) -> None:
        only_proxy = await make_tenant(allowed_ips=[f"{TRUSTED_PROXY}/32"])
        api = client_for(peer=TRUSTED_PROXY, token=only_proxy.token)
        response = await api.get("/v3/account", headers={"X-Forwarded-For": "203.0.113.9"})
        assert_problem(response, 403, "ip-not-allowed")

    async def test_a_second_forwarded_for_line_from_the_proxy_counts(
        self, client_for: ClientFactory, restricted: Tenant
    ) -> None:
        # The client sent an allowed address; the proxy appended the real one as a new line.
        api = client_for(peer=TRUSTED_PROXY, token=restricted.token)
        response = await api.get(
            "/v3/account",
            headers=[("X-Forwarded-For", "198.51.100.7"), ("X-Forwarded-For", "203.0.113.9")],
        )
        assert_problem(response, 403, "ip-not-allowed")

    async def test_spoofed_entries_in_every_line_are_passed_over(
        self, client_for: ClientFactory, restricted: Tenant
    ) -> None:
        api = client_for(peer=TRUSTED_PROXY, token=restricted.token)
        lines = [("X-Forwarded-For", "10.9.0.1, 198.51.100.7"), ("X-Forwarded-For", "198.51.100.8")]
        spoofed = await api.get("/v3/account", headers=[*lines, ("X-Forwarded-For", "203.0.113.9")])
        genuine = await api.get("/v3/account", headers=[*lines, ("X-Forwarded-For", "10.9.0.6")])
        assert_problem(spoofed, 403, "ip-not-allowed")
        assert genuine.status_code == 200  # 198.51.100.8, behind two trusted proxies

    async def test_an_all_trusted_chain_names_its_first_hop(
        self, client_for: ClientFactory, make_tenant: TenantFactory
    ) -> None:
        internal = await make_tenant(allowed_ips=["10.9.0.7/32"])
        api = client_for(peer=TRUSTED_PROXY, token=internal.token)
        inside = await api.get("/v3/account", headers={"X-Forwarded-For": "10.9.0.7, 10.9.0.6"})
        other = await api.get("/v3/account", headers={"X-Forwarded-For": "10.9.0.8, 10.9.0.6"})
        assert inside.status_code == 200
        assert_problem(other, 403, "ip-not-allowed")

    @pytest.mark.parametrize(
        "entry", ["unknown", "198.51.100.7:443", "\u00e9\u00e9".encode("latin-1"), "x" * 3000]
    )
    async def test_a_malformed_entry_from_the_proxy_is_an_unknown_client(
        self, client_for: ClientFactory, restricted: Tenant, tenant: Tenant, entry: str | bytes
    ) -> None:
        headers = [("X-Forwarded-For", "198.51.100.7"), ("X-Forwarded-For", entry)]
        refused = await client_for(peer=TRUSTED_PROXY, token=restricted.token).get(
            "/v3/account", headers=headers
        )
        unrestricted = await client_for(peer=TRUSTED_PROXY, token=tenant.token).get(
            "/v3/account", headers=headers
        )
        assert_problem(refused, 403, "ip-not-allowed")
        assert unrestricted.status_code == 200


class TestIsolation:
    async def test_a_key_of_account_a_never_reads_or_changes_account_b(
        self, client_for: ClientFactory, make_tenant: TenantFactory
    ) -> None:
        a, b = await make_tenant(name="A"), await make_tenant(name="B")
        api_a, api_b = client_for(token=a.token), client_for(token=b.token)
        assert (await api_b.post("/v3/brands", json={"displayName": "B Brand"})).status_code == 201
        created = await api_b.post("/v3/brands/b-brand/agents", json={"displayName": "Help"})
        assert created.status_code == 201

        assert (await api_a.get("/v3/account")).json()["id"] == a.account_id
        assert (await api_a.get("/v3/brands")).json() == []
        assert (await api_a.get("/v3/brands/b-brand")).status_code == 404
        assert (await api_a.get("/v3/brands/B Brand")).status_code == 404
        assert (await api_a.get("/v3/brands/b-brand/agents")).status_code == 404
        assert (await api_a.get("/v3/brands/b-brand/agents/help")).status_code == 404
        patch = await api_a.patch("/v3/brands/b-brand/agents/help", json={"displayName": "Hacked"})
        assert patch.status_code == 404
        assert (await api_a.post("/v3/brands/b-brand/agents/help/launch")).status_code == 404
        assert (await api_a.delete("/v3/brands/b-brand/agents/help")).status_code == 404
        assert (await api_a.delete("/v3/brands/b-brand")).status_code == 404

        agent = (await api_b.get("/v3/brands/b-brand/agents/help")).json()
        assert agent["displayName"] == "Help"
        assert agent["status"] == "Draft"
        assert len((await api_b.get("/v3/brands")).json()) == 1

    async def test_same_brand_name_in_two_accounts_is_two_brands(
        self, client_for: ClientFactory, make_tenant: TenantFactory
    ) -> None:
        a, b = await make_tenant(), await make_tenant()
        for tenant, site in ((a, "https://a.example"), (b, "https://b.example")):
            response = await client_for(token=tenant.token).post(
                "/v3/brands", json={"displayName": "Shop", "website": site}
            )
            assert response.status_code == 201
        assert (await client_for(token=a.token).get("/v3/brands/shop")).json()[
            "website"
        ] == "https://a.example"
        assert (await client_for(token=b.token).get("/v3/brands/shop")).json()[
            "website"
        ] == "https://b.example"


class TestNul:
    """No text column holds a NUL (PostgreSQL refuses one), so it is refused up front by name,
    not met later as a 503 (schemathesis found `tag=%00` on PostgreSQL)."""

    @pytest.mark.parametrize(
        ("path", "field"),
        [
            ("/v3/bundles?tag=%00", "tag"),
            ("/v3/bundles?start=0&tag=a%00b", "tag"),
            ("/v3/messages?recipient=4670%0000001", "recipient"),
            ("/v3/bundles/ab%00cd", "path"),
        ],
    )
    async def test_a_nul_in_the_path_or_query_is_400_naming_it(
        self, api: httpx.AsyncClient, path: str, field: str
    ) -> None:
        body = assert_problem(await api.get(path), 400, "validation")

        assert [error["field"] for error in body["errors"]] == [field]

    async def test_a_query_without_a_nul_passes(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/v3/bundles?tag=%01rea")).status_code == 200

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"brandName": "acme", "displayName": "A\u0000B"}, "/displayName"),
            ({"brandName": "acme", "displayName": "AB", "tags": ["x", "\u0000"]}, "/tags/1"),
            ({"brandName": "acme", "displayName": "AB", "a\u0000": 1}, "/a\u0000"),
        ],
    )
    async def test_a_nul_in_a_body_string_is_400_naming_its_field(
        self, api: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        response = assert_problem(await api.post("/v3/brands", json=body), 400, "validation")

        assert [error["field"] for error in response["errors"]] == [field]

    async def test_an_escaped_backslash_before_u0000_is_no_nul(
        self, api: httpx.AsyncClient
    ) -> None:
        body = {"brandName": "acme", "displayName": "C:\\u0000"}

        assert (await api.post("/v3/brands", json=body)).status_code == 201
