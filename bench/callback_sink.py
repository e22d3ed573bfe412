"""The pipeline baseline's stand-in for rcsgate's callback endpoint: it takes the simulator's
pushes (POST /operators/{name}/callback) and answers 200, nothing else. Served exactly like
rcsgate (servers.uvicorn_command: one worker, TLS), so the simulator's pushes cost it the same
TLS and HTTP work as in the pipeline, and none of rcsgate's.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def callback(request: Request) -> Response:
    await request.body()
    return JSONResponse({"received": 1})


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/operators/{name}/callback", callback, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)
