from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import pytest

from rcsgate.app import create_app
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock, isoformat_z
from rcsgate.models import Message, MessageEvent
from tests.conftest import ClientFactory, Tenant, TenantFactory
from tests.fixtures.ip1 import E10_FULL, E10_QUICK_START
from tests.fixtures.messaging import Sender, count_rows, jobs_of_kind, launched_sender
from tests.test_gate import assert_problem

DOC_EXAMPLE, QUICK_START = E10_FULL, E10_QUICK_START
SIMPLE = {"brand": "min-butik-ab", "agent": "kundservice", "content": "Rea imorgon!"}


def numbers(count: int, first: int = 100) -> list[str]:
    return [f"4670000{index:04d}" for index in range(first, first + count)]


async def send(api: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
    return await api.post("/v3/bundles", json=body)


class TestCreate:
    @pytest.mark.parametrize("body", [DOC_EXAMPLE, QUICK_START], ids=["full", "quick-start"])
    async def test_documented_examples_work_unchanged(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, body: dict[str, object]
    ) -> None:
        response = await send(api, body)

        assert response.status_code == 201, response.text
        bundle = response.json()
        assert bundle["brand"] == "min-butik-ab"
        assert bundle["agent"] == "kundservice"
        assert bundle["recipientCount"] == 1
        assert bundle["statusCounts"] == {"Queued": 1}
        assert bundle["tags"] == ["frakt", "viktigt"]
        assert bundle["card"]["title"] == body["card"]["title"]  # type: ignore[index]
        assert bundle["suggestions"][0]["typeName"] == "OpenUrl"
        assert response.headers["location"] == f"/v3/bundles/{bundle['id']}"
        jobs = await jobs_of_kind(context, "send_bundle")
        assert [job.payload for job in jobs] == [{"bundleId": bundle["id"]}]

    async def test_each_recipient_gets_its_own_filled_message(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        recipients = {"46700000101": {"name": "Kalle"}, "46700000102": {"name": "Lisa"}}
        body = {**SIMPLE, "content": "Hej {name}!", "recipients": recipients}
        bundle = (await send(api, body)).json()

        listed = await api.get(f"/v3/bundles/{bundle['id']}/messages")

        assert sorted(m["content"] for m in listed.json()) == ["Hej Kalle!", "Hej Lisa!"]
        assert {m["bundleId"] for m in listed.json()} == {bundle["id"]}
        assert bundle["price"] == pytest.approx(2 * listed.json()[0]["price"])

    async def test_recipients_as_an_array(self, api: httpx.AsyncClient, sender: Sender) -> None:
        response = await send(api, {**SIMPLE, "recipients": ["+46700000101", "0046700000102"]})

        assert response.status_code == 201, response.text
        assert response.json()["recipientCount"] == 2

    async def test_a_number_given_twice_is_a_400_naming_it(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        response = await send(
            api, {**SIMPLE, "recipients": ["46700000101", "+46 70 000 01 01", "4670"]}
        )

        problem = assert_problem(response, 400, "validation")
        assert [e["field"] for e in problem["errors"]] == ["/recipients/1", "/recipients/2"]
        assert await count_rows(context, Message) == 0

    async def test_a_missing_placeholder_names_key_and_recipients(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        body = {
            **SIMPLE,
            "content": "Hej {name}!",
            "recipients": {"46700000101": {"name": "Kalle"}, "46700000102": {}},
        }

        response = await send(api, body)

        assert_problem(response, 400, "validation")
        assert "name" in response.text
        assert "46700000102" in response.text

    async def test_no_recipients_and_too_many_tags_are_400(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        assert_problem(await send(api, {**SIMPLE, "recipients": []}), 400, "validation")
        tags = [f"t{i}" for i in range(21)]
        response = await send(api, {**SIMPLE, "recipients": ["46700000101"], "tags": tags})
        assert assert_problem(response, 400, "validation")["errors"][0]["field"] == "/tags"

    async def test_send_at_schedules_and_is_bounded(
        self, api: httpx.AsyncClient, sender: Sender, clock: FakeClock, context: AppContext
    ) -> None:
        later = clock.now() + timedelta(days=1)
        body = {**SIMPLE, "recipients": ["46700000101"], "sendAt": isoformat_z(later)}

        bundle = (await send(api, body)).json()

        assert bundle["statusCounts"] == {"Scheduled": 1}
        assert bundle["sendAt"] == isoformat_z(later)
        (job,) = await jobs_of_kind(context, "send_bundle")
        assert job.run_at == later
        too_far = isoformat_z(clock.now() + timedelta(days=181))
        response = await send(api, {**body, "sendAt": too_far})
        assert assert_problem(response, 400, "validation")["errors"][0]["field"] == "/sendAt"


class TestReadAndCancel:
    async def test_list_filters_by_every_tag(self, api: httpx.AsyncClient, sender: Sender) -> None:
        for tags in (["a"], ["a", "b"], ["b"]):
            await send(api, {**SIMPLE, "recipients": ["46700000101"], "tags": tags})

        both = await api.get("/v3/bundles", params=[("tag", "a"), ("tag", "b")])
        only_a = await api.get("/v3/bundles", params={"tag": "a", "order": "DESC"})

        assert [b["tags"] for b in both.json()] == [["a", "b"]]
        assert [b["tags"] for b in only_a.json()] == [["a", "b"], ["a"]]
        assert only_a.headers["x-total-count"] == "2"
        assert "tag=a" in only_a.headers["link"]

    async def test_cancel_turns_pending_messages_cancelled_with_the_event(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        bundle = (await send(api, {**SIMPLE, "recipients": numbers(3)})).json()

        cancelled = await api.delete(f"/v3/bundles/{bundle['id']}")

        assert cancelled.status_code == 200
        assert cancelled.json()["statusCounts"] == {"Cancelled": 3}
        assert cancelled.json()["cancelled"] is not None
        assert await count_rows(context, MessageEvent, status="Cancelled") == 3
        message = (await api.get(f"/v3/bundles/{bundle['id']}/messages")).json()[0]
        one = await api.get(f"/v3/bundles/{bundle['id']}/messages/{message['id']}")
        assert [e["status"] for e in one.json()["events"]] == ["Queued", "Cancelled"]

    async def test_messages_by_status_and_post_answers_like_get(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        bundle = (await send(api, {**SIMPLE, "recipients": numbers(3)})).json()
        path = f"/v3/bundles/{bundle['id']}/messages"

        got = await api.get(path, params={"limit": 2})
        posted = await api.post(path + "?limit=2")
        queued = await api.get(path, params={"status": "Queued"})
        delivered = await api.get(path, params={"status": "Delivered"})

        assert posted.status_code == 200
        assert posted.json() == got.json()
        assert posted.headers["x-total-count"] == "3"
        assert len(queued.json()) == 3
        assert delivered.json() == []

    async def test_a_message_of_another_bundle_is_404(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        first = (await send(api, {**SIMPLE, "recipients": ["46700000101"]})).json()
        second = (await send(api, {**SIMPLE, "recipients": ["46700000101"]})).json()
        message = (await api.get(f"/v3/bundles/{second['id']}/messages")).json()[0]

        response = await api.get(f"/v3/bundles/{first['id']}/messages/{message['id']}")

        assert_problem(response, 404, "not-found")


class TestIsolation:
    async def test_another_account_sees_and_changes_nothing(
        self,
        api: httpx.AsyncClient,
        sender: Sender,
        make_tenant: TenantFactory,
        client_for: ClientFactory,
        context: AppContext,
    ) -> None:
        bundle = (await send(api, {**SIMPLE, "recipients": numbers(2)})).json()
        other = await make_tenant(name="Other")
        await launched_sender(context, other.account_id)
        intruder = client_for(token=other.token)
        path = f"/v3/bundles/{bundle['id']}"
        message = (await api.get(path + "/messages")).json()[0]

        assert_problem(await intruder.get(path), 404, "not-found")
        assert_problem(await intruder.delete(path), 404, "not-found")
        assert_problem(await intruder.get(path + "/messages"), 404, "not-found")
        assert_problem(await intruder.get(f"{path}/messages/{message['id']}"), 404, "not-found")
        assert (await intruder.get("/v3/bundles")).json() == []
        assert (await api.get(path)).json()["statusCounts"] == {"Queued": 2}


async def test_a_large_bundle_is_stored_before_its_201(
    tenant: Tenant, sender: Sender, context: AppContext, client_for: ClientFactory
) -> None:
    """5,000 recipients: several insert batches, all stored, one job."""
    roomy = dataclasses.replace(
        context, settings=context.settings.model_copy(update={"max_body_bytes": 1 << 20})
    )
    api = client_for(token=tenant.token, target=create_app(context=roomy))

    response = await send(api, {**SIMPLE, "recipients": numbers(5000, first=1000)})

    assert response.status_code == 201, response.text
    assert await count_rows(context, Message, bundle_id=response.json()["id"]) == 5000
    assert len(await jobs_of_kind(context, "send_bundle")) == 1
