"""Accounts and Permissions (the first steps of the iP.1 portal path), and the account's users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.accounts.service import (
    LastUser,
    LoggedIn,
    add_user,
    change_password,
    get_account,
    list_users,
    remove_user,
)
from rcsgate.dependencies import Session, context_of
from rcsgate.errors import AlreadyExists, NotFound, ValidationFailed
from rcsgate.models import User
from rcsgate.portal.errors import form_errors
from rcsgate.portal.pages.auth import ATTEMPTS_PER_EMAIL, THROTTLE_SECONDS, email_key
from rcsgate.portal.web import (
    PREFIX,
    SESSION_COOKIE,
    Form,
    Viewer,
    field,
    redirect,
    render,
)

router = APIRouter()


@router.get("/")
async def home(viewer: Viewer) -> Response:
    return redirect("/accounts")


@router.get("/accounts")
async def accounts_page(request: Request, session: Session, viewer: Viewer) -> Response:
    return await _accounts(request, session, viewer)


async def _accounts(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    account = await get_account(session, viewer.account_id)
    users = await list_users(session, viewer.account_id)
    page = {
        "account": account,
        "users": users,
        "values": values or {},
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, "accounts.html", page, viewer=viewer, status=400 if errors else 200)


@router.post("/accounts/users")
async def add_account_user(
    request: Request, session: Session, viewer: Viewer, form: Form
) -> Response:
    context = context_of(request)
    email = field(form, "email").strip()
    try:
        account = await get_account(session, viewer.account_id)
        await add_user(
            session,
            context.clock,
            account,
            email=email,
            password=field(form, "password"),
            passwords=context.passwords,
        )
    except (ValidationFailed, AlreadyExists) as error:
        await session.rollback()
        errors = form_errors(error, {"/email": "email", "/password": "password"})
        return await _accounts(request, session, viewer, values={"email": email}, errors=errors)
    return await _accounts(request, session, viewer, notice="user_added")


@router.get("/accounts/permissions")
async def permissions_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "permissions.html", viewer=viewer)


PASSWORD_FIELDS = {
    "/currentPassword": "current_password",
    "/newPassword": "new_password",
    "/confirmPassword": "confirm_password",
}


@router.get("/accounts/password")
async def password_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "password.html", {"errors": {}}, viewer=viewer)


@router.post("/accounts/password")
async def change_account_password(
    request: Request, session: Session, viewer: Viewer, form: Form
) -> Response:
    """Checking the current password is a log-in attempt: counted first, as on the log-in
    page, so a stolen session cannot guess at it."""
    context = context_of(request)
    key = email_key(viewer.email)
    if not await context.rate_limiter.attempt(key, ATTEMPTS_PER_EMAIL, THROTTLE_SECONDS):
        page = {"errors": {}, "error": "throttled"}
        return render(request, "password.html", page, viewer=viewer, status=429)
    try:
        await change_password(
            session,
            context.passwords,
            viewer,
            request.cookies.get(SESSION_COOKIE, ""),
            current=field(form, "current_password"),
            new=field(form, "new_password"),
            confirm=field(form, "confirm_password"),
        )
    except ValidationFailed as error:
        await session.rollback()
        page = {"errors": form_errors(error, PASSWORD_FIELDS)}
        return render(request, "password.html", page, viewer=viewer, status=400)
    await context.rate_limiter.forget(key, ATTEMPTS_PER_EMAIL, THROTTLE_SECONDS)
    page = {"errors": {}, "notice": "password_changed"}
    return render(request, "password.html", page, viewer=viewer)


@router.get("/accounts/users/{user_id}/remove")
async def remove_user_page(
    request: Request, session: Session, viewer: Viewer, user_id: str
) -> Response:
    user = await _user_of(session, viewer, user_id)
    return render(request, "user_remove.html", {"user": user}, viewer=viewer)


@router.post("/accounts/users/{user_id}/remove")
async def remove_account_user(
    request: Request, session: Session, viewer: Viewer, form: Form, user_id: str
) -> Response:
    try:
        user = await remove_user(session, viewer.account_id, user_id)
    except LastUser:
        await session.rollback()
        user = await _user_of(session, viewer, user_id)
        page = {"user": user, "error": "last_user"}
        return render(request, "user_remove.html", page, viewer=viewer, status=409)
    if user.id != viewer.user_id:
        return await _accounts(request, session, viewer, notice="user_removed")
    response = redirect("/login")  # their own session ended with them
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=True, httponly=True)
    return response


async def _user_of(session: Session, viewer: LoggedIn, user_id: str) -> User:
    found = [u for u in await list_users(session, viewer.account_id) if u.id == user_id]
    if not found:
        raise NotFound(f"No user {user_id}")
    return found[0]
