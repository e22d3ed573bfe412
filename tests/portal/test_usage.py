"""Usage: messages and cost per day and channel, the rate limit and the balance."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from rcsgate.context import AppContext
from rcsgate.models import Message
from rcsgate.portal.charts import stacked_bars
from tests.conftest import ClientFactory
from tests.portal.helpers import log_in, sign_up
from tests.portal.traffic import make_traffic


def row_of(html: str, day: str) -> list[str]:
    row = html.split(f'<tr data-day="{day}">')[1].split("</tr>")[0]
    return [cell.split("</td>")[0] for cell in row.split("<td>")[1:]]


class TestUsagePage:
    async def test_counts_and_costs_per_day_and_channel(
        self,
        browser_client: httpx.AsyncClient,
        client_for: ClientFactory,
        context: AppContext,
    ) -> None:
        email = await sign_up(browser_client)
        traffic = await make_traffic(browser_client, client_for, context)
        today = context.clock.now().date().isoformat()
        # One of the conversation's messages went out as SMS.
        async with context.sessionmaker.begin() as session:
            await session.execute(
                update(Message).where(Message.id == traffic.sent[0]).values(channel="SMS")
            )
        context.clock.advance(24 * 3600)
        tomorrow = context.clock.now().date().isoformat()
        await traffic.api.post(
            "/v3/conversations",
            json={
                "brand": "min-butik-ab",
                "agent": "kundservice",
                "recipient": "46700000301",
                "content": "Hej igen",
            },
        )
        await log_in(browser_client, email)  # the day outlived the session
        page = await browser_client.get("/portal/usage")
        assert page.status_code == 200
        # 2 follow-ups + 3 bundle messages on RCS, 1 SMS; the user's reply is not counted.
        assert row_of(page.text, today) == ["5", "2.25", "1", "0.45"]
        assert row_of(page.text, tomorrow) == ["1", "0.45", "0", "0.00"]
        assert '<dd id="totals">Messages: 7, cost: 3.15 SEK</dd>' in page.text
        assert page.text.count('class="series-rcs"><title>') == 4  # 2 days x 2 charts
        assert page.text.count('class="series-sms"><title>') == 2

    async def test_rate_limit_and_balance(self, browser_client: httpx.AsyncClient) -> None:
        await sign_up(browser_client)
        page = await browser_client.get("/portal/usage")
        assert '<dd id="balance">0.00 SEK</dd>' in page.text
        assert '<dd id="rate-limit">30 requests per second</dd>' in page.text
        assert "<rect" not in page.text


class TestChart:
    def test_bars_stack_in_proportion(self) -> None:
        chart = stacked_bars(
            ["a", "b"], [{"RCS": 10, "SMS": 10}, {"RCS": 5, "SMS": 0}], ["RCS", "SMS"]
        )
        a_rcs, a_sms, b_rcs = chart.bars
        assert a_rcs.height == a_sms.height == 2 * b_rcs.height
        assert a_sms.y + a_sms.height == a_rcs.y, "SMS sits on top of RCS"
        assert a_rcs.y + a_rcs.height == b_rcs.y + b_rcs.height == chart.baseline
        assert [t.label for t in chart.ticks] == ["0", "5", "10", "15", "20"]
