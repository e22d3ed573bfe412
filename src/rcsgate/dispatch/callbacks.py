"""`POST /operators/{name}/callback`: where operators push receipts and user messages.

Not under /v3: operators authenticate by signature (RBM X-Goog-Signature, MaaP's HMAC), not by
API key. A 2xx is answered only after the events are committed, so an operator that gets an
error (or no answer) sends them again; duplicates are harmless.

Every message costs two or three callbacks (Delivered, Read, a reply), so they skip the app's
/v3 stack (key gate, idempotency, FastAPI's routing, dependencies and its own wrappers):
`OperatorCallbacks` sits in front of the whole app (`RcsgateApp` in app.py) and sends
/operators/ straight to a plain ASGI handler, which keeps what the path needs of the stack:
problem+json errors (ProblemGuard) and request metrics.

Anyone can reach this path, so the body is bounded (`callback_max_body_bytes`) before it is
read whole: a declared Content-Length over the cap is refused unread, and a chunked body is
read only up to the cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rcsgate.connectors.base import SignatureError
from rcsgate.context import AppContext
from rcsgate.errors import (
    BadSignature,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RcsgateError,
    problem_response,
)
from rcsgate.kit.asgi import receive_capped
from rcsgate.kit.metrics import MetricsMiddleware
from rcsgate.problems import ProblemGuard

PREFIX = "/operators/"


@dataclass(frozen=True, slots=True)
class _Route:
    """What MetricsMiddleware reads of a route: its template, the metrics label."""

    path: str = "/operators/{name}/callback"


ROUTE = _Route()


class OperatorCallbacks:
    """In front of the app: /operators/ to the callback handler, everything else on."""

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.callbacks = ProblemGuard(MetricsMiddleware(CallbackHandler(context)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.callbacks(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@dataclass
class CallbackHandler:
    context: AppContext

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            received = await self._handle(scope, receive)
        except RcsgateError as error:
            await problem_response(error)(scope, receive, send)
            return
        await JSONResponse({"received": received})(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive) -> int:
        name, _, rest = scope["path"].removeprefix(PREFIX).partition("/")
        if rest != "callback" or not name:
            raise NotFound()
        scope["route"] = ROUTE
        if scope["method"] != "POST":
            raise MethodNotAllowed(headers={"Allow": "POST"})
        connector = self.context.operators.rcs.get(name)
        if connector is None:
            raise NotFound(f"No operator {name!r}")
        headers = Headers(scope=scope)
        body = await _bounded_body(headers, receive, self.context.settings.callback_max_body_bytes)
        try:
            events = connector.parse_callback(headers, body)
        except SignatureError as error:
            raise BadSignature(str(error)) from error
        await self.context.receipts.handle(events)
        return len(events)


async def _bounded_body(headers: Headers, receive: Receive, cap: int) -> bytes:
    too_large = PayloadTooLarge(f"A callback body may be at most {cap} bytes")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    body = await receive_capped(receive, cap)
    if body is None:
        raise too_large
    return body
