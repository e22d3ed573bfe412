"""Google RBM REST v1 as the connector expects it, in front of the virtual phones.

Tokens: `/token` takes a service-account JWT assertion signed with the key the simulator made
(verified with google-auth) and issues bearer tokens that every other endpoint checks. Phone
events are pushed to the callback URL the way RBM pushes them: base64 `message.data`, signed in
X-Goog-Signature with the client token.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rcsgate.connectors.rbm import push_body, sign
from rcsgate.simulator.callbacks import post_until_acknowledged
from rcsgate.simulator.faults import Faults
from rcsgate.simulator.phones import PhoneEvent, PhoneEventKind, PhoneNetwork, behaviour_of

log = structlog.get_logger(__name__)
FEATURES = [
    "RICHCARD_STANDALONE",
    "RICHCARD_CAROUSEL",
    "ACTION_CREATE_CALENDAR_EVENT",
    "ACTION_DIAL",
    "ACTION_OPEN_URL",
    "ACTION_SHARE_LOCATION",
    "ACTION_VIEW_LOCATION",
]


def service_account(token_uri: str) -> tuple[dict[str, str], bytes]:
    """A fresh service-account key file (as Google issues them) and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "rcsgate-simulator",
        "private_key_id": secrets.token_hex(8),
        "private_key": private,
        "client_email": "rcsgate@rcsgate-simulator.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    return info, public


