"""Sign-up, log-in, sessions, CSRF and throttling, without a browser."""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from rcsgate.accounts.service import SESSION_LIFETIME
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.kit.crypto import Passwords
from rcsgate.models import PortalSession, User
from rcsgate.portal.pages.auth import (
    ATTEMPTS_PER_ADDRESS,
    ATTEMPTS_PER_EMAIL,
    SIGNUPS_PER_ADDRESS,
)
from tests.conftest import ClientFactory
from tests.portal.helpers import PASSWORD, csrf_of, log_in, sign_up, submit

PAGES = ["/portal/", "/portal/accounts", "/portal/accounts/permissions/keys"]


class TestSignUp:
    async def test_signs_in_with_a_secure_session_cookie(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client, "Owner@Example.com")
        cookie = browser_client.cookies.jar
        session = next(c for c in cookie if c.name == "rcsgate_session")
        assert session.secure
        assert session.path == "/portal"
        page = await browser_client.get("/portal/accounts")
        assert page.status_code == 200
        assert "owner@example.com" in page.text
        assert "Min Butik AB" in page.text

    async def test_set_cookie_is_httponly_and_lax(self, browser_client: httpx.AsyncClient) -> None:
        response = await submit(
            browser_client,
            "/portal/signup",
            "/portal/signup",
            {"name": "A", "email": "a@example.com", "password": PASSWORD},
        )
        header = response.headers["set-cookie"].lower()
        assert "rcsgate_session=" in header
        assert "httponly" in header
        assert "secure" in header
        assert "samesite=lax" in header

    async def test_short_password_is_shown_against_its_field(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        response = await submit(
            browser_client,
            "/portal/signup",
            "/portal/signup",
            {"name": "A", "email": "a@example.com", "password": "short"},
        )
        assert response.status_code == 400
        assert 'aria-describedby="password-hint password-error"' in response.text
        assert 'id="password-error"' in response.text
        assert "rcsgate_session" not in browser_client.cookies

    async def test_an_e_mail_signs_up_once(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client, "once@example.com")
        response = await submit(
            client_for(),
            "/portal/signup",
            "/portal/signup",
            {"name": "B", "email": "once@example.com", "password": PASSWORD},
        )
        assert response.status_code == 400
        assert 'id="email-error"' in response.text

    async def test_sign_ups_from_one_address_are_throttled(self, client_for: ClientFactory) -> None:
        for _ in range(SIGNUPS_PER_ADDRESS):
            await sign_up(client_for(peer="198.51.100.20"))
        refused = await submit(
            client_for(peer="198.51.100.20"),
            "/portal/signup",
            "/portal/signup",
            {"name": "A", "email": "late@example.com", "password": PASSWORD},
        )
        assert refused.status_code == 429
        assert "Too many sign-ups from this address" in refused.text
        await sign_up(client_for(peer="198.51.100.21"))


class TestSession:
    @pytest.mark.parametrize("path", PAGES)
    async def test_pages_need_a_session(self, browser_client: httpx.AsyncClient, path: str) -> None:
        response = await browser_client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/portal/login"

    async def test_a_made_up_cookie_is_no_session(self, browser_client: httpx.AsyncClient) -> None:
        browser_client.cookies.set("rcsgate_session", "guessed", path="/portal")
        response = await browser_client.get("/portal/accounts")
        assert response.status_code == 303

    async def test_log_out_ends_the_session_on_the_server(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        token = browser_client.cookies["rcsgate_session"]
        page = await browser_client.get("/portal/accounts")
        response = await browser_client.post("/portal/logout", data={"csrf": csrf_of(page.text)})
        assert response.status_code == 303
        assert "rcsgate_session" not in browser_client.cookies
        replayed = client_for()
        replayed.cookies.set("rcsgate_session", token, path="/portal")
        assert (await replayed.get("/portal/accounts")).status_code == 303

    async def test_a_session_expires(
        self, browser_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await sign_up(browser_client)
        assert (await browser_client.get("/portal/accounts")).status_code == 200
        clock.advance(SESSION_LIFETIME.total_seconds())
        assert (await browser_client.get("/portal/accounts")).status_code == 303

    async def test_expired_sessions_are_deleted_at_the_next_log_in(
        self,
        browser_client: httpx.AsyncClient,
        client_for: ClientFactory,
        clock: FakeClock,
        context: AppContext,
    ) -> None:
        email = await sign_up(browser_client)
        clock.advance(SESSION_LIFETIME.total_seconds())
        await log_in(client_for(), email)
        async with context.sessionmaker() as session:
            rows = await session.scalars(select(PortalSession.expires_at))
            assert [expiry > clock.now() for expiry in rows] == [True]

    async def test_the_api_gate_does_not_cover_the_portal(self, client_for: ClientFactory) -> None:
        response = await client_for().get("/portal/login")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")


class TestCsrf:
    async def test_log_in_without_the_token_is_refused(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        email = await sign_up(browser_client)
        anonymous = browser_client
        anonymous.cookies.clear()
        await anonymous.get("/portal/login")
        response = await anonymous.post(
            "/portal/login", data={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 403

    async def test_a_token_that_does_not_match_the_cookie_is_refused(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await browser_client.get("/portal/signup")
        response = await browser_client.post(
            "/portal/signup",
            data={"csrf": "wrong", "name": "A", "email": "a@example.com", "password": PASSWORD},
        )
        assert response.status_code == 403
        assert "rcsgate_session" not in browser_client.cookies

    @pytest.mark.parametrize(
        "action",
        ["/portal/logout", "/portal/accounts/users", "/portal/accounts/permissions/keys"],
    )
    @pytest.mark.parametrize("token", [None, "wrong"])
    async def test_every_logged_in_form_checks_it(
        self, browser_client: httpx.AsyncClient, action: str, token: str | None
    ) -> None:
        await sign_up(browser_client)
        data = {"name": "k", "email": "x@example.com", "password": PASSWORD}
        if token is not None:
            data["csrf"] = token
        response = await browser_client.post(action, data=data)
        assert response.status_code == 403
        keys = await browser_client.get("/portal/accounts/permissions/keys")
        assert keys.status_code == 200, "the session is still live"
        assert 'data-key="k"' not in keys.text

    async def test_another_sessions_token_is_refused(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        other = client_for()
        await sign_up(other)
        others_token = csrf_of((await other.get("/portal/accounts")).text)
        response = await browser_client.post("/portal/logout", data={"csrf": others_token})
        assert response.status_code == 403


class TestLogIn:
    async def test_right_password_logs_in(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        other = client_for()
        response = await log_in(other, email.upper())
        assert response.status_code == 303
        assert response.headers["location"] == "/portal/accounts"
        assert (await other.get("/portal/accounts")).status_code == 200

    async def test_wrong_password_says_so_without_telling_which(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        wrong = await log_in(client_for(), email, "not the password")
        unknown = await log_in(client_for(), "nobody@example.com")
        assert wrong.status_code == unknown.status_code == 400
        assert "Wrong e-mail or password." in wrong.text
        assert "Wrong e-mail or password." in unknown.text

    async def test_repeated_failures_for_an_e_mail_are_throttled(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        attacker = client_for(peer="198.51.100.1")
        for _ in range(ATTEMPTS_PER_EMAIL):
            assert (await log_in(attacker, email, "guess")).status_code == 400
        # Even the right password waits, and from another address too.
        blocked = await log_in(client_for(peer="198.51.100.2"), email)
        assert blocked.status_code == 429
        assert "Too many failed log-ins" in blocked.text

    async def test_repeated_failures_from_an_address_are_throttled(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        attacker = client_for(peer="198.51.100.3")
        for attempt in range(ATTEMPTS_PER_ADDRESS):
            response = await log_in(attacker, f"user{attempt}@example.com", "guess")
            assert response.status_code == 400
        assert (await log_in(attacker, email)).status_code == 429
        assert (await log_in(client_for(peer="198.51.100.4"), email)).status_code == 303


class TestUsers:
    async def test_a_second_user_shares_the_account(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        added = await submit(
            browser_client,
            "/portal/accounts",
            "/portal/accounts/users",
            {"email": "colleague@example.com", "password": PASSWORD},
        )
        assert added.status_code == 200
        assert "colleague@example.com" in added.text
        owner_page = (await browser_client.get("/portal/accounts")).text
        colleague = client_for()
        assert (await log_in(colleague, "colleague@example.com")).status_code == 303
        colleague_page = (await colleague.get("/portal/accounts")).text
        account_id = owner_page.split("<code>")[1].split("</code>")[0]
        assert f"<code>{account_id}</code>" in colleague_page


class TestLanguage:
    async def test_accept_language_picks_swedish(self, client_for: ClientFactory) -> None:
        page = await client_for().get(
            "/portal/login", headers={"Accept-Language": "sv-SE,en;q=0.5"}
        )
        assert '<html lang="sv">' in page.text
        assert "Logga in" in page.text

    async def test_the_switch_remembers_the_choice(self, browser_client: httpx.AsyncClient) -> None:
        switched = await browser_client.get("/portal/language/sv?back=/portal/signup")
        assert switched.status_code == 303
        assert switched.headers["location"] == "/portal/signup"
        page = await browser_client.get("/portal/signup", headers={"Accept-Language": "en"})
        assert "Skapa konto" in page.text

    async def test_the_switch_goes_back_only_within_the_portal(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        switched = await browser_client.get("/portal/language/sv?back=https://evil.example/")
        assert switched.headers["location"] == "/portal/"


class GatedHasher(PasswordHasher):
    """argon2 whose verifications wait, in their threads, until the test opens the gate:
    if a verification ran on the event loop, nothing else could run until it ended."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.active = self.peak = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.entered.release()
        opened = self.gate.wait(10)
        with self.lock:
            self.active -= 1
        assert opened, "the gate was never opened: the event loop was held"
        return super().verify(hash, password)


class TestPasswordWork:
    async def test_log_ins_verify_off_the_event_loop_a_few_at_a_time(
        self,
        context: AppContext,
        client_for: ClientFactory,
        api: httpx.AsyncClient,
    ) -> None:
        hasher = GatedHasher()
        context.passwords = Passwords(2, hasher=hasher)
        attempts = [
            asyncio.create_task(log_in(client_for(), f"nobody{n}@example.com", "wrong guess"))
            for n in range(6)
        ]
        for _ in range(2):  # two verifications are running, in their threads
            assert await asyncio.to_thread(hasher.entered.acquire, timeout=10)

        account = await api.get("/v3/account")  # the event loop serves others meanwhile

        assert account.status_code == 200
        assert not any(a.done() for a in attempts)
        hasher.gate.set()
        assert [r.status_code for r in await asyncio.gather(*attempts)] == [400] * 6
        assert hasher.peak == 2  # the pool's size bounds the work at once
        context.passwords.close()


class TestThrottleUnderBursts:
    """Attempts at once, as an attacker sends them: each is counted before its work, so no
    more than the limit get through (in memory, and in Redis on the PostgreSQL pass)."""

    async def test_thirty_wrong_passwords_at_once_check_only_five(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        burst = [
            log_in(client_for(peer=f"198.51.100.{n}"), email, "a wrong guess") for n in range(30)
        ]
        codes = [r.status_code for r in await asyncio.gather(*burst)]
        assert sorted(codes) == [400] * ATTEMPTS_PER_EMAIL + [429] * (30 - ATTEMPTS_PER_EMAIL)

    async def test_thirty_log_ins_at_once_from_one_address_check_only_twenty(
        self, client_for: ClientFactory
    ) -> None:
        attacker = "198.51.100.60"
        burst = [
            log_in(client_for(peer=attacker), f"user{n}@example.com", "guess") for n in range(30)
        ]
        codes = [r.status_code for r in await asyncio.gather(*burst)]
        expected = [400] * ATTEMPTS_PER_ADDRESS + [429] * (30 - ATTEMPTS_PER_ADDRESS)
        assert sorted(codes) == expected

    async def test_fifteen_sign_ups_at_once_make_only_ten_accounts(
        self, context: AppContext, client_for: ClientFactory
    ) -> None:
        burst = [
            submit(
                client_for(peer="198.51.100.70"),
                "/portal/signup",
                "/portal/signup",
                {"name": "A", "email": f"burst{n}@example.com", "password": PASSWORD},
            )
            for n in range(15)
        ]
        codes = [r.status_code for r in await asyncio.gather(*burst)]
        assert sorted(codes) == [303] * SIGNUPS_PER_ADDRESS + [429] * (15 - SIGNUPS_PER_ADDRESS)
        async with context.sessionmaker() as session:
            made = await session.scalar(
                select(func.count()).select_from(User).where(User.email.like("burst%"))
            )
        assert made == SIGNUPS_PER_ADDRESS

    async def test_a_successful_log_in_does_not_use_up_the_e_mail(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        email = await sign_up(browser_client)
        for _ in range(ATTEMPTS_PER_EMAIL + 1):
            assert (await log_in(client_for(), email)).status_code == 303
