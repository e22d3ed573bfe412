"""The issue's path in a real browser (Debian's chromium, driven by Playwright), in English
and in Swedish: sign up, Accounts → Permissions → API keys → Add new key with an IP
restriction, use the key against /v3, see the use counted, revoke it, see it refused.

The app is served over HTTPS on a loopback port. A screenshot of every page visited is
written to var/screenshots/ (git-ignored).
"""

from __future__ import annotations

import shutil
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from rcsgate.app import create_app
from rcsgate.context import AppContext
from rcsgate.kit.serving import LocalServer
from rcsgate.kit.tls import ensure_self_signed
from rcsgate.portal.i18n import EN, SV
from tests.conftest import ClientFactory
from tests.fixtures.messaging import AGENT, BRAND
from tests.portal.helpers import PASSWORD
from tests.portal.traffic import Traffic, make_traffic

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (apt-get install chromium)"
)


@dataclass(frozen=True)
class Served:
    url: str
    certificate: Path

    def api(self, token: str) -> httpx.AsyncClient:
        """A /v3 client that trusts the server's self-signed certificate."""
        return httpx.AsyncClient(
            base_url=self.url,
            verify=ssl.create_default_context(cafile=str(self.certificate)),
            headers={"Authorization": f"Bearer {token}"},
        )


@pytest.fixture
async def served(context: AppContext, tmp_path: Path) -> AsyncIterator[Served]:
    cert, key = ensure_self_signed(tmp_path / "tls")
    server = LocalServer(
        create_app(context=context),
        options={"ssl_certfile": str(cert), "ssl_keyfile": str(key)},
    )
    await server.start()
    yield Served(server.url, cert)
    await server.aclose()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
            headless=True,
        )
        yield browser
        await browser.close()


@dataclass
class Visit:
    page: Page
    language: str
    count: int = 0

    async def shot(self, name: str) -> None:
        """A full-page screenshot, once the page's main heading is there."""
        await expect(self.page.locator("h1")).to_be_visible()
        self.count += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.language}-{self.count:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)


# Every form control has a label, headings do not skip a level, one h1, one main.
ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  for (const control of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!control.labels || control.labels.length === 0) problems.push("unlabelled " + control.id);
  }
  let previous = 0;
  for (const heading of document.querySelectorAll("h1, h2, h3, h4")) {
    const level = Number(heading.tagName[1]);
    if (level > previous + 1) problems.push("heading skips to " + heading.tagName);
    previous = level;
  }
  if (document.querySelectorAll("h1").length !== 1) problems.push("not one h1");
  if (document.querySelectorAll("main").length !== 1) problems.push("not one main");
  return problems;
}"""


async def sign_up_in(page: Page, url: str, t: dict[str, str]) -> str:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    await page.goto(url + "/portal/signup")
    await page.get_by_label(t["account_name"]).fill("Min Butik AB")
    await page.get_by_label(t["email"]).fill(email)
    await page.get_by_label(t["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=t["sign_up"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(t["accounts"])
    return email


@pytest.mark.parametrize("language", ["en", "sv"])
async def test_a_key_from_sign_up_to_revocation(
    browser: Browser, served: Served, language: str
) -> None:
    t = EN if language == "en" else SV
    context = await browser.new_context(ignore_https_errors=True, locale="en-GB")
    page = await context.new_page()
    visit = Visit(page, language)
    try:
        await page.goto(served.url + "/portal/signup")
        if language == "sv":
            await page.get_by_role("link", name="Svenska").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(t["sign_up"])
        await visit.shot("signup")
        await sign_up_in(page, served.url, t)
        await visit.shot("accounts")

        for step in ("permissions", "api_keys", "add_new_key"):
            await page.get_by_role("main").get_by_role("link", name=t[step], exact=True).click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(t[step])
            await visit.shot(step)

        await page.get_by_label(t["name"], exact=True).fill("webshop")
        await page.get_by_label(t["ip_restrictions"]).fill("10.0.0.7/8")
        await page.get_by_role("button", name=t["add"], exact=True).click()
        await expect(page.locator("#allowed_ips-error")).to_contain_text("10.0.0.7/8")
        await expect(page.get_by_label(t["ip_restrictions"])).to_have_attribute(
            "aria-describedby", "allowed_ips-hint allowed_ips-error"
        )
        await visit.shot("add-key-error")

        await page.get_by_label(t["ip_restrictions"]).fill("127.0.0.1\n192.0.2.0/24")
        await page.get_by_role("button", name=t["add"], exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(t["key_created"])
        token = await page.locator("#token").input_value()
        assert token.startswith("rcs_")
        await page.get_by_role("button", name=t["copy"]).click()
        await expect(page.get_by_role("button", name=t["copied"])).to_be_visible()
        await visit.shot("key-created")

        async with served.api(token) as api:
            assert (await api.get("/v3/account")).status_code == 200

            await page.get_by_role("link", name=t["back_to_keys"]).click()
            row = page.get_by_role("row").filter(has_text="webshop")
            await expect(row).to_contain_text("127.0.0.1/32, 192.0.2.0/24")
            await expect(row.locator(".last-used")).not_to_have_text(t["never"])
            await expect(row.locator(".status")).to_have_text(t["active"])
            await visit.shot("keys-used")

            await row.get_by_role("link", name=t["revoke"]).click()
            await visit.shot("revoke-confirm")
            await page.get_by_role("button", name=t["revoke"]).click()
            await expect(row.locator(".status")).to_have_text(t["revoked"])
            await visit.shot("keys-revoked")

            assert (await api.get("/v3/account")).status_code == 401

        await page.get_by_role("button", name=t["log_out"]).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(t["log_in"])
        await visit.shot("login")
    finally:
        await context.close()


async def portal_client(page: Page, client_for: ClientFactory) -> httpx.AsyncClient:
    """An ASGI client logged in with the browser's session (to set up data quickly)."""
    client = client_for()
    for cookie in await page.context.cookies():
        client.cookies.set(cookie["name"], cookie["value"], path=cookie["path"])
    return client


