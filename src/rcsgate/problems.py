"""Turns every exception that reaches the app into problem+json; never a stack trace."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcsgate.errors import (
    Conflict,
    FieldError,
    InternalError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    RcsgateError,
    ServiceUnavailable,
    ValidationFailed,
    problem_response,
)
from rcsgate.kit.logging import get_logger

log = get_logger(__name__)
_BY_STATUS: dict[int, type[RcsgateError]] = {404: NotFound, 405: MethodNotAllowed}


def json_pointer(location: Sequence[Any]) -> str:
    """`("body", "cards", 0, "title")` → `/cards/0/title`; a query or path parameter → its name."""
    if not location:
        return ""
    source, *rest = location
    if source != "body":
        return ".".join(str(part) for part in rest) or str(source)
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in rest)


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error.get("type") == "missing":
        return "is required"
    return message


def validation_problem(errors: Sequence[dict[str, Any]]) -> RcsgateError:
    if any(error.get("type") == "json_invalid" for error in errors):
        return MalformedJson("The body could not be parsed as JSON")
    fields = [FieldError(json_pointer(e.get("loc", ())), _message(e)) for e in errors]
    summary = "; ".join(f"{f.field or 'body'}: {f.message}" for f in fields[:5])
    return ValidationFailed(summary, errors=fields)


async def _on_rcsgate_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RcsgateError)
    return problem_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(exc.errors()))


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error_class = _BY_STATUS.get(exc.status_code)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    if error_class is not None:
        error = error_class(headers=headers)
    else:
        error = RcsgateError(str(exc.detail), headers=headers)
        error.status = exc.status_code  # type: ignore[misc]
    return problem_response(error)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method of every documented operation on this path. Starlette's own `Allow`
    names only the first route that matched the path, not all of them."""
    templates: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if templates is None:
        templates = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"),
             [method.upper() for method in operations])
            for template, operations in app.openapi().get("paths", {}).items()
        ]  # fmt: skip
        app.state.allowed_methods = templates
    found = {m for pattern, methods in templates if pattern.match(path) for m in methods}
    return sorted(found)


def unexpected_problem(exc: BaseException, path: str) -> RcsgateError:
    if isinstance(exc, IntegrityError):
        # A concurrent request won a unique index the service had checked: a conflict.
        log.info("integrity_conflict", path=path, error=str(exc.orig)[:200])
        return Conflict("The request conflicts with data written concurrently; retry it")
    if isinstance(exc, OperationalError | DBAPIError | ConnectionError):
        log.warning("database_unavailable", path=path, error=type(exc).__name__)
        return ServiceUnavailable(headers={"Retry-After": "1"})
    log.error("unhandled_error", path=path, exc_info=exc)
    return InternalError("Something went wrong on our side; it was logged")


class ProblemGuard:
    """Outermost: an exception nothing else handled becomes a problem, not a trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if started:
                raise
            await problem_response(unexpected_problem(exc, scope["path"]))(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RcsgateError, _on_rcsgate_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
