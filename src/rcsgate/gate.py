"""The gate in front of `/v3`: HTTPS, API key, IP allow-list, rate limit, body checks.

A pure ASGI middleware, in this order, each step refusing with a problem response before
anything behind it runs:
1. plain HTTP (not vouched for by a trusted proxy's `X-Forwarded-Proto: https`) → 403;
2. missing, malformed, unknown or revoked key → 401;
3. a key used from an address outside its allow-list → 403;
4. over the account's rate limit → 429 (the request has no effect; while Redis is down, over
   this process's share of it, see `kit.ratelimit`);
5. a NUL character in the path or a query parameter → 400 naming it (no text column holds one);
6. a body over the size cap → 413, a body that is not JSON → 415, JSON nested deeper than
   MAX_JSON_DEPTH → 400 (parsers recurse per level: a deep body would be a RecursionError),
   a NUL in a string of the body → 400 naming its field.
Every response that passed step 4 carries the RateLimit-* headers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcsgate.context import AppContext
from rcsgate.errors import (
    FieldError,
    HttpsRequired,
    IpNotAllowed,
    PayloadTooLarge,
    RateLimited,
    RcsgateError,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    problem_response,
)
from rcsgate.keys.service import Principal, authenticate, record_use, use_is_due
from rcsgate.kit.asgi import client_of, receive_capped, replay_body
from rcsgate.kit.crypto import token_hash
from rcsgate.kit.json_text import nul_pointer
from rcsgate.kit.nesting import nested_deeper_than
from rcsgate.kit.net import address_in

API_PREFIX = "/v3"
PUBLIC_PATHS = frozenset({"/v3/openapi.json", "/v3/docs", "/v3/docs/oauth2-redirect"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Rich content nests about eight levels; nothing in the API needs more than a few.
MAX_JSON_DEPTH = 32


class ApiGate:
    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            self._require_https(scope)
            if scope["path"] in PUBLIC_PATHS:
                await self.app(scope, receive, send)
                return
            principal = await self._authenticate(scope, headers)
            decision = await self.context.rate_limiter.hit(
                principal.account_id, principal.rate_limit
            )
            rate_headers = decision.headers()
            if not decision.allowed:
                raise RateLimited(
                    f"Over {principal.rate_limit} requests per second for this account",
                    headers={**rate_headers, "Retry-After": str(decision.retry_after)},
                )
            _refuse_nul(scope)
            receive = await self._checked_body(scope, headers, receive, rate_headers)
        except RcsgateError as error:
            await problem_response(error)(scope, receive, send)
            return
        except (OperationalError, DBAPIError, OSError):
            await problem_response(ServiceUnavailable(headers={"Retry-After": "1"}))(
                scope, receive, send
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, _with_headers(send, rate_headers))

    def _require_https(self, scope: Scope) -> None:
        if scope.get("scheme") == "https":
            return
        if client_of(scope, self.context.settings.trusted_networks).forwarded_proto == "https":
            return
        raise HttpsRequired("Use https://; nothing was done")

    async def _authenticate(self, scope: Scope, headers: Headers) -> Principal:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise Unauthorized("Send the API key as 'Authorization: Bearer <key>'")
        principal, looked_up = await self._principal(token_hash(token))
        if principal is None:
            raise Unauthorized("Unknown or revoked API key")
        if principal.allowed_networks:
            address = client_of(scope, self.context.settings.trusted_networks).address
            if address is None or not address_in(address, principal.allowed_networks):
                raise IpNotAllowed(f"Address {address} is not in this key's allow-list")
        if looked_up and use_is_due(principal, self.context.clock.now()):
            # Only a use that passed the allow-list counts; a cached key was counted lately.
            async with self.context.sessionmaker.begin() as session:
                await record_use(session, self.context.clock, principal.key_id)
        return principal

    async def _principal(self, hashed: str) -> tuple[Principal | None, bool]:
        """The key's principal, and whether this request read it from the database. When a
        key's entry expires, the requests that miss it together share one lookup."""

        async def lookup() -> Principal | None:
            async with self.context.sessionmaker() as session:
                return await authenticate(session, hashed)

        return await self.context.key_cache.get_or_load(hashed, lookup)

    async def _checked_body(
        self, scope: Scope, headers: Headers, receive: Receive, rate_headers: dict[str, str]
    ) -> Receive:
        if scope["method"] not in BODY_METHODS:
            return receive
        cap = self.context.settings.max_body_bytes
        too_large = PayloadTooLarge(f"The body may be at most {cap} bytes", headers=rate_headers)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise too_large
        body = await receive_capped(receive, cap)
        if body is None:
            raise too_large
        if body and not _is_json(headers.get("content-type", "")):
            raise UnsupportedMediaType("Send the body as application/json", headers=rate_headers)
        if nested_deeper_than(body, MAX_JSON_DEPTH):
            message = f"is nested deeper than {MAX_JSON_DEPTH} levels"
            raise ValidationFailed(
                f"body: {message}", errors=[FieldError("", message)], headers=rate_headers
            )
        nul = nul_pointer(body)
        if nul is not None:
            message = "must not contain a NUL character"
            raise ValidationFailed(
                f"{nul or 'body'}: {message}",
                errors=[FieldError(nul, message)],
                headers=rate_headers,
            )
        return replay_body(body, receive)


def _refuse_nul(scope: Scope) -> None:
    """A NUL character in the path or a query parameter is refused by name: no text column
    can hold one (PostgreSQL refuses it), so it could only ever fail later, as a 5xx."""
    if "\x00" in scope["path"]:
        raise ValidationFailed.field("path", "must not contain a NUL character")
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                raise ValidationFailed.field(name.replace("\x00", ""), "must not contain a NUL")


def _under_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _with_headers(send: Send, extra: dict[str, str]) -> Send:
    encoded = [(k.lower().encode(), v.encode()) for k, v in extra.items()]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *encoded]}
        await send(message)

    return wrapped


def principal_of(state: dict[str, Any]) -> Principal:
    principal: Principal = state["principal"]
    return principal
