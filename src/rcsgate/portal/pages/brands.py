"""Brands and agents: list, create, edit, request launch, launch status per operator.

Forms post camelCase field names, the same as the /v3 bodies, so the API's schemas validate
them and their error pointers (`/displayName`) name the form field directly. An empty field
means "not given" (on an agent's edit form: cleared).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from rcsgate.agents.schemas import AgentCreate, AgentFields, AgentUpdate
from rcsgate.agents.service import (
    AgentAlreadyLaunched,
    AgentView,
    create_agent,
    get_agent,
    launch_agent,
    list_agents,
    update_agent,
)
from rcsgate.brands.schemas import BrandCreate, BrandUpdate
from rcsgate.brands.service import create_brand, get_brand, list_brands, update_brand
from rcsgate.dependencies import Session, context_of
from rcsgate.errors import NotFound, RcsgateError
from rcsgate.kit.pagination import MAX_LIMIT, PageParams
from rcsgate.portal.errors import form_errors, from_validation
from rcsgate.portal.web import Form, Viewer, redirect, render

router = APIRouter()
ALL = PageParams(limit=MAX_LIMIT)
BRAND_FIELDS = list(BrandCreate.model_fields)
BRAND_EDIT_FIELDS = list(BrandUpdate.model_fields)
UPDATE_FIELDS = ["display_name", "use_case", *AgentFields.model_fields]
AGENT_FIELDS = ["agent_name", *UPDATE_FIELDS]
USE_CASES = ["MultiUse", "Transactional", "Promotional", "OTP"]
M = TypeVar("M", bound=BaseModel)


def _alias(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name


def _values(form: FormData, model: type[BaseModel], names: list[str]) -> dict[str, str]:
    """The form's fields by alias, trimmed; empty ones are left out."""
    values = {}
    for name in names:
        alias = _alias(model, name)
        value = form.get(alias)
        if isinstance(value, str) and value.strip():
            values[alias] = value.strip()
    return values


def _errors(error: RcsgateError, model: type[BaseModel], names: list[str]) -> dict[str, str]:
    aliases = [_alias(model, name) for name in names]
    return form_errors(error, {"/" + alias: alias for alias in aliases}, default=aliases[0])


