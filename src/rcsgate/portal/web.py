"""What every portal page shares: rendering, the logged-in viewer, CSRF, cookies.

Sessions are rows (`accounts.service.log_in`); the cookie carries a random token and is
`HttpOnly; Secure; SameSite=Lax`, scoped to /portal. Every POST form carries a CSRF token:
a logged-in user's is the session's own (synchronizer token); the log-in and sign-up forms,
which have no session yet, use a double-submit cookie.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rcsgate.accounts.service import SESSION_LIFETIME, LoggedIn, logged_in
from rcsgate.dependencies import Session, context_of
from rcsgate.kit.asgi import client_of
from rcsgate.kit.crypto import constant_time_equal, random_token
from rcsgate.portal.i18n import LANGUAGES, choose_language, translator

PREFIX = "/portal"
SESSION_COOKIE = "rcsgate_session"
CSRF_COOKIE = "rcsgate_csrf"
CSRF_FIELD = "csrf"
# The main navigation: (label key, path), in order.
SECTIONS = [
    ("accounts", "/accounts"),
    ("brands", "/brands"),
    ("conversations", "/conversations"),
    ("bundles", "/bundles"),
    ("messages", "/messages"),
    ("usage", "/usage"),
    ("webhooks", "/webhooks"),
]
SECURITY_HEADERS = {
    # Message images live on the customer's servers (https only).
    "Content-Security-Policy": "default-src 'self'; img-src 'self' https:; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class LoginRequired(Exception):
    """No live session: the handler redirects to the log-in page."""


class CsrfRejected(Exception):
    """A POST without the form's CSRF token."""


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


_templates.filters["when"] = when


def render(
    request: Request,
    template: str,
    values: dict[str, Any] | None = None,
    *,
    viewer: LoggedIn | None = None,
    status: int = 200,
) -> HTMLResponse:
    language = choose_language(request)
    csrf = viewer.csrf_token if viewer else _anonymous_csrf(request)
    page = _templates.get_template(template).render(
        request=request,
        t=translator(language),
        lang=language,
        languages=LANGUAGES,
        sections=SECTIONS,
        viewer=viewer,
        csrf=csrf,
        prefix=PREFIX,
        **(values or {}),
    )
    response = HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)
    if viewer is None and request.cookies.get(CSRF_COOKIE) != csrf:
        set_cookie(response, CSRF_COOKIE, csrf, samesite="strict")
    return response


def _anonymous_csrf(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or random_token("", 32)


def set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    samesite: str = "lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        secure=True,
        httponly=True,
        samesite=samesite,  # type: ignore[arg-type]
    )


def set_session_cookie(response: Response, token: str) -> None:
    set_cookie(response, SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()))


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path, status_code=303, headers=SECURITY_HEADERS)


async def optional_viewer(request: Request, session: Session) -> LoggedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await logged_in(session, context_of(request).clock, token)


async def viewer_of(request: Request) -> LoggedIn | None:
    """The viewer, outside a route's dependencies (an exception handler)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    context = context_of(request)
    async with context.sessionmaker() as session:
        return await logged_in(session, context.clock, token)


async def required_viewer(
    viewer: Annotated[LoggedIn | None, Depends(optional_viewer)],
) -> LoggedIn:
    if viewer is None:
        raise LoginRequired
    return viewer


async def checked_form(
    request: Request, viewer: Annotated[LoggedIn | None, Depends(optional_viewer)]
) -> FormData:
    """The POSTed form, once its CSRF token matches the session's (or the cookie's)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = viewer.csrf_token if viewer else request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not constant_time_equal(sent, expected):
        raise CsrfRejected
    return form


def client_ip(request: Request) -> str:
    address = client_of(request.scope, context_of(request).settings.trusted_networks).address
    return str(address) if address else "unknown"


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


Viewer = Annotated[LoggedIn, Depends(required_viewer)]
MaybeViewer = Annotated[LoggedIn | None, Depends(optional_viewer)]
Form = Annotated[FormData, Depends(checked_form)]
