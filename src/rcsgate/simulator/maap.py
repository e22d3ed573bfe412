"""The GSMA MaaP Chatbot API (FNW.11 `bot/v1`) as the connector expects it, in front of the
virtual phones. Mounted by the simulator server under `/maap`.

Every request carries the bearer token (401 otherwise) and then passes the run-time faults
(`app.state.faults`, a `Faults` to change in place). Phone events become MaaP notifications
POSTed to `app.state.callback_url` (settable once rcsgate's address is known), signed in
`X-Maap-Signature` as the connector verifies them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rcsgate.connectors.maap import SIGNATURE_HEADER, sign
from rcsgate.simulator.callbacks import post_until_acknowledged
from rcsgate.simulator.faults import Faults
from rcsgate.simulator.phones import PhoneEvent, PhoneEventKind, PhoneNetwork, behaviour_of

log = structlog.get_logger(__name__)
CAPABILITIES = ["chat", "fileTransfer", "chatBotCommunication", "geolocationPush"]
_STATUS_OF = {PhoneEventKind.DELIVERED: "delivered", PhoneEventKind.READ: "displayed"}

Endpoint = Callable[[Request], Awaitable[Response]]
Answer = tuple[int, dict[str, Any]]  # status code and JSON body


@dataclass
class MaapSimulator:
    """The operator's state. `accepted` lists every message it took, in order (a repeated
    `msgId` is answered again but not accepted twice); `agent_events` the bot's typing
    indicators and read receipts."""

    network: PhoneNetwork
    token: str
    callback_secret: str
    http: httpx.AsyncClient
    faults: Faults = field(default_factory=Faults)
    state: State = field(default_factory=State)  # the app's state, shared with its owner
    accepted: list[dict[str, Any]] = field(default_factory=list)
    agent_events: list[dict[str, Any]] = field(default_factory=list)
    notifications_failed: int = 0
    _answers: dict[str, Answer] = field(default_factory=dict)

    def app(self) -> Starlette:
        messages = "/bot/v1/{bot}/messages"
        routes = [
            Route(messages, self._guard(self.create), methods=["POST"]),
            Route(messages + "/{mid}/status", self._guard(self.set_status), methods=["PUT"]),
            Route("/bot/v1/{bot}/contactCapabilities", self._guard(self.capabilities)),
            Route("/bot/v1/{bot}/files", self._guard(self.upload), methods=["POST"]),
        ]
        app = Starlette(routes=routes)
        app.state = self.state
        self.state.simulator = self
        self.state.faults = self.faults
        return app

    @property
    def callback_url(self) -> str | None:
        return getattr(self.state, "callback_url", None)

    @callback_url.setter
    def callback_url(self, url: str | None) -> None:
        self.state.callback_url = url

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "unauthorized", "a valid bearer token is required")
            return await self.faults.intercept(request) or await endpoint(request)

        return guarded

    async def create(self, request: Request) -> Response:
        body = await request.json()
        message = body.get("RCSMessage", {})
        msisdn = _digits(body.get("messageContact", {}).get("userContact", ""))
        bot = request.path_params["bot"]
        if "isTyping" in message:
            self.agent_events.append({"bot": bot, "msisdn": msisdn, **message})
            return JSONResponse({}, status_code=202)
        mid = message.get("msgId") or uuid.uuid4().hex
        if mid not in self._answers:
            self._answers[mid] = self._accept(bot, msisdn, mid, body)
        code, answer = self._answers[mid]
        return JSONResponse(answer, code)

    def _accept(self, bot: str, msisdn: str, mid: str, body: dict[str, Any]) -> Answer:
        phone = behaviour_of(msisdn)
        if not phone.rcs:
            return _problem(404, "not_found", "the contact is not RCS-enabled")
        if phone.rejects:
            return _problem(403, "forbidden", "the operator refused the message")
        self.accepted.append({"bot": bot, "msisdn": msisdn, **body})
        postbacks = message_postbacks(body.get("RCSMessage", {}))
        self.network.deliver(msisdn, mid, self._notifier(bot), rcs=True, postbacks=postbacks)
        return 202, {"RCSMessage": {"msgId": mid, "status": "pending"}}

    async def set_status(self, request: Request) -> Response:
        bot, mid = request.path_params["bot"], request.path_params["mid"]
        status = (await request.json()).get("RCSMessage", {}).get("status")
        if status == "displayed":  # the bot's read receipt for a user's message
            self.agent_events.append({"bot": bot, "msgId": mid, "status": status})
            return JSONResponse({"RCSMessage": {"msgId": mid, "status": status}})
        if status != "cancelled":
            return _error(400, "bad_request", "status is displayed or cancelled")
        return self._cancel(mid)

    def _cancel(self, mid: str) -> Response:
        if self._answers.get(mid, (404, {}))[0] != 202:
            return _error(404, "not_found", f"no message {mid}")
        if not self.network.revoke(mid):
            return _error(409, "conflict", "the message was already delivered")
        return JSONResponse({"RCSMessage": {"msgId": mid, "status": "cancelled"}})

    async def upload(self, request: Request) -> Response:
        """The file is taken by URL; its id can stand for it in later messages."""
        url = (await request.json()).get("fileUrl")
        if not url:
            return _error(400, "invalid", "fileUrl is required")
        return JSONResponse({"fileId": f"file-{uuid.uuid4().hex[:16]}", "fileUrl": url}, 201)

    async def capabilities(self, request: Request) -> Response:
        if not behaviour_of(_digits(request.query_params.get("userContact", ""))).rcs:
            return _error(404, "not_found", "the contact is not RCS-enabled")
        return JSONResponse({"capabilities": CAPABILITIES})

    def _notifier(self, bot: str) -> Callable[[PhoneEvent], Awaitable[None]]:
        async def notify(event: PhoneEvent) -> None:
            await self.notify(notification_of(event, bot))

        return notify

    async def notify(self, notification: dict[str, Any]) -> None:
        """POST one signed notification, retried until acknowledged (then counted as lost)."""
        url = self.callback_url
        if not url:
            return
        body = json.dumps(notification).encode()
        headers = {SIGNATURE_HEADER: sign(self.callback_secret, body)}
        headers["Content-Type"] = "application/json"
        if not await post_until_acknowledged(self.http, url, body, headers):
            self.notifications_failed += 1

    async def user_says(self, msisdn: str, bot: str, text: str) -> None:
        """A user writes to a bot first (tests and the demo)."""
        await self.notify(notification_of(PhoneEvent(PhoneEventKind.TEXT, msisdn, text=text), bot))


def build_maap_app(
    network: PhoneNetwork,
    *,
    token: str,
    callback_url: str | None,
    callback_secret: str,
    http: httpx.AsyncClient,
) -> Starlette:
    """The app; `app.state.simulator` is its `MaapSimulator` (records for tests),
    `app.state.faults` its faults and `app.state.callback_url` where notifications go."""
    simulator = MaapSimulator(network, token, callback_secret, http)
    simulator.callback_url = callback_url
    return simulator.app()


def notification_of(event: PhoneEvent, bot: str) -> dict[str, Any]:
    """A phone event as the MaaP notification that reports it."""
    if event.kind in _STATUS_OF:
        return _notification("messageStatus", event.msisdn, bot, event.ref, _STATUS_OF[event.kind])
    note = _notification("message", event.msisdn, bot, uuid.uuid4().hex)
    if event.kind is PhoneEventKind.TYPING:
        note["event"] = "isTyping"
        note["RCSMessage"] = {"isTyping": "active", "timestamp": _now()}
    elif event.kind is PhoneEventKind.SUGGESTION:
        note["event"] = "response"
        reply = {"displayText": event.text, "postback": {"data": event.postback_data}}
        note["RCSMessage"]["suggestedResponse"] = {"response": {"reply": reply}}
    else:
        note["RCSMessage"]["textMessage"] = event.text
    return note


def _notification(
    event: str, msisdn: str, bot: str, mid: str | None, status: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"msgId": mid, "timestamp": _now()}
    if status:
        message["status"] = status
    return {
        "event": event,
        "botId": bot,
        "messageContact": {"userContact": f"+{msisdn}"},
        "RCSMessage": message,
    }


def message_postbacks(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(displayText, postback data) of every chip and card button, chips first: what an
    answering phone can tap."""
    chips = list(message.get("suggestedChipList", {}).get("suggestions", []))
    rich = message.get("richcardMessage", {}).get("message", {})
    card = rich.get("generalPurposeCard", {}).get("content")
    cards = [card] if card else rich.get("generalPurposeCardCarousel", {}).get("content", [])
    for content in cards:
        chips.extend(content.get("suggestions", []))
    found = []
    for chip in chips:
        inner = chip.get("reply") or chip.get("action") or {}
        found.append((inner.get("displayText", ""), inner.get("postback", {}).get("data", "")))
    return found


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _digits(contact: str) -> str:
    return contact.removeprefix("tel:").removeprefix("+")


def _problem(code: int, status: str, message: str) -> Answer:
    return code, {"error": {"code": code, "status": status, "message": message}}


def _error(code: int, status: str, message: str) -> Response:
    status_code, body = _problem(code, status, message)
    return JSONResponse(body, status_code)