def _parse(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def _agent_values(view: AgentView) -> dict[str, str]:
    agent = view.agent
    return {
        _alias(AgentCreate, name): str(getattr(agent, name) or "")
        for name in AGENT_FIELDS
        if hasattr(agent, name)
    }


@router.get("/brands")
async def brands_page(request: Request, session: Session, viewer: Viewer) -> Response:
    return await _brands(request, session, viewer)


async def _brands(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    brands = (await list_brands(session, viewer.account_id, ALL)).items
    page = {"brands": brands, "values": values or {}, "errors": errors or {}}
    return render(request, "brands.html", page, viewer=viewer, status=400 if errors else 200)


@router.post("/brands")
async def add_brand(request: Request, session: Session, viewer: Viewer, form: Form) -> Response:
    values = _values(form, BrandCreate, BRAND_FIELDS)
    try:
        data = _parse(BrandCreate, values)
        brand = await create_brand(session, context_of(request).clock, viewer.account_id, data)
    except RcsgateError as error:
        await session.rollback()
        errors = _errors(error, BrandCreate, BRAND_FIELDS)
        return await _brands(request, session, viewer, values, errors)
    return redirect(f"/brands/{brand.brand_name}")


@router.get("/brands/{brand_name}")
async def brand_page(
    request: Request, session: Session, viewer: Viewer, brand_name: str
) -> Response:
    return await _brand(request, session, viewer, brand_name)


async def _brand(
    request: Request,
    session: Session,
    viewer: Viewer,
    brand_name: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    brand = await get_brand(session, viewer.account_id, brand_name)
    _page, agents = await list_agents(session, viewer.account_id, brand.brand_name, ALL)
    page = {
        "brand": brand,
        "agents": agents,
        "values": values or {"useCase": "MultiUse"},
        "errors": errors or {},
        "use_cases": USE_CASES,
    }
    return render(request, "brand.html", page, viewer=viewer, status=400 if errors else 200)


@router.get("/brands/{brand_name}/edit")
async def brand_edit_page(
    request: Request, session: Session, viewer: Viewer, brand_name: str
) -> Response:
    return await _brand_edit(request, session, viewer, brand_name)


@router.post("/brands/{brand_name}/edit")
async def edit_brand(
    request: Request, session: Session, viewer: Viewer, form: Form, brand_name: str
) -> Response:
    """Every field of the form is sent: an emptied website or logo is cleared."""
    given = _values(form, BrandUpdate, BRAND_EDIT_FIELDS)
    patch = {_alias(BrandUpdate, name): None for name in BRAND_EDIT_FIELDS} | given
    try:
        data = _parse(BrandUpdate, patch)
        await update_brand(session, viewer.account_id, brand_name, data)
    except NotFound:
        raise  # the 404 page, not a form error
    except RcsgateError as error:
        await session.rollback()
        errors = _errors(error, BrandUpdate, BRAND_EDIT_FIELDS)
        return await _brand_edit(request, session, viewer, brand_name, given, errors)
    return redirect(f"/brands/{brand_name}")


async def _brand_edit(
    request: Request,
    session: Session,
    viewer: Viewer,
    brand_name: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    brand = await get_brand(session, viewer.account_id, brand_name)
    if values is None:
        values = {
            _alias(BrandUpdate, name): str(getattr(brand, name) or "") for name in BRAND_EDIT_FIELDS
        }
    page = {"brand": brand, "values": values, "errors": errors or {}}
    return render(request, "brand_edit.html", page, viewer=viewer, status=400 if errors else 200)


@router.post("/brands/{brand_name}/agents")
async def add_agent(
    request: Request, session: Session, viewer: Viewer, form: Form, brand_name: str
) -> Response:
    values = _values(form, AgentCreate, AGENT_FIELDS)
    try:
        data = _parse(AgentCreate, values)
        clock = context_of(request).clock
        view = await create_agent(session, clock, viewer.account_id, brand_name, data)
    except NotFound:
        raise  # the 404 page, not a form error
    except RcsgateError as error:
        await session.rollback()
        errors = _errors(error, AgentCreate, AGENT_FIELDS)
        return await _brand(request, session, viewer, brand_name, values, errors)
    return redirect(f"/brands/{view.brand.brand_name}/agents/{view.agent.agent_name}")


AGENT = "/brands/{brand_name}/agents/{agent_name}"


@router.get(AGENT)
async def agent_page(
    request: Request, session: Session, viewer: Viewer, brand_name: str, agent_name: str
) -> Response:
    return await _agent(request, session, viewer, brand_name, agent_name)


async def _agent(
    request: Request,
    session: Session,
    viewer: Viewer,
    brand_name: str,
    agent_name: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    view = await get_agent(session, viewer.account_id, brand_name, agent_name)
    page = {
        "view": view,
        "values": values if values is not None else _agent_values(view),
        "errors": errors or {},
        "notice": notice,
        "use_cases": USE_CASES,
    }
    return render(request, "agent.html", page, viewer=viewer, status=400 if errors else 200)


@router.post(AGENT)
async def edit_agent(
    request: Request,
    session: Session,
    viewer: Viewer,
    form: Form,
    brand_name: str,
    agent_name: str,
) -> Response:
    """Every field of the form is sent: an emptied optional field is cleared."""
    given = _values(form, AgentUpdate, UPDATE_FIELDS)
    optional = [_alias(AgentUpdate, name) for name in AgentFields.model_fields]
    patch: dict[str, Any] = {alias: given.get(alias) for alias in optional}
    patch |= {k: v for k, v in given.items() if k not in optional}
    try:
        data = _parse(AgentUpdate, patch)
        clock = context_of(request).clock
        await update_agent(session, clock, viewer.account_id, brand_name, agent_name, data)
    except NotFound:
        raise  # the 404 page, not a form error
    except RcsgateError as error:
        await session.rollback()
        errors = _errors(error, AgentUpdate, UPDATE_FIELDS)
        return await _agent(
            request, session, viewer, brand_name, agent_name, values=given, errors=errors
        )
    return await _agent(request, session, viewer, brand_name, agent_name, notice="saved")


@router.post(AGENT + "/launch")
async def request_launch(
    request: Request,
    session: Session,
    viewer: Viewer,
    form: Form,
    brand_name: str,
    agent_name: str,
) -> Response:
    context = context_of(request)
    with suppress(AgentAlreadyLaunched):  # the page shows it launched
        await launch_agent(
            session,
            context.clock,
            viewer.account_id,
            brand_name,
            agent_name,
            context.settings.operators,
        )
    return redirect(f"/brands/{brand_name}/agents/{agent_name}")
