"""create_app(settings): the ASGI app with /v3, /portal, /healthz and (with
RCSGATE_METRICS_TOKEN) /metrics."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from rcsgate import __version__
from rcsgate.accounts.endpoints import router as account_router
from rcsgate.agents.endpoints import router as agents_router
from rcsgate.brands.endpoints import router as brands_router
from rcsgate.bundles.endpoints import router as bundles_router
from rcsgate.capabilities.endpoints import router as capabilities_router
from rcsgate.config import Settings
from rcsgate.context import AppContext
from rcsgate.conversations.endpoints import router as conversations_router
from rcsgate.direct import DIRECT, DirectRoutes
from rcsgate.dispatch.callbacks import OperatorCallbacks
from rcsgate.errors import Unauthorized
from rcsgate.gate import API_PREFIX, ApiGate
from rcsgate.idempotency import Idempotency
from rcsgate.kit.metrics import MetricsMiddleware, metrics_endpoint
from rcsgate.messages.endpoints import router as messages_router
from rcsgate.openapi import build_openapi
from rcsgate.portal import install_portal
from rcsgate.problems import ProblemGuard, install_problem_handlers
from rcsgate.webhooks.endpoints import router as webhooks_router

DESCRIPTION = """\
rcsgate's public API, compatible with the iP.1 RCS API v3.

Authenticate with `Authorization: Bearer <key>`. Errors are `application/problem+json`.
Collections page with `start`, `limit` and `order`, and answer with `Link` and `X-Total-Count`.
"""


RESOURCES = (
    account_router,
    brands_router,
    agents_router,
    conversations_router,
    bundles_router,
    messages_router,
    capabilities_router,
    webhooks_router,
)


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for resource in RESOURCES:
        router.include_router(resource)
    return router


Hook = Callable[[AppContext], AbstractAsyncContextManager[object]]


class RcsgateApp(FastAPI):
    """FastAPI with the operator callbacks in front of its whole stack, FastAPI's own layers
    (error, telemetry and body-limit wrappers) included: see `dispatch.callbacks`."""

    def build_middleware_stack(self) -> ASGIApp:
        return OperatorCallbacks(super().build_middleware_stack(), self.state.context)


def create_app(
    settings: Settings | None = None,
    *,
    context: AppContext | None = None,
    hooks: Sequence[Hook] = (),
    direct: frozenset[tuple[str, str]] = DIRECT,
) -> FastAPI:
    """The app; given a context, the caller owns it (tests, `serve` with shared workers).
    `hooks` run for the app's lifetime, in order (the simulator, then the dispatch loops).
    `direct`: the routes answered without FastAPI's routing (see `direct`; the tests compare
    them with an app that has none)."""
    settings = context.settings if context else (settings or Settings())
    app_context = context or AppContext.create(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in hooks:
                await stack.enter_async_context(hook(app_context))
            yield
        if context is None:
            await app_context.aclose()

    app = RcsgateApp(
        title="rcsgate",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/v3/openapi.json",
        docs_url="/v3/docs",
        redoc_url=None,
        lifespan=lifespan,
        # No OpenTelemetry here (metrics are Prometheus'): without this FastAPI asks the
        # environment for a tracer provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.context = app_context
    app.include_router(api_router())
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    if settings.metrics_token:
        app.add_route("/metrics", scrape_with(settings.metrics_token), include_in_schema=False)
    install_problem_handlers(app)
    install_portal(app)
    if direct:
        app.add_middleware(
            DirectRoutes, context=app_context, routers=RESOURCES, prefix=API_PREFIX, paths=direct
        )
    app.add_middleware(Idempotency, context=app_context)
    app.add_middleware(ApiGate, context=app_context)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(ProblemGuard)

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def scrape_with(token: str) -> Callable[[Request], Awaitable[Response]]:
    """/metrics for a scraper that presents the token: the public app's traffic, routes and
    error rates are nobody else's business."""
    expected = f"Bearer {token}".encode()

    async def metrics(request: Request) -> Response:
        # Bytes: compare_digest refuses str with non-ASCII characters.
        if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            raise Unauthorized("GET /metrics needs Authorization: Bearer <RCSGATE_METRICS_TOKEN>")
        return await metrics_endpoint(request)

    return metrics


async def healthz(request: Request) -> Response:
    context: AppContext = request.app.state.context
    try:
        async with context.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
