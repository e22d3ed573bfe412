"""The baseline: bare FastAPI endpoints, served exactly like rcsgate (see servers.py).

No middleware, no database, no auth, no rate limit: what is left of rcsgate's figure after
dividing by this one is what rcsgate itself costs. Each endpoint parses and answers with
rcsgate's own pydantic classes, so the baseline pays for the same validation and
serialization the real endpoint does:
- POST /v3/conversations (send_accept): the body is rcsgate's ConversationCreate, the answer a
  MessageRead made from it, 201;
- GET /v3/account (account_get): an AccountRead, built per request as rcsgate builds it from
  its row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, status

from rcsgate.accounts.schemas import AccountRead
from rcsgate.conversations.schemas import ConversationCreate
from rcsgate.messages.schemas import MessageRead

ACCOUNT: dict[str, Any] = {
    "id": "01a218cdfd1e246fe30c584b",
    "name": "bench",
    "currency": "SEK",
    "balance": 0.0,
    "rate_limit": 1000000,
    "created_at": datetime(2026, 11, 26, 17, 1, 22, tzinfo=UTC),
}
MESSAGE_ID = "01a218cdfd1e246fe30c584c"
CONVERSATION_ID = "01a218cdfd1e246fe30c584d"

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/v3/account", response_model=AccountRead)
async def get_account() -> AccountRead:
    return AccountRead.model_validate(ACCOUNT)


@app.post("/v3/conversations", response_model=MessageRead, status_code=status.HTTP_201_CREATED)
async def start_conversation(body: ConversationCreate) -> MessageRead:
    number, _variables = body.recipient_number()
    now = datetime.now(UTC)
    return MessageRead(
        id=MESSAGE_ID,
        conversation_id=CONVERSATION_ID,
        brand=body.brand,
        agent=body.agent,
        recipient=number,
        direction="Outbound",
        type=body.type or "Text",
        content=body.content,
        status="Queued",
        channel="RCS",
        price=0.45,
        currency="SEK",
        segments=1,
        reference=body.reference,
        created=now,
        modified=now,
    )


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
