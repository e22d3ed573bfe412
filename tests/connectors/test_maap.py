"""The MaaP connector against the MaaP simulator over real loopback HTTP, with a stand-in for
rcsgate's callback endpoint that parses every notification with the connector."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from rcsgate.connectors.base import (
    ConnectorError,
    ErrorClass,
    InboundEvent,
    InboundKind,
    ReceiptStatus,
    SignatureError,
)
from rcsgate.connectors.maap import SIGNATURE_HEADER, MaapConnector, sign
from rcsgate.content.maap import render_maap
from rcsgate.kit.serving import LocalServer
from rcsgate.simulator.faults import Faults
from rcsgate.simulator.maap import MaapSimulator, build_maap_app
from rcsgate.simulator.phones import PhoneNetwork

TOKEN = "maap-token"
SECRET = "callback-secret"
BOT = "bot@rcsgate.example"
HAPPY, NO_RCS, OFFLINE, REJECTS, ANSWERS = (f"4670000000{n}" for n in range(1, 6))
TEXT = {"textMessage": "Hej!"}


@dataclass
class Receiver:
    """rcsgate's callback endpoint: every request goes through `parse_callback`."""

    events: asyncio.Queue[InboundEvent] = field(default_factory=asyncio.Queue)
    connector: MaapConnector | None = None

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/callbacks/maap", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        assert self.connector is not None
        try:
            events = self.connector.parse_callback(request.headers, await request.body())
        except SignatureError:
            return Response(status_code=401)
        for event in events:
            self.events.put_nowait(event)
        return Response(status_code=204)


@dataclass
class Maap:
    connector: MaapConnector
    simulator: MaapSimulator
    faults: Faults
    network: PhoneNetwork
    receiver: Receiver
    base_url: str

    async def next_event(
        self, kind: InboundKind, status: ReceiptStatus | None = None
    ) -> InboundEvent:
        """The next event of this kind (and status), skipping others; fails after 5 s."""
        async with asyncio.timeout(5):
            while True:
                event = await self.receiver.events.get()
                if event.kind is kind and (status is None or event.status is status):
                    return event

    def connector_with(self, **options: Any) -> MaapConnector:
        return MaapConnector("maap", self.base_url, options.pop("token", TOKEN), SECRET, **options)


