"""A user's password change and the removal of an account's users, without a browser."""

from __future__ import annotations

import asyncio
import re

import httpx
from sqlalchemy import func, select

from rcsgate.context import AppContext
from rcsgate.models import PortalSession, User
from rcsgate.portal.pages.auth import ATTEMPTS_PER_EMAIL
from tests.conftest import ClientFactory
from tests.portal.helpers import PASSWORD, csrf_of, log_in, sign_up, submit

PASSWORD_PAGE = "/portal/accounts/password"
NEW_PASSWORD = "a brand new passphrase"
COLLEAGUE = "colleague@example.com"


async def change(
    client: httpx.AsyncClient, current: str, new: str, confirm: str | None = None
) -> httpx.Response:
    values = {
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }
    return await submit(client, PASSWORD_PAGE, PASSWORD_PAGE, values)


async def add_colleague(client: httpx.AsyncClient, email: str = COLLEAGUE) -> None:
    added = await submit(
        client, "/portal/accounts", "/portal/accounts/users", {"email": email, "password": PASSWORD}
    )
    assert added.status_code == 200, added.text


async def remove_path(client: httpx.AsyncClient, email: str) -> str:
    """The remove link of `email` on the accounts page."""
    page = (await client.get("/portal/accounts")).text
    found = re.search(
        rf'href="(/portal/accounts/users/[^/"]+/remove)" aria-label="[^"]* {email}"', page
    )
    assert found, f"no remove link for {email}"
    return found.group(1)


