"""The hot endpoints called directly, without FastAPI's per-request machinery.

`POST /v3/conversations`, `POST /v3/bundles` and `GET /v3/account` are what a busy customer
calls thousands of times a second. Profiled under load (README, "Benchmarks"), FastAPI's part
of such a request (matching the path against every route of every included router, solving
the dependencies, the exit stacks, re-validating the answer) cost more CPU than the endpoint
and its database work together.

`DirectRoutes` sits behind the gate and the idempotency middleware, so a direct request is
authenticated, rate limited, size-checked and made idempotent exactly as any other. For the
routes named in `DIRECT`, it calls the very endpoint function FastAPI would, with the same
arguments: the body parsed and validated by the same model (errors become the same
problem+json, field by field), the request's unit of work (`dependencies.unit_of_work_of`,
which FastAPI's dependency uses too), the context and the principal. The answer is serialized
by the route's response model with the route's status code and the headers the endpoint set.
Everything else goes on to FastAPI, and the routes stay there as well, for the OpenAPI
document. Which parameters an endpoint may take is checked when the app is built: an endpoint
that grows one this module does not know fails the app's start, not a request.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_type_hints

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rcsgate.context import AppContext
from rcsgate.dependencies import (
    Context,
    CurrentPrincipal,
    Session,
    unit_of_work_of,
)
from rcsgate.errors import RcsgateError, problem_response
from rcsgate.gate import principal_of
from rcsgate.kit.asgi import read_all
from rcsgate.problems import validation_problem

# (method, path) of the routes called directly.
DIRECT = frozenset({("POST", "/v3/conversations"), ("POST", "/v3/bundles"), ("GET", "/v3/account")})


@dataclass(frozen=True, slots=True)
class _Call:
    """What one direct request has to offer an endpoint's parameters."""

    scope: Scope
    receive: Receive
    context: AppContext
    request: Request
    response: Response


@dataclass(frozen=True, slots=True)
class RouteLabel:
    """`scope["route"]` of a direct request: what the metrics label it by, as FastAPI's."""

    path: str


@dataclass(frozen=True)
class _Direct:
    route: APIRoute
    label: RouteLabel
    body_model: type[BaseModel] | None
    binders: dict[str, str]  # parameter -> "body" | "session" | "request" | "principal" | ...
    needs_session: bool
    answer: TypeAdapter[Any]

    @classmethod
    def of(cls, route: APIRoute, path: str) -> _Direct:
        hints = get_type_hints(route.endpoint, include_extras=True)
        binders: dict[str, str] = {}
        body_model: type[BaseModel] | None = None
        for name in inspect.signature(route.endpoint).parameters:
            kind = _kind(hints[name])
            if kind is None:
                raise TypeError(f"{route.path}: parameter {name!r} cannot be filled directly")
            if kind == "body":
                body_model = hints[name]
            binders[name] = kind
        if route.dependencies:
            raise TypeError(f"{route.path}: route dependencies cannot be run directly")
        _require_plain_answer(route)
        answer: TypeAdapter[Any] = TypeAdapter(route.response_model)
        needs_session = "session" in binders.values()
        return cls(route, RouteLabel(path), body_model, binders, needs_session, answer)

    async def __call__(self, call: _Call) -> Response:
        values: dict[str, Any] = {
            "request": call.request,
            "response": call.response,
            "context": call.context,
            "principal": principal_of(call.scope["state"]),
        }
        if self.body_model is not None:
            values["body"] = _parse(self.body_model, await read_all(call.receive))
        if not self.needs_session:
            return self._answer(await self._run(values), call.response)
        async with unit_of_work_of(call.context, call.scope.setdefault("state", {})) as session:
            values["session"] = session
            answer = await self._run(values)
        return self._answer(answer, call.response)

    async def _run(self, values: dict[str, Any]) -> Any:
        endpoint: Callable[..., Awaitable[Any]] = self.route.endpoint
        return await endpoint(**{name: values[kind] for name, kind in self.binders.items()})

    def _answer(self, value: Any, sub: Response) -> Response:
        status = sub.status_code or self.route.status_code or 200
        response = Response(
            self.answer.dump_json(value, by_alias=True), status, media_type="application/json"
        )
        response.raw_headers.extend(h for h in sub.raw_headers if h[0] != b"content-length")
        return response


def _kind(annotation: Any) -> str | None:
    """Which filler a parameter's annotation asks for, or None for one not known here."""
    for alias, kind in (
        (Session, "session"),
        (Context, "context"),
        (CurrentPrincipal, "principal"),
    ):
        if annotation == alias:
            return kind
    if annotation is Request:
        return "request"
    if annotation is Response:
        return "response"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "body"
    return None


def _require_plain_answer(route: APIRoute) -> None:
    """Only the defaults FastAPI answers with are reproduced here."""
    plain = (
        route.response_model is not None
        and route.response_model_include is None
        and route.response_model_exclude is None
        and route.response_model_by_alias
        and not route.response_model_exclude_unset
        and not route.response_model_exclude_defaults
        and not route.response_model_exclude_none
    )
    if not plain:
        raise TypeError(f"{route.path}: its answer is not serialized the default way")


def _parse(model: type[BaseModel], body: bytes) -> BaseModel:
    """The body as FastAPI would have it: missing, not JSON, or invalid are the same
    problems (an error's location starts with "body", as FastAPI's do)."""
    if not body:
        raise validation_problem([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise validation_problem([{"type": "json_invalid", "loc": ("body",)}]) from None
    try:
        return model.model_validate(data, from_attributes=True)
    except ValidationError as error:
        raise validation_problem(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def _sub_response() -> Response:
    """Where an endpoint sets headers (and could set a status), as FastAPI's sub-response."""
    response = Response()
    response.status_code = None  # type: ignore[assignment]
    return response


class DirectRoutes:
    """In front of FastAPI's router, behind the gate and the idempotency middleware."""

    def __init__(
        self,
        app: ASGIApp,
        context: AppContext,
        routers: Sequence[APIRouter],
        prefix: str,
        paths: frozenset[tuple[str, str]] = DIRECT,
    ) -> None:
        self.app = app
        self.context = context
        self.direct = {
            (method, prefix + route.path): _Direct.of(route, prefix + route.path)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
            if (method, prefix + route.path) in paths
        }
        missing = paths - self.direct.keys()
        if missing:
            raise TypeError(f"no FastAPI route for {sorted(missing)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = (
            self.direct.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if direct is None or "principal" not in scope.get("state", {}):
            await self.app(scope, receive, send)
            return
        scope["route"] = direct.label
        call = _Call(scope, receive, self.context, Request(scope, receive), _sub_response())
        try:
            response = await direct(call)
        except RcsgateError as error:
            response = problem_response(error)
        await response(scope, receive, send)
