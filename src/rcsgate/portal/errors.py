"""Service errors shown beside the form fields they concern, and the portal's error pages."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.responses import Response

from rcsgate.accounts.service import LoggedIn
from rcsgate.errors import NotFound, RcsgateError, problem_response
from rcsgate.portal.web import PREFIX, CsrfRejected, LoginRequired, redirect, render, viewer_of
from rcsgate.problems import validation_problem


def form_errors(
    error: RcsgateError, fields: Mapping[str, str], default: str | None = None
) -> dict[str, str]:
    """{form field: message}; a pointer like `/allowedIps/2` belongs to `/allowedIps`.
    An error naming no field of this form is shown against `default` (else the first)."""
    fallback = default or next(iter(fields.values()))
    errors: dict[str, str] = {}
    for item in error.errors or []:
        name = next(
            (f for p, f in fields.items() if item.field == p or item.field.startswith(p + "/")),
            fallback,
        )
        errors[name] = f"{errors[name]} {item.message}" if name in errors else item.message
    if not errors:
        errors[fallback] = error.detail
    return errors


def from_validation(exc: ValidationError) -> RcsgateError:
    """A schema's errors as the API would report them (pointers like `/displayName`)."""
    return validation_problem([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


def not_found(request: Request, viewer: LoggedIn | None) -> Response:
    return render(request, "error.html", {"title": "not_found"}, viewer=viewer, status=404)


async def _not_found(request: Request, exc: Exception) -> Response:
    """A service's NotFound (another account's id, a typo): on a portal page, the 404 page."""
    assert isinstance(exc, NotFound)
    if not request.url.path.startswith(PREFIX + "/"):
        return problem_response(exc)
    return not_found(request, await viewer_of(request))


async def _login_required(request: Request, _exc: Exception) -> Response:
    return redirect("/login")


async def _csrf_rejected(request: Request, _exc: Exception) -> Response:
    values = {"title": "forbidden", "message": "csrf_failed"}
    return render(request, "error.html", values, status=403)


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(NotFound, _not_found)
