"""Webhooks in the portal: the account's URL, the signing secret, the delivery log."""

from __future__ import annotations

import re

import httpx

from rcsgate.context import AppContext
from rcsgate.webhooks.delivery import WebhookSender
from tests.conftest import ClientFactory
from tests.fixtures.webhooks import Receiver, receiver, webhook_client, webhook_sender
from tests.portal.helpers import csrf_of, sign_up, submit
from tests.portal.traffic import make_traffic

__all__ = ["receiver", "webhook_client", "webhook_sender"]
PAGE = "/portal/webhooks"


def secret_of(html: str) -> str:
    found = re.search(r'id="secret" type="text" value="(whsec_[^"]+)"', html)
    assert found, "no secret on the page"
    return found.group(1)


def delivery_ids(html: str) -> list[str]:
    return re.findall(r'href="/portal/webhooks/deliveries/([^"]+)"', html)


async def subscribe(client: httpx.AsyncClient, target: Receiver) -> None:
    saved = await submit(client, PAGE, PAGE + "/url", {"url": target.url})
    assert saved.status_code == 200
    assert f'value="{target.url}"' in saved.text
    page = await client.get(PAGE)
    assert "whsec_" not in page.text.replace("whsec_••••", ""), "hidden until revealed"
    revealed = await client.post(PAGE + "/secret/reveal", data={"csrf": csrf_of(page.text)})
    target.secrets = [secret_of(revealed.text)]


class TestSettings:
    async def test_a_bad_url_is_named_beside_its_field(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client)
        response = await submit(browser_client, PAGE, PAGE + "/url", {"url": "ftp://x"})
        assert response.status_code == 400
        assert 'id="url-error"' in response.text

    async def test_rotation_keeps_the_old_secret_signing_for_the_overlap(
        self, browser_client: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        await sign_up(browser_client)
        await subscribe(browser_client, receiver)
        rotated = await submit(browser_client, PAGE, PAGE + "/secret/rotate", {"overlap": "2"})
        assert rotated.status_code == 200
        assert secret_of(rotated.text) != receiver.secrets[0]
        assert 'id="previous"' in rotated.text
        bad = await submit(browser_client, PAGE, PAGE + "/secret/rotate", {"overlap": "-1"})
        assert bad.status_code == 400
        assert 'id="overlap-error"' in bad.text


class TestLog:
    async def test_deliveries_attempts_redeliver_and_replay(
        self,
        browser_client: httpx.AsyncClient,
        client_for: ClientFactory,
        context: AppContext,
        receiver: Receiver,
        webhook_sender: WebhookSender,
    ) -> None:
        await sign_up(browser_client)
        await subscribe(browser_client, receiver)
        await make_traffic(browser_client, client_for, context)
        await webhook_sender.run_until_idle()
        log = await browser_client.get(PAGE)
        ids = delivery_ids(log.text)
        assert ids, "the traffic's events are listed"
        assert len(receiver.received) == len(ids)
        started = await browser_client.get(PAGE, params={"type": "conversation.started"})
        assert 1 <= len(delivery_ids(started.text)) < len(ids)

        one = await browser_client.get(f"{PAGE}/deliveries/{ids[0]}")
        assert '<dd id="delivery-status">Delivered</dd>' in one.text
        assert "<td>204</td>" in one.text
        again = await browser_client.post(
            f"{PAGE}/deliveries/{ids[0]}/redeliver", data={"csrf": csrf_of(one.text)}
        )
        assert again.status_code == 303
        one = await browser_client.get(f"{PAGE}/deliveries/{ids[0]}")
        assert '<dd id="delivery-status">Pending</dd>' in one.text
        await webhook_sender.run_until_idle()
        assert receiver.seen_ids.count(ids[0]) == 2

        since = context.clock.now().strftime("%Y-%m-%dT00:00")
        replayed = await submit(browser_client, PAGE, PAGE + "/replay", {"since": since})
        assert f"{len(ids)} deliveries queued again." in replayed.text
