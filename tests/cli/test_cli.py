"""`rcsgate accounts` and `rcsgate keys`, end to end through the API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from rcsgate.accounts.service import log_in
from rcsgate.cli.main import app as cli
from rcsgate.connectors.base import InboundEvent, InboundKind
from rcsgate.context import AppContext
from rcsgate.models import Account
from tests.conftest import ClientFactory
from tests.fixtures.messaging import launched_sender
from tests.test_gate import assert_problem

runner = CliRunner()


async def invoke(*args: str, stdin: str | None = None) -> Result:
    """The CLI runs its own event loop, so it runs in a thread beside the test's."""
    return await asyncio.to_thread(runner.invoke, cli, list(args), input=stdin)


async def rcsgate(database_url: str, *args: str) -> Any:
    result = await invoke(*args, "--json", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def db(context: AppContext, database_url: str) -> str:
    """The test database URL; depending on `context` empties it afterwards."""
    return database_url


async def test_account_and_key_from_the_cli_work_against_the_api(
    db: str, client_for: ClientFactory
) -> None:
    account = await rcsgate(
        db,
        "accounts",
        "create",
        "--name",
        "Acme",
        "--email",
        "ops@acme.example",
        "--rate-limit",
        "12",
    )
    key = await rcsgate(db, "keys", "create", "--account", account["id"], "--name", "ci")

    assert account["rateLimit"] == 12
    assert key["token"].startswith("rcs_")
    assert key["prefix"] == key["token"][:12]
    response = await client_for(token=key["token"]).get("/v3/account")
    assert response.json()["name"] == "Acme"
    assert response.headers["ratelimit-limit"] == "12"


async def test_keys_list_shows_no_secret_and_revoke_stops_the_key(
    db: str, client_for: ClientFactory
) -> None:
    account = await rcsgate(
        db, "accounts", "create", "--name", "Acme", "--email", "ops@acme.example"
    )
    key = await rcsgate(db, "keys", "create", "--account", account["id"], "--name", "ci")

    listed = await rcsgate(db, "keys", "list", "--account", account["id"])
    revoked = await rcsgate(db, "keys", "revoke", "--account", account["id"], key["id"])

    assert [k["id"] for k in listed] == [key["id"]]
    assert "token" not in listed[0]
    assert key["token"] not in json.dumps(listed)
    assert revoked["revoked"] is not None
    assert_problem(await client_for(token=key["token"]).get("/v3/account"), 401, "unauthorized")


async def test_allow_ip_restricts_the_key(db: str, client_for: ClientFactory) -> None:
    account = await rcsgate(
        db, "accounts", "create", "--name", "Acme", "--email", "ops@acme.example"
    )
    key = await rcsgate(
        db,
        "keys",
        "create",
        "--account",
        account["id"],
        "--name",
        "office",
        "--allow-ip",
        "198.51.100.0/24",
        "--allow-ip",
        "2001:db8::1",
    )

    assert key["allowedIps"] == ["198.51.100.0/24", "2001:db8::1/128"]
    assert (
        await client_for(peer="198.51.100.20", token=key["token"]).get("/v3/account")
    ).status_code == 200
    assert (
        await client_for(peer="203.0.113.1", token=key["token"]).get("/v3/account")
    ).status_code == 403


async def test_bad_allow_ip_is_refused_with_the_entry_named(db: str) -> None:
    account = await rcsgate(
        db, "accounts", "create", "--name", "Acme", "--email", "ops@acme.example"
    )
    result = await invoke(
        *[
            "keys",
            "create",
            "--account",
            account["id"],
            "--name",
            "x",
            "--allow-ip",
            "10.0.0.1/8",
            "--database-url",
            db,
        ],
    )
    assert result.exit_code == 1
    assert "/allowedIps/0" in result.output
    assert (await rcsgate(db, "keys", "list", "--account", account["id"])) == []


async def test_revoking_another_accounts_key_is_refused(db: str) -> None:
    a = await rcsgate(db, "accounts", "create", "--name", "A", "--email", "a@example.com")
    b = await rcsgate(db, "accounts", "create", "--name", "B", "--email", "b@example.com")
    key = await rcsgate(db, "keys", "create", "--account", a["id"], "--name", "k")

    result = await invoke("keys", "revoke", "--account", b["id"], key["id"], "--database-url", db)

    assert result.exit_code == 1
    assert (await rcsgate(db, "keys", "list", "--account", a["id"]))[0]["revoked"] is None


PASSWORD = "correct horse battery"
CREATE = ("accounts", "create", "--name", "Acme", "--email", "ops@acme.example", "--json")


async def can_log_in(context: AppContext, password: str) -> bool:
    async with context.sessionmaker.begin() as session:
        found = await log_in(
            session, context.clock, context.passwords, email="ops@acme.example", password=password
        )
    return found is not None


class TestPortalPassword:
    """Never on the command line, where `ps` and shell history show it."""

    async def test_read_from_stdin(self, db: str, context: AppContext) -> None:
        result = await invoke(
            *CREATE, "--password-stdin", "--database-url", db, stdin=PASSWORD + "\n"
        )

        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["name"] == "Acme"
        assert await can_log_in(context, PASSWORD)
        assert not await can_log_in(context, PASSWORD + "\n")

    async def test_asked_for_hidden_and_twice_beside_json_output(
        self, db: str, context: AppContext
    ) -> None:
        result = await invoke(
            *CREATE, "--password", "--database-url", db, stdin=f"{PASSWORD}\n{PASSWORD}\n"
        )

        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["name"] == "Acme"
        assert "Portal password" in result.stderr
        assert PASSWORD not in result.output
        assert await can_log_in(context, PASSWORD)

    async def test_a_mistyped_confirmation_makes_nothing(
        self, db: str, context: AppContext
    ) -> None:
        result = await invoke(
            *CREATE, "--password", "--database-url", db, stdin=f"{PASSWORD}\n{PASSWORD}!\n"
        )

        assert result.exit_code != 0
        assert "do not match" in result.stderr
        async with context.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Account)) == 0

    async def test_a_password_given_as_an_argument_is_refused(
        self, db: str, context: AppContext
    ) -> None:
        result = await invoke(*CREATE, "--password", PASSWORD, "--database-url", db)

        assert result.exit_code == 2, result.output
        assert not await can_log_in(context, PASSWORD)

    async def test_a_too_short_password_names_the_field(self, db: str) -> None:
        result = await invoke(*CREATE, "--password-stdin", "--database-url", db, stdin="short\n")

        assert result.exit_code == 1
        assert "/password" in result.stderr


