"""Small pieces for pure ASGI middlewares."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from rcsgate.kit.net import Client, IPNetwork, forwarded_client


async def read_all(receive: Receive) -> bytes:
    """The whole request body (an earlier middleware has bounded its size)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def receive_capped(receive: Receive, cap: int) -> bytes | None:
    """The whole body, or None as soon as it passes `cap` bytes: the rest is never read, so
    an oversized body costs at most `cap` bytes of memory whatever its length."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def replay_body(body: bytes, original: Receive) -> Receive:
    """Hands a buffered body over once, then passes on what the client does (disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def client_of(scope: Scope, trusted_proxies: Sequence[IPNetwork]) -> Client:
    """The request's client, believing forwarded headers only from trusted proxies."""
    peer = scope.get("client")
    headers = Headers(scope=scope)
    return forwarded_client(
        peer[0] if peer else None,
        headers.getlist("x-forwarded-for"),
        headers.getlist("x-forwarded-proto"),
        trusted_proxies,
    )
