"""The customer's endpoint in the webhooks benchmark: takes a POST, answers 204, nothing
else. Served like rcsgate (servers.uvicorn_command: one worker, TLS), in its own process, so
it has a core of its own and costs rcsgate and the baseline the same."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def hook(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/hook", hook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)
