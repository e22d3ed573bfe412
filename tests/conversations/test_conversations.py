from __future__ import annotations

import httpx
import pytest

from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from tests.conftest import ClientFactory, TenantFactory
from tests.fixtures.ip1 import E6_CONVERSATION
from tests.fixtures.messaging import Sender, jobs_of_kind, launched_sender
from tests.test_gate import assert_problem

QUICK_START = E6_CONVERSATION  # the iP.1 quick-start request, unchanged


async def start(api: httpx.AsyncClient, **fields: object) -> httpx.Response:
    return await api.post("/v3/conversations", json={**QUICK_START, **fields})


class TestStart:
    async def test_quick_start_answers_the_first_message_queued_with_its_job(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        response = await start(api)

        assert response.status_code == 201, response.text
        message = response.json()
        assert message["brand"] == "min-butik-ab"
        assert message["agent"] == "kundservice"
        assert message["recipient"] == "46700123456"
        assert message["content"] == QUICK_START["content"]
        assert message["type"] == "Text"
        assert message["status"] == "Queued"
        assert message["direction"] == "Outbound"
        assert message["events"] == [
            {
                "status": "Queued",
                "channel": "RCS",
                "operator": None,
                "reason": None,
                "at": message["created"],
            }
        ]
        assert response.headers["location"] == f"/v3/conversations/{message['conversationId']}"
        jobs = await jobs_of_kind(context, "send_message")
        assert [job.payload for job in jobs] == [{"messageId": message["id"]}]

    async def test_the_conversation_is_open_with_one_message(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        message = (await start(api, uniqueId="conversation-12345-id")).json()

        conversation = (await api.get(f"/v3/conversations/{message['conversationId']}")).json()

        assert conversation["status"] == "Open"
        assert conversation["startedBy"] == "Business"
        assert conversation["messageCount"] == 1
        assert conversation["uniqueId"] == "conversation-12345-id"
        assert conversation["recipient"] == "46700123456"

    async def test_recipient_object_fills_placeholders(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        response = await start(
            api,
            recipient={"+46 70-012 34 56": {"name": "Kalle"}},
            content="Hej {name}! Din order har skickats.",
        )

        assert response.status_code == 201, response.text
        assert response.json()["content"] == "Hej Kalle! Din order har skickats."
        assert response.json()["recipient"] == "46700123456"

    async def test_a_placeholder_without_a_value_is_a_400_naming_it(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        response = await start(api, content="Hej {name}, order {order}")

        problem = assert_problem(response, 400, "validation")
        assert "name" in response.text
        assert "order" in response.text
        assert problem["errors"][0]["field"].startswith("/content")

    async def test_brand_and_agent_by_display_name_in_any_case(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        response = await start(api, brand="MIN BUTIK AB", agent="Kundservice")

        assert response.status_code == 201, response.text
        assert response.json()["brand"] == "min-butik-ab"

    async def test_an_agent_not_launched_is_a_409(
        self, api: httpx.AsyncClient, tenant: object, context: AppContext
    ) -> None:
        await launched_sender(context, tenant.account_id, launch=False)  # type: ignore[attr-defined]

        assert_problem(await start(api), 409, "agent-not-launched")

    async def test_an_unknown_brand_is_a_404(self, api: httpx.AsyncClient, sender: Sender) -> None:
        assert_problem(await start(api, brand="nope"), 404, "not-found")

    @pytest.mark.parametrize(
        ("field", "value", "pointer"),
        [
            ("recipient", "12", "/recipient"),
            ("recipient", {"46700123456": {}, "46700123457": {}}, "/recipient"),
            ("recipient", 46700123456, "/recipient"),
            ("content", "x" * 3073, "/content"),
            ("brand", "", "/brand"),
        ],
    )
    async def test_bad_fields_are_named(
        self, api: httpx.AsyncClient, sender: Sender, field: str, value: object, pointer: str
    ) -> None:
        problem = assert_problem(await start(api, **{field: value}), 400, "validation")

        assert any(error["field"].startswith(pointer) for error in problem["errors"])

    async def test_starting_again_closes_the_previous_conversation(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        first = (await start(api)).json()["conversationId"]
        second = (await start(api)).json()["conversationId"]

        assert (await api.get(f"/v3/conversations/{first}")).json()["status"] == "Closed"
        assert (await api.get(f"/v3/conversations/{second}")).json()["status"] == "Open"


class TestFollowUps:
    async def test_follow_up_and_the_thread(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, clock: FakeClock
    ) -> None:
        conversation_id = (await start(api)).json()["conversationId"]
        clock.advance(5)

        response = await api.post(
            f"/v3/conversations/{conversation_id}/messages",
            json={
                "content": "Vill du se våra erbjudanden?",
                "suggestions": [{"type": "Reply", "text": "Ja", "postbackData": "yes"}],
            },
        )

        assert response.status_code == 201, response.text
        assert response.json()["conversationId"] == conversation_id
        thread = await api.get(f"/v3/conversations/{conversation_id}/messages")
        assert [m["content"] for m in thread.json()] == [
            QUICK_START["content"],
            "Vill du se våra erbjudanden?",
        ]
        assert thread.headers["x-total-count"] == "2"
        conversation = (await api.get(f"/v3/conversations/{conversation_id}")).json()
        assert conversation["messageCount"] == 2
        assert conversation["lastActivity"] > conversation["started"]
        assert len(await jobs_of_kind(context, "send_message")) == 2

    async def test_follow_up_in_a_closed_conversation_is_a_409(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        conversation_id = (await start(api)).json()["conversationId"]
        closed = await api.post(f"/v3/conversations/{conversation_id}/close")
        assert closed.status_code == 200
        assert closed.json()["status"] == "Closed"

        response = await api.post(
            f"/v3/conversations/{conversation_id}/messages", json={"content": "Hallå?"}
        )

        assert_problem(response, 409, "conversation-closed")


class TestEvents:
    @pytest.mark.parametrize("event_type", ["Typing", "Read"])
    async def test_an_event_is_queued_as_a_job(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, event_type: str
    ) -> None:
        conversation_id = (await start(api)).json()["conversationId"]

        response = await api.post(
            f"/v3/conversations/{conversation_id}/events", json={"type": event_type}
        )

        assert response.status_code == 202, response.text
        jobs = await jobs_of_kind(context, "agent_event")
        assert [job.payload for job in jobs] == [
            {"conversationId": conversation_id, "type": event_type, "messageId": None}
        ]

    async def test_unknown_event_type_and_foreign_message_are_400(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        conversation_id = (await start(api)).json()["conversationId"]
        path = f"/v3/conversations/{conversation_id}/events"

        assert_problem(await api.post(path, json={"type": "Dance"}), 400, "validation")
        response = await api.post(path, json={"type": "Read", "messageId": "0" * 24})
        assert assert_problem(response, 400, "validation")["errors"][0]["field"] == "/messageId"


class TestList:
    async def test_filters_are_applied_and_kept_in_links(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        for number in ("46700000101", "46700000102", "46700000103"):
            await start(api, recipient=number, uniqueId=f"u-{number}")
        last = (await start(api, recipient="46700000104")).json()["conversationId"]
        await api.post(f"/v3/conversations/{last}/close")

        by_recipient = await api.get("/v3/conversations", params={"recipient": "+46700000102"})
        assert [c["uniqueId"] for c in by_recipient.json()] == ["u-46700000102"]
        closed = await api.get("/v3/conversations", params={"status": "Closed"})
        assert [c["recipient"] for c in closed.json()] == ["46700000104"]
        by_agent = await api.get(
            "/v3/conversations",
            params={
                "agent": "Kundservice",
                "brand": "Min Butik AB",
                "limit": 2,
                "order": "desc",
            },
        )
        assert by_agent.headers["x-total-count"] == "4"
        assert [c["recipient"] for c in by_agent.json()] == ["46700000104", "46700000103"]
        assert "agent=Kundservice" in by_agent.headers["link"]
        assert 'rel="next"' in by_agent.headers["link"]
        unique = await api.get("/v3/conversations", params={"uniqueId": "u-46700000101"})
        assert len(unique.json()) == 1
        none = await api.get("/v3/conversations", params={"brand": "other"})
        assert none.json() == []


class TestIsolation:
    async def test_another_account_sees_and_changes_nothing(
        self,
        api: httpx.AsyncClient,
        sender: Sender,
        make_tenant: TenantFactory,
        client_for: ClientFactory,
        context: AppContext,
    ) -> None:
        conversation_id = (await start(api)).json()["conversationId"]
        other = await make_tenant(name="Other")
        await launched_sender(context, other.account_id)
        intruder = client_for(token=other.token)
        base = f"/v3/conversations/{conversation_id}"

        assert_problem(await intruder.get(base), 404, "not-found")
        assert_problem(await intruder.get(base + "/messages"), 404, "not-found")
        response = await intruder.post(base + "/messages", json={"content": "x"})
        assert_problem(response, 404, "not-found")
        assert_problem(
            await intruder.post(base + "/events", json={"type": "Typing"}), 404, "not-found"
        )
        assert_problem(await intruder.post(base + "/close"), 404, "not-found")
        assert (await intruder.get("/v3/conversations")).json() == []
        assert (await api.get(base)).json()["status"] == "Open"
        assert (await api.get(base)).json()["messageCount"] == 1