@dataclass
class RbmSimulator:
    network: PhoneNetwork
    public_key: bytes
    client_token: str
    http: httpx.AsyncClient
    callback_url: str | None = None
    faults: Faults = field(default_factory=Faults)
    tokens: set[str] = field(default_factory=set)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    agent_events: list[dict[str, Any]] = field(default_factory=list)
    submits: Counter[str] = field(default_factory=Counter)
    launched: list[str] = field(default_factory=list)
    # Push DELIVERED before answering the submit: the receipt-before-response race, on demand.
    receipts_first: bool = False  # per messageId, duplicates too
    pushes_failed: int = 0

    def app(self) -> Starlette:
        routes = [
            Route("/token", self.token, methods=["POST"]),
            Route("/v1/phones/{phone}/agentMessages", self._guard(self.create), methods=["POST"]),
            Route(
                "/v1/phones/{phone}/agentMessages/{mid}",
                self._guard(self.revoke),
                methods=["DELETE"],
            ),
            Route("/v1/phones/{phone}/capabilities", self._guard(self.capability), methods=["GET"]),
            Route("/v1/users:batchGet", self._guard(self.batch_get), methods=["POST"]),
            Route(
                "/v1/phones/{phone}/agentEvents", self._guard(self.agent_event), methods=["POST"]
            ),
            Route("/upload/v1/files", self._guard(self.upload), methods=["POST"]),
            Route(
                "/v1/brands/{brand}/agents/{agent}:requestLaunch",
                self._guard(self.launch),
                methods=["POST"],
            ),
        ]
        return Starlette(routes=routes)

    async def token(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        try:
            jwt.decode(form.get("assertion", [""])[0], certs=self.public_key, verify=True)  # type: ignore[no-untyped-call]
        except ValueError as error:
            return JSONResponse({"error": "invalid_grant", "error_description": str(error)}, 400)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _guard(
        self, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return JSONResponse({"error": {"code": 401, "status": "UNAUTHENTICATED"}}, 401)
            return await self.faults.intercept(request) or await endpoint(request)

        return guarded

    async def create(self, request: Request) -> Response:
        msisdn = _digits(request.path_params["phone"])
        mid = request.query_params.get("messageId", "")
        self.submits[mid] += 1
        if mid in self.messages:
            return _error(409, "ALREADY_EXISTS", f"message {mid} exists")
        phone = behaviour_of(msisdn)
        if not phone.rcs:
            return _error(404, "NOT_FOUND", "the user is not RCS enabled")
        if phone.rejects:
            return _error(403, "PERMISSION_DENIED", "the carrier rejected the message")
        body = await request.json()
        self.messages[mid] = {
            "msisdn": msisdn,
            "agent": request.query_params.get("agentId"),
            **body,
        }
        postbacks = _postbacks(body.get("contentMessage", {}))
        if self.receipts_first:
            delivered = PhoneEvent(PhoneEventKind.DELIVERED, msisdn, ref=mid)
            await self.push(_inner(delivered, request.query_params.get("agentId")))
        self.network.deliver(msisdn, mid, self._pusher(request), rcs=True, postbacks=postbacks)
        return JSONResponse({"name": f"phones/+{msisdn}/agentMessages/{mid}", **body})

    async def revoke(self, request: Request) -> Response:
        mid = request.path_params["mid"]
        if mid not in self.messages or not self.network.revoke(mid):
            return _error(404, "NOT_FOUND", "the message was delivered or does not exist")
        return JSONResponse({})

    async def capability(self, request: Request) -> Response:
        if not behaviour_of(_digits(request.path_params["phone"])).rcs:
            return _error(404, "NOT_FOUND", "the user is not RCS enabled")
        return JSONResponse({"features": FEATURES})

    async def batch_get(self, request: Request) -> Response:
        users = (await request.json()).get("users", [])
        reachable = [u for u in users if behaviour_of(_digits(u)).rcs]
        return JSONResponse({"reachableUsers": reachable})

    async def agent_event(self, request: Request) -> Response:
        event_id = request.query_params.get("eventId", "")
        if any(e["eventId"] == event_id for e in self.agent_events):
            return _error(409, "ALREADY_EXISTS", f"event {event_id} exists")
        event = {
            "msisdn": _digits(request.path_params["phone"]),
            "eventId": event_id,
            **(await request.json()),
        }
        self.agent_events.append(event)
        return JSONResponse({"name": f"phones/+{event['msisdn']}/agentEvents/{uuid.uuid4()}"})

    async def launch(self, request: Request) -> Response:
        """Every agent is approved at once (a real review takes days)."""
        self.launched.append(request.path_params["agent"])
        return JSONResponse({"launchState": "LAUNCH_STATE_LAUNCHED"})

    async def upload(self, request: Request) -> Response:
        return JSONResponse({"name": f"files/{secrets.token_hex(8)}"})

    def _pusher(self, request: Request) -> Callable[[PhoneEvent], Awaitable[None]]:
        agent = request.query_params.get("agentId")

        async def push(event: PhoneEvent) -> None:
            await self.push(_inner(event, agent))

        return push

    async def push(self, inner: dict[str, Any]) -> None:
        """Send one push as RBM's Pub/Sub does: until acknowledged with a 2xx, retried with
        backoff (here a few times, then counted as lost)."""
        if not self.callback_url:
            return
        body = push_body(inner, message_id=uuid.uuid4().hex)
        data = json.dumps(inner).encode()
        headers = {
            "X-Goog-Signature": sign(self.client_token, data),
            "Content-Type": "application/json",
        }
        if not await post_until_acknowledged(self.http, self.callback_url, body, headers):
            self.pushes_failed += 1

    async def user_says(self, msisdn: str, agent: str, text: str) -> None:
        """A user writes to an agent first (tests and the demo)."""
        await self.push(_inner(PhoneEvent(PhoneEventKind.TEXT, msisdn, text=text), agent))


def _inner(event: PhoneEvent, agent: str | None) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "senderPhoneNumber": f"+{event.msisdn}",
        "sendTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "agentId": agent,
    }
    if event.kind in (PhoneEventKind.DELIVERED, PhoneEventKind.READ, PhoneEventKind.TYPING):
        inner.update(eventType=event.kind.value, eventId=uuid.uuid4().hex)
        if event.ref:
            inner["messageId"] = event.ref
        return inner
    inner["messageId"] = uuid.uuid4().hex
    if event.kind is PhoneEventKind.SUGGESTION:
        inner["suggestionResponse"] = {
            "postbackData": event.postback_data,
            "text": event.text,
            "type": "REPLY",
        }
    else:
        inner["text"] = event.text
    return inner


def _postbacks(content: dict[str, Any]) -> list[tuple[str, str]]:
    chips = list(content.get("suggestions", []))
    card = content.get("richCard", {})
    cards = (
        [card["standaloneCard"]["cardContent"]]
        if "standaloneCard" in card
        else (card.get("carouselCard", {}).get("cardContents", []))
    )
    for body in cards:
        chips.extend(body.get("suggestions", []))
    found = []
    for chip in chips:
        inner = chip.get("reply") or chip.get("action") or {}
        found.append((inner.get("text", ""), inner.get("postbackData", "")))
    return found


def _digits(phone: str) -> str:
    return phone.removeprefix("+")


def _error(code: int, status: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "status": status, "message": message}}, code)
