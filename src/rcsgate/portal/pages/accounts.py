"""Accounts and Permissions (the first steps of the iP.1 portal path), and the account's users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.accounts.service import add_user, get_account, list_users
from rcsgate.dependencies import Session, context_of
from rcsgate.errors import AlreadyExists, ValidationFailed
from rcsgate.portal.errors import form_errors
from rcsgate.portal.web import Form, Viewer, field, redirect, render

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