@asynccontextmanager
async def with_traffic(
    browser: Browser,
    served: Served,
    context: AppContext,
    client_for: ClientFactory,
    language: str,
) -> AsyncIterator[tuple[Page, Traffic]]:
    """A browser page in `language`, signed up, its account with traffic (tests.traffic)."""
    browser_context = await browser.new_context(
        ignore_https_errors=True, locale="sv-SE" if language == "sv" else "en-GB"
    )
    try:
        page = await browser_context.new_page()
        await sign_up_in(page, served.url, EN if language == "en" else SV)
        traffic = await make_traffic(await portal_client(page, client_for), client_for, context)
        yield page, traffic
    finally:
        await browser_context.close()


@pytest.mark.parametrize("language", ["en", "sv"])
async def test_bundle_progress_updates_without_a_reload(
    browser: Browser,
    served: Served,
    context: AppContext,
    client_for: ClientFactory,
    language: str,
) -> None:
    t = EN if language == "en" else SV
    async with with_traffic(browser, served, context, client_for, language) as (page, traffic):
        await page.goto(f"{served.url}/portal/bundles/{traffic.bundle_id}")
        await expect(page.locator('dd[data-status="Queued"]')).to_have_text("3")
        await page.evaluate("window.notReloaded = true")
        ids = await traffic.bundle_messages()
        await traffic.set_status(ids[:2], "Delivered")
        # htmx polls every 2 s; expect() waits for the swap (up to 5 s).
        await expect(page.locator('dd[data-status="Delivered"]')).to_have_text("2")
        await traffic.set_status(ids, "Read")
        await expect(page.locator(".finished")).to_have_text(t["finished"])
        await expect(page.locator("#progress")).not_to_have_attribute("hx-trigger", "every 2s")
        assert await page.evaluate("window.notReloaded") is True


TOUR = [
    ("accounts", "/portal/accounts"),
    ("password", "/portal/accounts/password"),
    ("permissions", "/portal/accounts/permissions"),
    ("keys", "/portal/accounts/permissions/keys"),
    ("brands", "/portal/brands"),
    ("brand", f"/portal/brands/{BRAND}"),
    ("brand-edit", f"/portal/brands/{BRAND}/edit"),
    ("agent", f"/portal/brands/{BRAND}/agents/{AGENT}"),
    ("conversations", "/portal/conversations"),
    ("conversation", "/portal/conversations/{conversation}"),
    ("bundles", "/portal/bundles"),
    ("bundle", "/portal/bundles/{bundle}"),
    ("messages", "/portal/messages"),
    ("message", "/portal/messages/{message}"),
    ("usage", "/portal/usage"),
    ("webhooks", "/portal/webhooks"),
]


@pytest.mark.parametrize("language", ["en", "sv"])
async def test_every_page_renders_accessibly(
    browser: Browser,
    served: Served,
    context: AppContext,
    client_for: ClientFactory,
    language: str,
) -> None:
    async with with_traffic(browser, served, context, client_for, language) as (page, traffic):
        visit = Visit(page, f"tour-{language}")
        ids = {
            "conversation": traffic.conversation_id,
            "bundle": traffic.bundle_id,
            "message": traffic.sent[1],
        }
        for name, path in TOUR:
            response = await page.goto(served.url + path.format(**ids))
            assert response is not None
            assert response.status == 200, path
            assert await page.evaluate(ACCESSIBILITY_PROBLEMS) == [], path
            await visit.shot(name)
