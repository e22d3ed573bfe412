"""`POST /operators/{name}/callback`: where operators push receipts and user messages.

Not under /v3: operators authenticate by signature (RBM X-Goog-Signature, MaaP's HMAC), not by
API key. A 2xx is answered only after the events are committed, so an operator that gets an
error (or no answer) sends them again; duplicates are harmless.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from rcsgate.connectors.base import SignatureError
from rcsgate.context import AppContext

router = APIRouter(prefix="/operators", include_in_schema=False)


@router.post("/{name}/callback")
async def operator_callback(name: str, request: Request) -> Response:
    context: AppContext = request.app.state.context
    connector = context.operators.rcs.get(name)
    if connector is None:
        return JSONResponse({"error": f"no operator {name!r}"}, status_code=404)
    try:
        events = connector.parse_callback(request.headers, await request.body())
    except SignatureError as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    await context.receipts.handle(events)
    return JSONResponse({"received": len(events)})
