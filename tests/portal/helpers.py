"""Driving the portal's forms over the ASGI app, as a browser without JavaScript would."""

from __future__ import annotations

import re
import uuid

import httpx

PASSWORD = "correct horse battery"
KEYS = "/portal/accounts/permissions/keys"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def submit(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Loads `page`, then posts its form to `action` with the page's CSRF token."""
    form = await client.get(page)
    assert form.status_code == 200, form.text
    return await client.post(action, data={"csrf": csrf_of(form.text), **data})


async def sign_up(client: httpx.AsyncClient, email: str | None = None) -> str:
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    response = await submit(
        client,
        "/portal/signup",
        "/portal/signup",
        {"name": "Min Butik AB", "email": email, "password": PASSWORD},
    )
    assert response.status_code == 303, response.text
    return email


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await submit(
        client, "/portal/login", "/portal/login", {"email": email, "password": password}
    )


async def add_key(client: httpx.AsyncClient, name: str, allowed_ips: str = "") -> httpx.Response:
    return await submit(client, KEYS + "/new", KEYS, {"name": name, "allowed_ips": allowed_ips})


def token_of(html: str) -> str:
    found = re.search(r'id="token" type="text" value="(rcs_[^"]+)"', html)
    assert found, "no token on the page"
    return found.group(1)


async def account_id_of(client: httpx.AsyncClient) -> str:
    page = (await client.get("/portal/accounts")).text
    return page.split("<code>")[1].split("</code>")[0]
