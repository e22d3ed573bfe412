"""The baseline: a bare FastAPI JSON endpoint, served exactly like rcsgate (see servers.py).

No middleware, no database, no auth: what is left of rcsgate's figure after dividing by this
one is what rcsgate itself costs. GET /v3/account's body is shaped and sized like rcsgate's
AccountRead; POST /v3/echo parses a JSON object and answers it back (send_accept's baseline).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ACCOUNT = {
    "id": "01a218cdfd1e246fe30c584b",
    "name": "bench",
    "currency": "SEK",
    "balance": 0.0,
    "rateLimit": 1000000,
    "created": "2026-11-26T17:01:22Z",
}

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/v3/account")
async def get_account() -> dict[str, Any]:
    return dict(ACCOUNT)


@app.post("/v3/echo")
async def echo(body: dict[str, Any]) -> dict[str, Any]:
    return body


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
