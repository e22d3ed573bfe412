"""Accounts → Permissions → API keys: list, add (the token shown once), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.dependencies import Session, context_of
from rcsgate.errors import NotFound, ValidationFailed
from rcsgate.keys.service import create_key, list_keys, revoke_key
from rcsgate.portal.errors import form_errors
from rcsgate.portal.web import Form, Viewer, field, redirect, render

router = APIRouter()
KEYS = "/accounts/permissions/keys"


@router.get(KEYS)
async def keys_page(request: Request, session: Session, viewer: Viewer) -> Response:
    keys = await list_keys(session, viewer.account_id)
    return render(request, "keys.html", {"keys": keys}, viewer=viewer)


@router.get(KEYS + "/new")
async def new_key_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "key_new.html", {"values": {}, "errors": {}}, viewer=viewer)


@router.post(KEYS)
async def add_key(request: Request, session: Session, viewer: Viewer, form: Form) -> Response:
    context = context_of(request)
    values = {"name": field(form, "name"), "allowed_ips": field(form, "allowed_ips")}
    ips = [part for part in values["allowed_ips"].replace(",", " ").split() if part]
    try:
        key, token = await create_key(
            session,
            context.clock,
            account_id=viewer.account_id,
            name=values["name"],
            allowed_ips=ips,
        )
    except ValidationFailed as error:
        errors = form_errors(error, {"/name": "name", "/allowedIps": "allowed_ips"})
        page = {"values": values, "errors": errors}
        return render(request, "key_new.html", page, viewer=viewer, status=400)
    # The token is in this response only: no redirect, so it never lands in a URL or a log.
    return render(
        request, "key_created.html", {"key": key, "token": token}, viewer=viewer, status=201
    )


@router.get(KEYS + "/{key_id}/revoke")
async def revoke_key_page(
    request: Request, session: Session, viewer: Viewer, key_id: str
) -> Response:
    key = next((k for k in await list_keys(session, viewer.account_id) if k.id == key_id), None)
    if key is None or key.revoked_at is not None:
        return redirect(KEYS)
    return render(request, "key_revoke.html", {"key": key}, viewer=viewer)


@router.post(KEYS + "/{key_id}/revoke")
async def revoke_account_key(
    request: Request, session: Session, viewer: Viewer, form: Form, key_id: str
) -> Response:
    context = context_of(request)
    try:
        await revoke_key(session, context.clock, viewer.account_id, key_id)
    except NotFound:
        return redirect(KEYS)
    # This process forgets it now; others within RCSGATE_KEY_CACHE_SECONDS (keys/cache.py).
    context.key_cache.forget_key(key_id)
    return redirect(KEYS)
