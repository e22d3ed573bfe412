"""Standard Webhooks signatures (https://www.standardwebhooks.com/): `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
made with the `standardwebhooks` library so receivers can verify with it too.

Each account has a secret (`whsec_` + base64 of 32 random bytes). A rotation keeps the
previous secret signing beside the new one until the overlap ends, so a receiver can switch
to the new secret at any moment of the overlap without rejecting an event.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    # Decoding the secret costs more than the HMAC; an account signs many events.
    return Webhook(secret)


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secrets that sign an account's events now: the current one, and the previous one
    while its overlap lasts."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def signing(self, now: datetime) -> tuple[str, ...]:
        if self.previous and self.previous_until and now < self.previous_until:
            return (self.current, self.previous)
        return (self.current,)


def sign_headers(
    secrets_in_use: tuple[str, ...], webhook_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers; one `v1,` signature per secret, space-separated."""
    signatures = " ".join(_signer(s).sign(webhook_id, timestamp, body) for s in secrets_in_use)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
