"""The GSMA MaaP Chatbot API (FNW.11 `bot/v1`) over httpx: send, revoke, capabilities and
agent events for one bot platform account."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from rcsgate.connectors.base import (
    Capability,
    ConnectorError,
    ErrorClass,
    InboundEvent,
    Submitted,
)
from rcsgate.connectors.http import raise_for_response, request
from rcsgate.connectors.maap.notifications import decode, to_events, verify
from rcsgate.kit.clock import Clock, SystemClock, isoformat_z
from rcsgate.kit.http import http_client

# Answers to a cancel that mean "too late": the message was delivered (or never known).
_ALREADY_DELIVERED = (404, 409)


class MaapConnector:
    """One MaaP bot platform behind `base_url` (the root before `/bot/v1`), authenticated with a
    static bearer token.

    Our message id is sent as the MaaP `msgId`, so a retried send names the same message: the
    operator (and the simulator) answer it as the first time instead of delivering it twice,
    and receipts come back with our id as their `ref`.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        token: str,
        callback_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        capability_concurrency: int = 20,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._base = base_url.rstrip("/") + "/bot/v1"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._callback_secret = callback_secret
        self._own_http = http is None
        self._http = http or http_client(timeout=timeout)
        self._timeout = timeout
        self._capability_slots = asyncio.Semaphore(capability_concurrency)
        self._clock = clock or SystemClock()

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
        """`body` is the `RCSMessage` content (`render_maap`); `traffic_type` is passed on as
        `trafficType`, an operator extension FNW.11 does not define."""
        message: dict[str, Any] = {**body, "msgId": message_id}
        if ttl_seconds:
            message["expiry"] = isoformat_z(self._clock.now() + timedelta(seconds=ttl_seconds))
        if traffic_type:
            message["trafficType"] = traffic_type
        payload = {"RCSMessage": message, "messageContact": _contact(msisdn)}
        response = await self._call("POST", f"{_part(agent)}/messages", json=payload)
        if response.status_code == 409:
            return Submitted(refs=(message_id,))  # created by an earlier attempt of this send
        raise_for_response(response, not_found=ErrorClass.UNREACHABLE)
        return Submitted(refs=(message_id,))

    async def revoke(self, agent: str, msisdn: str, message_id: str) -> bool:
        response = await self._set_status(agent, message_id, "cancelled")
        if response.status_code in _ALREADY_DELIVERED:
            return False
        raise_for_response(response, not_found=ErrorClass.REJECTED)
        return True

    async def capability(self, agent: str, msisdn: str) -> Capability:
        async with self._capability_slots:
            response = await self._call(
                "GET",
                f"{_part(agent)}/contactCapabilities",
                params={"userContact": f"+{msisdn}"},
            )
        if response.status_code == 404:
            return Capability(msisdn, rcs=False)  # MaaP: the contact is not RCS-enabled
        raise_for_response(response, not_found=ErrorClass.UNREACHABLE)
        return Capability(msisdn, rcs=True, features=_features(response))

    async def capabilities(self, agent: str, msisdns: Sequence[str]) -> list[Capability]:
        """MaaP has no batch lookup: one request per number, at most `capability_concurrency`
        of them in flight."""
        return list(await asyncio.gather(*(self.capability(agent, m) for m in msisdns)))

    async def agent_event(
        self,
        agent: str,
        msisdn: str,
        event: str,
        message_id: str | None = None,
        *,
        event_id: str | None = None,
    ) -> None:
        """READ marks the user's message `displayed` (a repeat changes nothing); IS_TYPING is a
        message of its own. MaaP takes no event id."""
        if event == "READ":
            if not message_id:
                raise ValueError("a READ event names the user's message")
            response = await self._set_status(agent, message_id, "displayed")
            raise_for_response(response, not_found=ErrorClass.REJECTED)
        elif event == "IS_TYPING":
            payload = {"RCSMessage": {"isTyping": "active"}, "messageContact": _contact(msisdn)}
            response = await self._call("POST", f"{_part(agent)}/messages", json=payload)
            raise_for_response(response, not_found=ErrorClass.UNREACHABLE)
        else:
            raise ValueError(f"unknown agent event {event!r}")

    async def upload_file(self, agent: str, file_url: str) -> str:
        """Register a file by URL with the operator; its file id."""
        response = await self._call("POST", f"{_part(agent)}/files", json={"fileUrl": file_url})
        raise_for_response(response, not_found=ErrorClass.REJECTED)
        return str(response.json()["fileId"])

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        verify(self._callback_secret, headers, body)
        return to_events(self.name, decode(body))

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _set_status(self, agent: str, message_id: str, status: str) -> httpx.Response:
        path = f"{_part(agent)}/messages/{_part(message_id)}/status"
        return await self._call("PUT", path, json={"RCSMessage": {"status": status}})

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await request(
            self._http,
            method,
            f"{self._base}/{path}",
            headers=self._headers,
            timeout=self._timeout,
            **kwargs,
        )
        if response.status_code == 401:
            # Our credentials, not this message, are at fault: retry (and alert) rather than
            # fail every message for good while the token is being fixed.
            raise ConnectorError(ErrorClass.TRANSIENT, "MaaP refused the bearer token", status=401)
        return response


def _contact(msisdn: str) -> dict[str, str]:
    return {"userContact": f"+{msisdn}"}


def _part(value: str) -> str:
    """One path segment: bot and message ids may hold characters a path cannot."""
    return quote(value, safe="")


def _features(response: httpx.Response) -> tuple[str, ...]:
    """Capability names, from a list or from a `{name: true}` object: operators differ."""
    try:
        data = response.json()
    except ValueError:
        return ()
    listed = data.get("capabilities") if isinstance(data, dict) else None
    if isinstance(listed, dict):
        return tuple(str(name) for name, on in listed.items() if on)
    if isinstance(listed, list):
        return tuple(str(name) for name in listed)
    return ()
