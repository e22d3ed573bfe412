"""The real RBM connector against the simulator's RBM API over HTTP, with pushes received by a
local HTTP endpoint that hands them to the connector's own parser."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from rcsgate.connectors.base import (
    ConnectorError,
    ErrorClass,
    InboundEvent,
    InboundKind,
    ReceiptStatus,
    SignatureError,
)
from rcsgate.connectors.rbm import RbmConnector, TokenSource, push_body, sign
from rcsgate.kit.serving import LocalServer
from rcsgate.simulator.phones import PhoneNetwork
from rcsgate.simulator.rbm import RbmSimulator, service_account

AGENT = "agent-1"
CLOSED = "http://127.0.0.1:9"
TEXT = {"text": "Hej!", "suggestions": [{"reply": {"text": "Ja", "postbackData": "yes"}}]}


@dataclass
class Rig:
    connector: RbmConnector
    simulator: RbmSimulator
    events: asyncio.Queue[InboundEvent]
    token_uri: str

    async def next_event(self) -> InboundEvent:
        return await asyncio.wait_for(self.events.get(), timeout=5)


@functools.cache
def simulator_key() -> tuple[dict[str, str], bytes]:
    return service_account("")  # RSA key generation is slow: one key for the module


@pytest.fixture
async def parser() -> AsyncIterator[RbmConnector]:
    """A connector that is only asked to parse: it never reaches its (closed) port."""
    connector = RbmConnector(
        "rbm", TokenSource(simulator_key()[0]), "client-token", base_url=CLOSED
    )
    yield connector
    await connector.aclose()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    events: asyncio.Queue[InboundEvent] = asyncio.Queue()
    holder: dict[str, RbmConnector] = {}

    async def callback(request: Request) -> Response:
        try:
            parsed = holder["c"].parse_callback(request.headers, await request.body())
        except SignatureError:
            return JSONResponse({}, status_code=401)
        for event in parsed:
            events.put_nowait(event)
        return JSONResponse({})

    receiver = await LocalServer(
        Starlette(routes=[Route("/cb", callback, methods=["POST"])])
    ).start()
    network = PhoneNetwork(delay_scale=0.0)
    http = httpx.AsyncClient()
    info, public_key = simulator_key()
    simulator = RbmSimulator(network, public_key, "client-token", http, f"{receiver.url}/cb")
    server = await LocalServer(Starlette(routes=[Mount("/rbm", simulator.app())])).start()
    tokens = TokenSource(info, token_uri=f"{server.url}/rbm/token")
    connector = RbmConnector(
        "rbm", tokens, "client-token", base_url=f"{server.url}/rbm", timeout=2.0
    )
    holder["c"] = connector
    yield Rig(connector, simulator, events, f"{server.url}/rbm/token")
    await connector.aclose()
    await network.aclose()
    await server.aclose()
    await receiver.aclose()
    await http.aclose()


class TestSend:
    async def test_a_message_is_delivered_then_read(self, rig: Rig) -> None:
        submitted = await rig.connector.send(
            AGENT, "46700000001", "m1", TEXT, ttl_seconds=60, traffic_type="TRANSACTION"
        )
        assert submitted.refs == ("m1",)
        stored = rig.simulator.messages["m1"]
        assert (stored["ttl"], stored["messageTrafficType"]) == ("60s", "TRANSACTION")
        assert stored["contentMessage"] == TEXT
        delivered, read = await rig.next_event(), await rig.next_event()
        assert (delivered.kind, delivered.status, delivered.ref) == (
            InboundKind.STATUS,
            ReceiptStatus.DELIVERED,
            "m1",
        )
        assert (read.status, read.msisdn, read.agent) == (ReceiptStatus.READ, "46700000001", AGENT)

    async def test_the_answering_phone_taps_the_first_suggestion(self, rig: Rig) -> None:
        await rig.connector.send(AGENT, "46700000005", "m5", TEXT)
        kinds = [(await rig.next_event()) for _ in range(4)]
        assert [e.kind for e in kinds] == [
            InboundKind.STATUS,
            InboundKind.STATUS,
            InboundKind.TYPING,
            InboundKind.SUGGESTION,
        ]
        assert (kinds[-1].postback_data, kinds[-1].text) == ("yes", "Ja")

    async def test_a_second_send_with_the_same_id_is_not_a_second_message(self, rig: Rig) -> None:
        await rig.connector.send(AGENT, "46700000003", "m3", TEXT)
        again = await rig.connector.send(AGENT, "46700000003", "m3", TEXT)
        assert again.refs == ("m3",)
        assert list(rig.simulator.messages) == ["m3"]

    async def test_a_user_without_rcs_is_unreachable(self, rig: Rig) -> None:
        with pytest.raises(ConnectorError) as caught:
            await rig.connector.send(AGENT, "46700000002", "m2", TEXT)
        assert caught.value.error_class is ErrorClass.UNREACHABLE

    async def test_the_rejecting_operator_rejects(self, rig: Rig) -> None:
        with pytest.raises(ConnectorError) as caught:
            await rig.connector.send(AGENT, "46700000004", "m4", TEXT)
        assert caught.value.error_class is ErrorClass.REJECTED


class TestFailures:
    async def test_server_errors_are_transient(self, rig: Rig) -> None:
        rig.simulator.faults.errors = 1
        with pytest.raises(ConnectorError) as caught:
            await rig.connector.send(AGENT, "46700000001", "m1", TEXT)
        assert (caught.value.error_class, caught.value.status) == (ErrorClass.TRANSIENT, 500)
        assert (await rig.connector.send(AGENT, "46700000001", "m1", TEXT)).refs == ("m1",)

    async def test_throttling_carries_retry_after(self, rig: Rig) -> None:
        rig.simulator.faults.throttled, rig.simulator.faults.retry_after = 1, 7
        with pytest.raises(ConnectorError) as caught:
            await rig.connector.send(AGENT, "46700000001", "m1", TEXT)
        assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.THROTTLED, 7)

    async def test_a_held_answer_times_out(self, rig: Rig) -> None:
        rig.simulator.faults.hold = 2.5
        with pytest.raises(ConnectorError) as caught:
            await rig.connector.send(AGENT, "46700000001", "m1", TEXT)
        assert caught.value.error_class is ErrorClass.TIMEOUT

    def test_a_push_with_a_wrong_signature_is_refused(self, rig: Rig) -> None:
        body = push_body({"senderPhoneNumber": "+46700000001", "text": "hi"}, "x")
        with pytest.raises(SignatureError):
            rig.connector.parse_callback({"X-Goog-Signature": "AAAA"}, body)


class TestParseCallback:
    def test_a_non_ascii_signature_is_refused_not_an_error(self, parser: RbmConnector) -> None:
        body = push_body({"senderPhoneNumber": "+46700000001", "text": "hi"}, "x")
        with pytest.raises(SignatureError):
            parser.parse_callback({"X-Goog-Signature": "\u00e9" * 88}, body)

    async def test_without_a_client_token_no_signature_verifies(self) -> None:
        """Not even one made with the same empty key: it is one anyone can make."""
        connector = RbmConnector("rbm", TokenSource(simulator_key()[0]), "", base_url=CLOSED)
        data = {"senderPhoneNumber": "+46700000001", "text": "hi"}
        body = push_body(data, "x")
        forged = sign("", json.dumps(data).encode())
        try:
            with pytest.raises(SignatureError):
                connector.parse_callback({"X-Goog-Signature": forged}, body)
        finally:
            await connector.aclose()


class TestRevokeAndCapabilities:
    async def test_an_undelivered_message_is_revoked(self, rig: Rig) -> None:
        await rig.connector.send(AGENT, "46700000003", "m3", TEXT)
        assert await rig.connector.revoke(AGENT, "46700000003", "m3") is True

    async def test_a_delivered_message_cannot_be_revoked(self, rig: Rig) -> None:
        await rig.connector.send(AGENT, "46700000001", "m1", TEXT)
        await rig.next_event()  # delivered
        assert await rig.connector.revoke(AGENT, "46700000001", "m1") is False

    async def test_capabilities(self, rig: Rig) -> None:
        found = await rig.connector.capabilities(AGENT, ["46700000001", "46700000002"])
        assert [(c.msisdn, c.rcs) for c in found] == [("46700000001", True), ("46700000002", False)]
        one = await rig.connector.capability(AGENT, "46700000001")
        assert "RICHCARD_CAROUSEL" in one.features

    async def test_a_user_location_and_file_are_parsed(self, rig: Rig) -> None:
        await rig.simulator.push(
            {
                "senderPhoneNumber": "+46700000001",
                "agentId": AGENT,
                "messageId": "u1",
                "location": {"latitude": 59.33, "longitude": 18.06},
            }
        )
        await rig.simulator.push(
            {
                "senderPhoneNumber": "+46700000001",
                "agentId": AGENT,
                "messageId": "u2",
                "userFile": {"payload": {"mimeType": "image/jpeg", "fileUri": "https://f/1.jpg"}},
            }
        )
        where, file = await rig.next_event(), await rig.next_event()
        assert (where.kind, where.latitude, where.longitude, where.event_id) == (
            InboundKind.LOCATION,
            59.33,
            18.06,
            "u1",
        )
        assert (file.kind, file.file_url, file.file_mime) == (
            InboundKind.FILE,
            "https://f/1.jpg",
            "image/jpeg",
        )

    async def test_agent_events_reach_the_operator(self, rig: Rig) -> None:
        await rig.connector.agent_event(AGENT, "46700000001", "IS_TYPING")
        await rig.connector.agent_event(AGENT, "46700000001", "READ", "user-msg-1")
        assert [e["eventType"] for e in rig.simulator.agent_events] == ["IS_TYPING", "READ"]
        assert rig.simulator.agent_events[1]["messageId"] == "user-msg-1"

    async def test_files_are_uploaded(self, rig: Rig) -> None:
        name = await rig.connector.upload_file(AGENT, "https://cdn.example/a.jpg")
        assert name.startswith("files/")

    async def test_a_refused_token_is_replaced(self, rig: Rig) -> None:
        await rig.connector.send(AGENT, "46700000001", "m1", TEXT)
        rig.simulator.tokens.clear()  # as if Google had revoked every token
        await rig.connector.send(AGENT, "46700000001", "m2", TEXT)
        assert len(rig.simulator.tokens) == 1
        assert list(rig.simulator.messages) == ["m1", "m2"]

    async def test_a_key_the_token_uri_does_not_know_gets_no_token(self, rig: Rig) -> None:
        other_key, _ = service_account("")  # signed with a key the simulator never issued
        stranger = TokenSource(other_key, token_uri=rig.token_uri)
        with pytest.raises(ConnectorError) as caught:
            await stranger.token()
        assert caught.value.error_class is ErrorClass.TRANSIENT
        stranger.close()
