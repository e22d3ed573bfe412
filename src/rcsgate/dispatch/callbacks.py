"""`POST /operators/{name}/callback`: where operators push receipts and user messages.

Not under /v3: operators authenticate by signature (RBM X-Goog-Signature, MaaP's HMAC), not by
API key. A 2xx is answered only after the events are committed, so an operator that gets an
error (or no answer) sends them again; duplicates are harmless.

Anyone can reach this path, so the body is bounded (`callback_max_body_bytes`) before it is
read whole: a declared Content-Length over the cap is refused unread, and a chunked body is
read only up to the cap.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from rcsgate.connectors.base import SignatureError
from rcsgate.context import AppContext
from rcsgate.errors import BadSignature, NotFound, PayloadTooLarge
from rcsgate.kit.asgi import read_capped

router = APIRouter(prefix="/operators", include_in_schema=False)


@router.post("/{name}/callback")
async def operator_callback(name: str, request: Request) -> Response:
    context: AppContext = request.app.state.context
    connector = context.operators.rcs.get(name)
    if connector is None:
        raise NotFound(f"No operator {name!r}")
    body = await _bounded_body(request, context.settings.callback_max_body_bytes)
    try:
        events = connector.parse_callback(request.headers, body)
    except SignatureError as error:
        raise BadSignature(str(error)) from error
    await context.receipts.handle(events)
    return JSONResponse({"received": len(events)})


async def _bounded_body(request: Request, cap: int) -> bytes:
    too_large = PayloadTooLarge(f"A callback body may be at most {cap} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    body = await read_capped(request.stream(), cap)
    if body is None:
        raise too_large
    return body
