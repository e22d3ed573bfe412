"""The customer web portal under /portal: server-rendered (Jinja2), enhanced by htmx.

Pages call the same services as /v3; the API gate and idempotency middleware cover only
/v3, so the portal authenticates with its own session cookie (see `web`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from rcsgate.portal.errors import install_error_pages
from rcsgate.portal.pages import accounts, auth, brands, keys, traffic, usage, webhooks
from rcsgate.portal.web import PREFIX

STATIC = Path(__file__).parent / "static"


def install_portal(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for section in (
        auth.router,
        accounts.router,
        keys.router,
        brands.router,
        traffic.router,
        usage.router,
        webhooks.router,
    ):
        router.include_router(section)
    app.include_router(router)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="portal-static")
    install_error_pages(app)