@dataclass
class Swappable:
    """An ASGI app whose inner app each test replaces, so the servers start once per module."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@dataclass
class Servers:
    operator: Swappable
    operator_url: str
    receiver: Receiver
    callback_url: str


@pytest.fixture(scope="module")
async def servers() -> AsyncIterator[Servers]:
    receiver, operator = Receiver(), Swappable()
    inbound = await LocalServer(receiver.app()).start()
    outbound = await LocalServer(operator).start()
    yield Servers(operator, outbound.url, receiver, f"{inbound.url}/callbacks/maap")
    await asyncio.gather(outbound.aclose(), inbound.aclose())


@pytest.fixture
async def maap(servers: Servers) -> AsyncIterator[Maap]:
    network = PhoneNetwork(delay_scale=0.0)
    http = httpx.AsyncClient()
    app = build_maap_app(
        network, token=TOKEN, callback_url=servers.callback_url, callback_secret=SECRET, http=http
    )
    # Mounted as the simulator server mounts it, so base_url ends in /maap.
    servers.operator.app = Starlette(routes=[Mount("/maap", app)])
    base_url = f"{servers.operator_url}/maap"
    connector = MaapConnector("maap", base_url, TOKEN, SECRET, timeout=2.0)
    receiver = servers.receiver
    receiver.events, receiver.connector = asyncio.Queue(), connector
    yield Maap(connector, app.state.simulator, app.state.faults, network, receiver, base_url)
    await network.aclose()
    await connector.aclose()
    await http.aclose()


async def rejected_with(coroutine: Any) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        await coroutine
    return caught.value


class TestSend:
    async def test_delivered_then_read(self, maap: Maap) -> None:
        submitted = await maap.connector.send(BOT, HAPPY, "m-1", TEXT, ttl_seconds=60)

        assert submitted.refs == ("m-1",)
        delivered = await maap.next_event(InboundKind.STATUS)
        read = await maap.next_event(InboundKind.STATUS)
        assert (delivered.status, delivered.ref, delivered.msisdn) == (
            ReceiptStatus.DELIVERED,
            "m-1",
            HAPPY,
        )
        assert (read.status, read.ref, read.agent) == (ReceiptStatus.READ, "m-1", BOT)

    async def test_the_request_names_message_contact_and_expiry(self, maap: Maap) -> None:
        await maap.connector.send(BOT, HAPPY, "m-1", TEXT, ttl_seconds=60, traffic_type="x")

        [accepted] = maap.simulator.accepted
        assert accepted["bot"] == BOT
        assert accepted["messageContact"] == {"userContact": f"+{HAPPY}"}
        message = accepted["RCSMessage"]
        assert (message["msgId"], message["textMessage"], message["trafficType"]) == (
            "m-1",
            "Hej!",
            "x",
        )
        assert message["expiry"].endswith("Z")

    async def test_the_answering_phone_taps_the_reply(self, maap: Maap) -> None:
        content = {
            "content": "Vill du?",
            "suggestions": [{"type": 0, "text": "Ja", "postbackData": "yes"}],
        }
        await maap.connector.send(BOT, ANSWERS, "m-5", render_maap(content, None))

        tap = await maap.next_event(InboundKind.SUGGESTION)
        assert (tap.postback_data, tap.text, tap.msisdn) == ("yes", "Ja", ANSWERS)
        assert tap.event_id

    async def test_a_number_without_rcs_is_unreachable(self, maap: Maap) -> None:
        error = await rejected_with(maap.connector.send(BOT, NO_RCS, "m-2", TEXT))
        assert (error.error_class, error.status) == (ErrorClass.UNREACHABLE, 404)

    async def test_a_refused_message_is_rejected(self, maap: Maap) -> None:
        error = await rejected_with(maap.connector.send(BOT, REJECTS, "m-4", TEXT))
        assert (error.error_class, error.status) == (ErrorClass.REJECTED, 403)

    async def test_a_repeated_message_id_is_one_delivery(self, maap: Maap) -> None:
        first = await maap.connector.send(BOT, HAPPY, "m-1", TEXT)
        again = await maap.connector.send(BOT, HAPPY, "m-1", TEXT)

        assert first == again
        assert len(maap.simulator.accepted) == 1

    async def test_the_user_writes_first(self, maap: Maap) -> None:
        await maap.simulator.user_says(HAPPY, BOT, "Hej själv")

        text = await maap.next_event(InboundKind.TEXT)
        assert (text.text, text.msisdn, text.agent) == ("Hej själv", HAPPY, BOT)
        assert text.event_id


class TestRevoke:
    async def test_an_undelivered_message_is_revoked(self, maap: Maap) -> None:
        await maap.connector.send(BOT, OFFLINE, "m-3", TEXT)

        assert await maap.connector.revoke(BOT, OFFLINE, "m-3") is True
        assert not maap.network.is_delivered("m-3")

    async def test_a_delivered_message_is_not(self, maap: Maap) -> None:
        await maap.connector.send(BOT, HAPPY, "m-1", TEXT)
        await maap.next_event(InboundKind.STATUS, ReceiptStatus.DELIVERED)

        assert await maap.connector.revoke(BOT, HAPPY, "m-1") is False

    async def test_an_unknown_message_is_not(self, maap: Maap) -> None:
        assert await maap.connector.revoke(BOT, HAPPY, "never-sent") is False


class TestCapability:
    async def test_rcs_with_its_features(self, maap: Maap) -> None:
        capability = await maap.connector.capability(BOT, HAPPY)
        assert capability.rcs
        assert "chatBotCommunication" in capability.features

    async def test_no_rcs(self, maap: Maap) -> None:
        assert (await maap.connector.capability(BOT, NO_RCS)).rcs is False

    async def test_many_in_order(self, maap: Maap) -> None:
        found = await maap.connector.capabilities(BOT, [HAPPY, NO_RCS, OFFLINE])
        assert [(c.msisdn, c.rcs) for c in found] == [
            (HAPPY, True),
            (NO_RCS, False),
            (OFFLINE, True),
        ]


class TestFiles:
    async def test_a_file_is_registered_by_url(self, maap: Maap) -> None:
        file_id = await maap.connector.upload_file(BOT, "https://cdn.example/a.pdf")
        assert file_id.startswith("file-")


class TestAgentEvents:
    async def test_read_marks_the_users_message_displayed(self, maap: Maap) -> None:
        await maap.connector.agent_event(BOT, HAPPY, "READ", "user-msg-1")
        assert maap.simulator.agent_events == [
            {"bot": BOT, "msgId": "user-msg-1", "status": "displayed"}
        ]

    async def test_typing_is_sent_as_an_is_typing_message(self, maap: Maap) -> None:
        await maap.connector.agent_event(BOT, HAPPY, "IS_TYPING")
        assert maap.simulator.agent_events == [{"bot": BOT, "msisdn": HAPPY, "isTyping": "active"}]
        assert maap.simulator.accepted == []


class TestOperatorFailures:
    async def test_5xx_is_transient_and_a_retry_goes_through(self, maap: Maap) -> None:
        maap.faults.errors = 1
        error = await rejected_with(maap.connector.send(BOT, HAPPY, "m-1", TEXT))
        assert (error.error_class, error.status) == (ErrorClass.TRANSIENT, 500)

        assert (await maap.connector.send(BOT, HAPPY, "m-1", TEXT)).refs == ("m-1",)

    async def test_429_is_throttled_with_retry_after(self, maap: Maap) -> None:
        maap.faults.throttled, maap.faults.retry_after = 1, 7
        error = await rejected_with(maap.connector.send(BOT, HAPPY, "m-1", TEXT))
        assert (error.error_class, error.retry_after) == (ErrorClass.THROTTLED, 7.0)

    async def test_no_answer_in_time_is_a_timeout(self, maap: Maap) -> None:
        maap.faults.hold = 0.5
        impatient = maap.connector_with(timeout=0.1)
        try:
            error = await rejected_with(impatient.send(BOT, HAPPY, "m-1", TEXT))
        finally:
            await impatient.aclose()
        assert error.error_class is ErrorClass.TIMEOUT

    async def test_a_wrong_token_is_transient(self, maap: Maap) -> None:
        wrong = maap.connector_with(token="wrong")
        try:
            error = await rejected_with(wrong.capability(BOT, HAPPY))
        finally:
            await wrong.aclose()
        assert (error.error_class, error.status) == (ErrorClass.TRANSIENT, 401)

    async def test_a_refused_connection_is_transient(self) -> None:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        closed = MaapConnector("maap", f"http://127.0.0.1:{port}", TOKEN, SECRET, timeout=1.0)
        try:
            error = await rejected_with(closed.send(BOT, HAPPY, "m-1", TEXT))
        finally:
            await closed.aclose()
        assert error.error_class is ErrorClass.TRANSIENT


def signed(notification: dict[str, Any], secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(notification).encode()
    return {SIGNATURE_HEADER.lower(): sign(secret, body)}, body


def parsed(parser: MaapConnector, notification: dict[str, Any]) -> list[InboundEvent]:
    return parser.parse_callback(*signed(notification))


@pytest.fixture
async def parser() -> AsyncIterator[MaapConnector]:
    """A connector that is only asked to parse: it never reaches its (closed) port."""
    connector = MaapConnector("maap", "http://127.0.0.1:9", TOKEN, SECRET)
    yield connector
    await connector.aclose()


def user_message(**rcs: Any) -> dict[str, Any]:
    return {
        "event": "message",
        "messageContact": {"userContact": f"+{HAPPY}"},
        "RCSMessage": {"msgId": "u-1", "timestamp": "2026-03-09T08:00:00Z", **rcs},
    }


class TestParseCallback:
    def test_a_wrong_signature_is_refused(self, parser: MaapConnector) -> None:
        headers, body = signed(user_message(textMessage="Hej"), secret="someone else")
        with pytest.raises(SignatureError):
            parser.parse_callback(headers, body)

    def test_a_missing_signature_is_refused(self, parser: MaapConnector) -> None:
        with pytest.raises(SignatureError):
            parser.parse_callback({}, json.dumps(user_message(textMessage="Hej")).encode())

    def test_a_non_ascii_signature_is_refused(self, parser: MaapConnector) -> None:
        _headers, body = signed(user_message(textMessage="Hej"))
        with pytest.raises(SignatureError):
            parser.parse_callback({SIGNATURE_HEADER: "\u00e9" * 64}, body)

    async def test_without_a_secret_no_signature_verifies(self) -> None:
        """Not even one made with the same empty key: it is one anyone can make."""
        connector = MaapConnector("maap", "http://127.0.0.1:9", TOKEN, "")
        try:
            with pytest.raises(SignatureError):
                connector.parse_callback(*signed(user_message(textMessage="Hej"), secret=""))
        finally:
            await connector.aclose()

    def test_a_changed_body_is_refused(self, parser: MaapConnector) -> None:
        headers, body = signed(user_message(textMessage="Hej"))
        with pytest.raises(SignatureError):
            parser.parse_callback(headers, body.replace(b"Hej", b"Hoj"))

    def test_text_with_its_time_and_id(self, parser: MaapConnector) -> None:
        [event] = parsed(parser, user_message(textMessage="Hej"))
        assert (event.kind, event.text, event.event_id, event.msisdn) == (
            InboundKind.TEXT,
            "Hej",
            "u-1",
            HAPPY,
        )
        assert event.at.isoformat() == "2026-03-09T08:00:00+00:00"

    @pytest.mark.parametrize(
        ("status", "receipt"),
        [("failed", ReceiptStatus.FAILED), ("cancelled", ReceiptStatus.REVOKED)],
    )
    def test_failed_and_cancelled_statuses(
        self, parser: MaapConnector, status: str, receipt: ReceiptStatus
    ) -> None:
        note = {**user_message(status=status), "event": "messageStatus"}
        [event] = parsed(parser, note)
        assert (event.kind, event.status, event.ref) == (InboundKind.STATUS, receipt, "u-1")

    def test_pending_and_idle_typing_say_nothing(self, parser: MaapConnector) -> None:
        assert parsed(parser, {**user_message(status="sent"), "event": "messageStatus"}) == []
        assert parsed(parser, {**user_message(isTyping="idle"), "event": "isTyping"}) == []

    def test_a_file(self, parser: MaapConnector) -> None:
        file = {"fileUrl": "https://files.example/a.jpg", "fileMIMEType": "image/jpeg"}
        [event] = parsed(parser, user_message(fileMessage=file))
        assert (event.kind, event.file_url, event.file_mime) == (
            InboundKind.FILE,
            "https://files.example/a.jpg",
            "image/jpeg",
        )

    @pytest.mark.parametrize(
        "rcs",
        [
            {"userLocation": {"latitude": 59.33, "longitude": 18.06}},
            {"geolocationPushMessage": {"pos": "59.33 18.06", "label": "Här"}},
        ],
    )
    def test_a_location(self, parser: MaapConnector, rcs: dict[str, Any]) -> None:
        [event] = parsed(parser, user_message(**rcs))
        assert (event.kind, event.latitude, event.longitude) == (InboundKind.LOCATION, 59.33, 18.06)

    def test_a_tapped_action_in_a_message(self, parser: MaapConnector) -> None:
        tapped = {"response": {"action": {"displayText": "Karta", "postback": {"data": "map"}}}}
        [event] = parsed(parser, user_message(suggestedResponse=tapped))
        assert (event.kind, event.text, event.postback_data) == (
            InboundKind.SUGGESTION,
            "Karta",
            "map",
        )

    def test_malformed_or_unknown_notifications_give_nothing(self, parser: MaapConnector) -> None:
        assert parsed(parser, user_message(userLocation={"latitude": "north"})) == []
        assert parsed(parser, {**user_message(textMessage="x"), "event": "newUser"}) == []