async def test_senders_added_by_the_operator_gate_the_accounts_sms(
    db: str, client_for: ClientFactory, context: AppContext
) -> None:
    account = await rcsgate(db, "accounts", "create", "--name", "Acme", "--email", "o@acme.se")
    key = await rcsgate(db, "keys", "create", "--account", account["id"], "--name", "ci")
    sender = await launched_sender(context, account["id"])
    api = client_for(token=key["token"])
    body = {
        "brand": sender.brand,
        "agent": sender.agent,
        "recipient": "46700123456",
        "content": "Hej",
        "fallback": {"sms": {"sender": "Acme"}},
    }
    refused = await api.post("/v3/conversations", json=body)

    pending = await rcsgate(
        db, "senders", "add", "--account", account["id"], "--sender", "Acme", "--pending"
    )
    still_refused = await api.post("/v3/conversations", json=body)
    verified = await rcsgate(
        db,
        "senders",
        "verify",
        "--account",
        account["id"],
        "--sender",
        "Acme",
        "--verified-by",
        "ops@rcsgate",
    )
    accepted = await api.post("/v3/conversations", json=body)
    listed = await rcsgate(db, "senders", "list", "--account", account["id"])
    await rcsgate(db, "senders", "remove", "--account", account["id"], "--sender", "Acme")
    refused_again = await api.post("/v3/conversations", json=body)

    assert_problem(refused, 403, "sms-sender-not-verified")
    assert pending["verified"] is None
    assert_problem(still_refused, 403, "sms-sender-not-verified")
    assert (verified["sender"], verified["verifiedBy"]) == ("Acme", "ops@rcsgate")
    assert accepted.status_code == 201, accepted.text
    assert [(s["sender"], s["verified"]) for s in listed] == [("Acme", verified["verified"])]
    assert_problem(refused_again, 403, "sms-sender-not-verified")


async def test_senders_add_for_an_unknown_account_fails_cleanly(db: str) -> None:
    result = await invoke(
        "senders", "add", "--account", "nope", "--sender", "Acme", "--database-url", db
    )
    assert result.exit_code == 1
    assert "No account nope" in result.output


async def test_a_sender_outside_the_sms_rules_is_refused_by_name(db: str) -> None:
    account = await rcsgate(db, "accounts", "create", "--name", "Acme", "--email", "o@acme.se")
    result = await invoke(
        "senders",
        "add",
        "--account",
        account["id"],
        "--sender",
        "Far Too Long Name",
        "--database-url",
        db,
    )
    assert result.exit_code == 1
    assert "/sender: must be 1-11 letters and digits" in result.output


async def test_inbound_unroutable_lists_replies_no_account_could_have(
    db: str, context: AppContext
) -> None:
    reply = InboundEvent(
        "smpp",
        InboundKind.TEXT,
        "46700000002",
        context.clock.now(),
        text="Vem är det?",
        extra={"to": "72345"},
    )
    await context.receipts.handle([reply])

    [kept] = await rcsgate(db, "inbound", "unroutable")

    assert {k: kept[k] for k in ("from", "to", "text", "reason", "accounts")} == {
        "from": "46700000002",
        "to": "72345",
        "text": "Vem är det?",
        "reason": "no_route",
        "accounts": 0,
    }