async def remove(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await submit(client, path, path, {})


async def logged_in(client: httpx.AsyncClient) -> bool:
    response = await client.get("/portal/accounts")
    return response.status_code == 200


class TestPasswordChange:
    async def test_changes_it_and_ends_the_users_other_sessions(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        elsewhere = client_for()
        assert (await log_in(elsewhere, email)).status_code == 303

        changed = await change(browser_client, PASSWORD, NEW_PASSWORD)

        assert changed.status_code == 200
        assert "Password changed." in changed.text
        assert await logged_in(browser_client)  # this session goes on
        assert not await logged_in(elsewhere)  # the other is over at once
        assert (await log_in(client_for(), email)).status_code == 400
        assert (await log_in(client_for(), email, NEW_PASSWORD)).status_code == 303

    async def test_a_wrong_current_password_changes_nothing(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        refused = await change(browser_client, "not my password", NEW_PASSWORD)
        assert refused.status_code == 400
        assert 'id="current_password-error"' in refused.text
        assert (await log_in(client_for(), email)).status_code == 303

    async def test_the_new_password_must_be_typed_twice_alike_and_be_long_enough(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client)
        mismatch = await change(browser_client, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
        assert mismatch.status_code == 400
        assert 'id="confirm_password-error"' in mismatch.text
        short = await change(browser_client, PASSWORD, "short")
        assert short.status_code == 400
        assert 'id="new_password-error"' in short.text

    async def test_guesses_at_the_current_password_are_throttled(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client)
        for _ in range(ATTEMPTS_PER_EMAIL):
            assert (await change(browser_client, "a guess", NEW_PASSWORD)).status_code == 400
        blocked = await change(browser_client, PASSWORD, NEW_PASSWORD)
        assert blocked.status_code == 429

    async def test_needs_the_forms_csrf_token(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        values = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        forged = await browser_client.post(
            PASSWORD_PAGE, data={**values, "confirm_password": NEW_PASSWORD}
        )
        assert forged.status_code == 403
        assert (await log_in(client_for(), email)).status_code == 303  # unchanged

    async def test_in_swedish(self, browser_client: httpx.AsyncClient) -> None:
        await sign_up(browser_client)
        page = await browser_client.get(PASSWORD_PAGE, headers={"Accept-Language": "sv"})
        assert "Byt lösenord" in page.text
        assert "Nuvarande lösenord" in page.text


class TestUserRemoval:
    async def test_a_user_removes_a_colleague_whose_sessions_end_at_once(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        await add_colleague(browser_client)
        colleague = client_for()
        assert (await log_in(colleague, COLLEAGUE)).status_code == 303
        path = await remove_path(browser_client, COLLEAGUE)
        confirm = await browser_client.get(path)
        assert f"Remove {COLLEAGUE}?" in confirm.text

        removed = await remove(browser_client, path)

        assert removed.status_code == 200
        assert "User removed." in removed.text
        assert COLLEAGUE not in removed.text
        assert not await logged_in(colleague)
        assert (await log_in(client_for(), COLLEAGUE)).status_code == 400

    async def test_a_user_removes_themselves_and_is_logged_out(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        owner = await sign_up(browser_client)
        await add_colleague(browser_client)
        colleague = client_for()
        await log_in(colleague, COLLEAGUE)
        path = await remove_path(colleague, COLLEAGUE)

        removed = await remove(colleague, path)

        assert removed.status_code == 303
        assert removed.headers["location"] == "/portal/login"
        assert not await logged_in(colleague)
        page = (await browser_client.get("/portal/accounts")).text
        assert owner in page
        assert COLLEAGUE not in page

    async def test_never_the_last_user(
        self, context: AppContext, browser_client: httpx.AsyncClient
    ) -> None:
        email = await sign_up(browser_client)
        page = (await browser_client.get("/portal/accounts")).text
        assert "/remove" not in page  # no link to offer
        async with context.sessionmaker() as session:
            user_id = await session.scalar(select(User.id).where(User.email == email))
        path = f"/portal/accounts/users/{user_id}/remove"

        refused = await remove(browser_client, path)

        assert refused.status_code == 409
        assert "An account keeps at least one user." in refused.text
        assert await logged_in(browser_client)  # the session survived the refusal

    async def test_two_users_removing_each_other_at_once_leave_one(
        self, context: AppContext, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        owner = await sign_up(browser_client)
        await add_colleague(browser_client)
        colleague = client_for()
        await log_in(colleague, COLLEAGUE)
        owner_path = await remove_path(colleague, owner)
        colleague_path = await remove_path(browser_client, COLLEAGUE)
        forms = [await browser_client.get(colleague_path), await colleague.get(owner_path)]
        posts = [
            browser_client.post(colleague_path, data={"csrf": csrf_of(forms[0].text)}),
            colleague.post(owner_path, data={"csrf": csrf_of(forms[1].text)}),
        ]

        codes = sorted(r.status_code for r in await asyncio.gather(*posts))

        assert codes in ([200, 303], [200, 409])  # the loser was logged out, or refused
        async with context.sessionmaker() as session:
            left = await session.scalars(
                select(User.email).where(User.email.in_([owner, COLLEAGUE]))
            )
            assert len(left.all()) == 1

    async def test_another_accounts_user_is_not_found(
        self, context: AppContext, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        victim = await sign_up(browser_client)
        await add_colleague(browser_client)
        path = await remove_path(browser_client, victim)
        stranger = client_for()
        await sign_up(stranger)
        assert (await stranger.get(path)).status_code == 404
        forged = await stranger.post(
            path, data={"csrf": csrf_of((await stranger.get("/portal/accounts")).text)}
        )
        assert forged.status_code == 404
        assert await logged_in(browser_client)

    async def test_needs_the_forms_csrf_token(
        self, context: AppContext, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client)
        await add_colleague(browser_client)
        path = await remove_path(browser_client, COLLEAGUE)
        assert (await browser_client.post(path, data={})).status_code == 403
        assert COLLEAGUE in (await browser_client.get("/portal/accounts")).text
        async with context.sessionmaker() as session:
            sessions = await session.scalar(select(func.count()).select_from(PortalSession))
        assert sessions == 1

    async def test_in_swedish(self, browser_client: httpx.AsyncClient) -> None:
        await sign_up(browser_client)
        await add_colleague(browser_client)
        path = await remove_path(browser_client, COLLEAGUE)
        page = await browser_client.get(path, headers={"Accept-Language": "sv"})
        assert f"Ta bort {COLLEAGUE}?" in page.text
