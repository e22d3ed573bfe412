"""Google RBM REST v1 over HTTP: send, revoke, capabilities, agent events and files."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from rcsgate.connectors.base import (
    Capability,
    ConnectorError,
    ErrorClass,
    InboundEvent,
    Submitted,
)
from rcsgate.connectors.http import raise_for_response, request
from rcsgate.connectors.rbm.auth import TokenSource
from rcsgate.connectors.rbm.callbacks import decode_push, to_events
from rcsgate.kit.http import http_client

GOOGLE_RBM_URL = "https://rcsbusinessmessaging.googleapis.com"
LAUNCH_STATES = {"LAUNCH_STATE_LAUNCHED": "Launched", "LAUNCH_STATE_REJECTED": "Rejected"}


class RbmConnector:
    """One RBM partner account. `base_url` and the token URI are configurable, so the same code
    talks to Google or to the simulator. Our message id is RBM's `messageId`: RBM refuses a
    second message with the same id, so a retried send never becomes two messages."""

    def __init__(
        self,
        name: str,
        tokens: TokenSource,
        client_token: str,
        *,
        base_url: str = GOOGLE_RBM_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        capability_concurrency: int = 20,
        max_in_flight: int = 8,
    ) -> None:
        self.name = name
        self._tokens = tokens
        self._client_token = client_token
        self._base = base_url.rstrip("/")
        self._own_http = http is None
        self._http = http or http_client(timeout=timeout, max_connections=max_in_flight)
        # Calls beyond the pool's size wait here, not in httpcore's queue, which grows slow
        # (every change rescans every waiting request) when hundreds wait.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._capability_slots = asyncio.Semaphore(capability_concurrency)

    async def send(
        self,
        agent: str,
        msisdn: str,
        message_id: str,
        body: Mapping[str, Any],
        *,
        ttl_seconds: int | None = None,
        traffic_type: str | None = None,
    ) -> Submitted:
        payload: dict[str, Any] = {"contentMessage": dict(body)}
        if ttl_seconds:
            payload["ttl"] = f"{ttl_seconds}s"
        if traffic_type:
            payload["messageTrafficType"] = traffic_type
        response = await self._call(
            "POST",
            f"/v1/phones/+{msisdn}/agentMessages",
            params={"messageId": message_id, "agentId": agent},
            json=payload,
        )
        if response.status_code == 409:
            return Submitted(refs=(message_id,))  # already created by an earlier attempt
        raise_for_response(response, not_found=ErrorClass.UNREACHABLE)
        return Submitted(refs=(message_id,))

    async def revoke(self, agent: str, msisdn: str, message_id: str) -> bool:
        response = await self._call(
            "DELETE",
            f"/v1/phones/+{msisdn}/agentMessages/{message_id}",
            params={"agentId": agent},
        )
        if response.status_code == 404:
            return False  # RBM: the message was already delivered (or never existed)
        raise_for_response(response, not_found=ErrorClass.REJECTED)
        return True

    async def capability(self, agent: str, msisdn: str) -> Capability:
        async with self._capability_slots:
            response = await self._call(
                "GET",
                f"/v1/phones/+{msisdn}/capabilities",
                params={"requestId": str(uuid.uuid4()), "agentId": agent},
            )
        if response.status_code == 404:
            return Capability(msisdn, rcs=False)
        raise_for_response(response, not_found=ErrorClass.UNREACHABLE)
        return Capability(msisdn, rcs=True, features=tuple(response.json().get("features", [])))

    async def capabilities(self, agent: str, msisdns: Sequence[str]) -> list[Capability]:
        """Many numbers in one `users:batchGet` (which answers reachability, not features)."""
        users = [f"+{m}" for m in msisdns]
        response = await self._call(
            "POST", "/v1/users:batchGet", json={"users": users, "agentId": agent}
        )
        raise_for_response(response, not_found=ErrorClass.REJECTED)
        reachable = {u.removeprefix("+") for u in response.json().get("reachableUsers", [])}
        return [Capability(m, rcs=m in reachable) for m in msisdns]

    async def agent_event(
        self,
        agent: str,
        msisdn: str,
        event: str,
        message_id: str | None = None,
        *,
        event_id: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"eventType": event}
        if message_id:
            body["messageId"] = message_id
        response = await self._call(
            "POST",
            f"/v1/phones/+{msisdn}/agentEvents",
            params={"eventId": event_id or str(uuid.uuid4()), "agentId": agent},
            json=body,
        )
        if response.status_code == 409:
            return  # sent by an earlier attempt
        raise_for_response(response, not_found=ErrorClass.UNREACHABLE)

    async def upload_file(self, agent: str, file_url: str, thumbnail_url: str | None = None) -> str:
        """Let RBM fetch a file once; the returned name can replace the URL in messages."""
        body = {"fileUrl": file_url, **({"thumbnailUrl": thumbnail_url} if thumbnail_url else {})}
        response = await self._call(
            "POST", "/upload/v1/files", params={"agentId": agent}, json=body
        )
        raise_for_response(response, not_found=ErrorClass.REJECTED)
        return str(response.json()["name"])

    async def request_launch(self, agent: str) -> str:
        """Ask for the agent's launch (Business Communications API `agents.requestLaunch`):
        "Launched", "Rejected", or "Submitted" while the review is pending."""
        response = await self._call("POST", f"/v1/brands/-/agents/{agent}:requestLaunch", json={})
        raise_for_response(response, not_found=ErrorClass.REJECTED)
        state = str(response.json().get("launchState", ""))
        return LAUNCH_STATES.get(state, "Submitted")

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        return to_events(self.name, decode_push(self._client_token, headers, body))

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()
        await asyncio.to_thread(self._tokens.close)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; a refused token (revoked, or expired early) is replaced once."""
        for _ in range(2):
            headers = {"Authorization": f"Bearer {await self._tokens.token()}"}
            async with self._in_flight:
                response = await request(
                    self._http, method, self._base + path, headers=headers, **kwargs
                )
            if response.status_code != 401:
                return response
            self._tokens.forget()
        raise ConnectorError(ErrorClass.TRANSIENT, "RBM refused the access token", status=401)
