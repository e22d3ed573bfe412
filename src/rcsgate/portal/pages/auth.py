"""Sign-up, log-in, log-out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.accounts.service import log_in, log_out, sign_up, start_session
from rcsgate.dependencies import Session, context_of
from rcsgate.errors import AlreadyExists, ValidationFailed
from rcsgate.portal.errors import form_errors
from rcsgate.portal.i18n import LANGUAGE_COOKIE, LANGUAGES
from rcsgate.portal.web import (
    PREFIX,
    SESSION_COOKIE,
    Form,
    MaybeViewer,
    client_ip,
    field,
    redirect,
    render,
    set_cookie,
    set_session_cookie,
)

router = APIRouter()

# Log-in attempts counted per e-mail and per client address over a moving window. Each
# attempt is counted before its password is checked (a check counted only after it failed
# lets every request of a burst through); a log-in that succeeds forgets its e-mail's count.
THROTTLE_SECONDS = 15 * 60
ATTEMPTS_PER_EMAIL = 5
ATTEMPTS_PER_ADDRESS = 20
# Sign-ups tried from one address per hour, counted before the work: each costs an argon2
# hash and two rows.
SIGNUPS_PER_ADDRESS = 10
SIGNUP_SECONDS = 3600


def email_key(email: str) -> str:
    """The throttle of password checks for one user (log-ins, password changes)."""
    return f"portal-login:email:{email.strip().lower()}"


@router.get("/signup")
async def signup_page(request: Request, viewer: MaybeViewer) -> Response:
    if viewer is not None:
        return redirect("/accounts")
    return render(request, "signup.html", {"values": {}, "errors": {}})


@router.post("/signup")
async def sign_up_user(request: Request, session: Session, form: Form) -> Response:
    context = context_of(request)
    values = {"name": field(form, "name").strip(), "email": field(form, "email").strip()}
    address = f"portal-signup:ip:{client_ip(request)}"
    if not await context.rate_limiter.attempt(address, SIGNUPS_PER_ADDRESS, SIGNUP_SECONDS):
        page = {"values": values, "errors": {}, "error": "signup_throttled"}
        return render(request, "signup.html", page, status=429)
    try:
        user = await sign_up(
            session,
            context.clock,
            name=values["name"],
            email=values["email"],
            currency=context.settings.currency,
            rate_limit=context.settings.default_rate_limit,
            password=field(form, "password"),
            passwords=context.passwords,
        )
    except (ValidationFailed, AlreadyExists) as error:
        await session.rollback()
        fields = {"/name": "name", "/email": "email", "/password": "password"}
        errors = form_errors(error, fields, default="email")
        return render(request, "signup.html", {"values": values, "errors": errors}, status=400)
    token, _ = await start_session(session, context.clock, user)
    response = redirect("/accounts")
    set_session_cookie(response, token)
    return response


@router.get("/login")
async def login_page(request: Request, viewer: MaybeViewer) -> Response:
    if viewer is not None:
        return redirect("/accounts")
    return render(request, "login.html", {"email": "", "error": None})


@router.post("/login")
async def log_in_user(request: Request, session: Session, form: Form) -> Response:
    context = context_of(request)
    email = field(form, "email").strip().lower()
    keys = (email_key(email), f"portal-login:ip:{client_ip(request)}")
    limits = (ATTEMPTS_PER_EMAIL, ATTEMPTS_PER_ADDRESS)
    limiter = context.rate_limiter
    for key, limit in zip(keys, limits, strict=True):
        if not await limiter.attempt(key, limit, THROTTLE_SECONDS):
            return render(request, "login.html", {"email": email, "error": "throttled"}, status=429)
    started = await log_in(
        session, context.clock, context.passwords, email=email, password=field(form, "password")
    )
    if started is None:
        return render(request, "login.html", {"email": email, "error": "bad_login"}, status=400)
    await limiter.forget(keys[0], limits[0], THROTTLE_SECONDS)
    response = redirect("/accounts")
    set_session_cookie(response, started[0])
    return response


@router.post("/logout")
async def log_out_user(request: Request, session: Session, form: Form) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await log_out(session, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=True, httponly=True)
    return response


@router.get("/language/{language}")
async def switch_language(request: Request, language: str, back: str = "") -> Response:
    """A plain link (works without JavaScript); `back` must be a portal path."""
    target = back if back.startswith(PREFIX + "/") and "//" not in back else PREFIX + "/"
    response = redirect("")
    response.headers["location"] = target
    if language in LANGUAGES:
        set_cookie(response, LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600)
    return response
