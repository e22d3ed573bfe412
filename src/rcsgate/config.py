"""Settings from the environment (prefix `RCSGATE_`) and the command line."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rcsgate.kit.net import IPNetwork, parse_network

DEFAULT_DATA_DIR = Path("var")


class SettingsError(ValueError):
    """Settings a process must not run with; the message names the setting to give."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCSGATE_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means SQLite at <data_dir>/rcsgate.db",
    )
    redis_url: str | None = Field(
        default=None, description="Redis for shared rate limits and caches; none: in-process"
    )
    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_http: bool = Field(
        default=False, description="Serve plain HTTP, only behind a TLS-terminating proxy"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDRs whose X-Forwarded-For / X-Forwarded-Proto are believed",
    )
    operators: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["rbm", "maap"],
        description="Operators an agent launch is requested at",
    )
    default_rate_limit: int = Field(default=30, ge=1, description="Requests/s per account")
    key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a process trusts a looked-up key; bounds how late a revocation bites",
    )
    account_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a process serves GET /v3/account from memory; bounds how late "
        "another process's change to the account shows",
    )
    sender_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a process trusts a looked-up sender (brand and launched agent); "
        "bounds how late another process's change to a brand or agent bites",
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    callback_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest operator callback body; a larger one is refused (413) before its "
        "signature is checked, so an unauthenticated sender cannot make us buffer more",
    )
    currency: str = "SEK"
    message_price: Decimal = Field(
        default=Decimal("0.45"), ge=0, description="Price of one RCS message, account currency"
    )
    metrics_token: str = Field(
        default="",
        description="GET /metrics answers only `Authorization: Bearer <this>`; empty: the app "
        "serves no /metrics at all",
    )
    log_level: str = "INFO"
    log_json: bool = True
    workers: int = Field(
        default=1,
        ge=1,
        description="Server processes; `auto`: one per core (os.cpu_count())",
    )
    process_count: int | None = Field(
        default=None,
        ge=1,
        description="Server processes sharing one Redis (all machines); while Redis is down "
        "each allows this share of every rate limit. Default: workers",
    )
    db_pool_size: int = Field(
        default=32,
        ge=1,
        description="PostgreSQL connections each process keeps; at least the requests it "
        "serves at once, or connections are opened and closed under load",
    )

    # Operators. Empty URLs mean "not configured"; `serve` fills them from its in-process
    # simulator unless --no-simulator is given.
    simulator: bool = Field(default=True, description="serve: run the operator simulator")
    simulator_delay_scale: float = Field(
        default=1.0, ge=0, description="Simulator phone delays are multiplied by this"
    )
    public_url: str = Field(
        default="", description="Where operators reach /operators/{name}/callback"
    )
    rbm_base_url: str = Field(default="", description="Google RBM API root")
    rbm_token_uri: str = Field(default="", description="OAuth2 token URI (empty: the key file's)")
    rbm_credentials: Path | None = Field(default=None, description="Service-account JSON key")
    rbm_client_token: str = Field(default="", description="Verifies X-Goog-Signature")
    maap_base_url: str = Field(default="", description="GSMA MaaP Chatbot API root")
    maap_token: str = ""
    maap_callback_secret: str = ""
    smpp_host: str = ""
    smpp_port: int = 2775
    smpp_system_id: str = ""
    smpp_password: str = ""
    smpp_window: int = Field(default=10, ge=1, le=1000)
    sms_sender: str = Field(default="rcsgate", description="SMS sender when the agent has none")
    sms_resubmit_after: float = Field(
        default=300.0,
        ge=0,
        description="Seconds an SMS whose submit_sm got no answer (a crash, a timeout, a bind "
        "lost in flight) waits before it is submitted again: SMPP has no idempotency key, so "
        "the SMSC may have it",
    )
    sms_duplicate_window: float = Field(
        default=600.0,
        ge=0,
        description="Seconds within which an MO SMS alike in sender, number, text and "
        "concatenation reference to one already stored is the SMSC delivering it again "
        "(SMPP gives an MO no id) and is dropped",
    )
    operator_timeout: float = Field(default=10.0, gt=0, description="Seconds per operator call")
    operator_concurrency: int = Field(
        default=32,
        ge=1,
        description="Calls in flight per HTTP operator; at least throughput x round trip, "
        "since a batch waits for its slowest send",
    )
    capability_cache_seconds: float = Field(default=3600.0, ge=0)
    dispatch_batch: int = Field(default=200, ge=1, description="Jobs claimed per batch")
    dispatch_workers: int = Field(default=1, ge=0, description="Relay loops per process")
    dispatch_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a claimed job is a worker's before another may take it",
    )

    password_hash_threads: int = Field(
        default=2,
        ge=1,
        description="Threads that hash and verify portal passwords (argon2), off the event loop",
    )

    # Customer webhooks (API.md 2.8).
    webhook_allow_private: bool = Field(
        default=False,
        description="Deliver webhooks to loopback, link-local and private addresses too "
        "(local runs with the simulator, tests); never in production",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds an endpoint has to answer 2xx"
    )
    webhook_workers: int = Field(default=1, ge=0, description="Webhook sender loops per process")
    webhook_endpoints_at_once: int = Field(
        default=32, ge=1, description="Endpoints one sender serves at once, each on its own"
    )
    webhook_batch: int = Field(
        default=200, ge=1, description="Deliveries taken from one endpoint's queue per round"
    )
    webhook_in_flight: int = Field(
        default=16, ge=1, description="POSTs in flight to one endpoint (never two of a message)"
    )

    @field_validator("trusted_proxies", "operators", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("workers", mode="before")
    @classmethod
    def _auto_workers(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return os.cpu_count() or 1
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_network(item)
        return value

    @cached_property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(parse_network(item) for item in self.trusted_proxies)

    def require_operator_secrets(self) -> None:
        """SettingsError for an operator configured without the secret that verifies its
        callbacks: an empty HMAC key is one anyone can sign with, so its receipts and inbound
        messages could be forged."""
        needed = (
            ("RBM", "rbm_base_url", "rbm_client_token"),
            ("MaaP", "maap_base_url", "maap_callback_secret"),
        )
        for operator, url, secret in needed:
            if getattr(self, url) and not getattr(self, secret):
                raise SettingsError(
                    f"RCSGATE_{secret.upper()} is not set, but {operator} is configured "
                    f"(RCSGATE_{url.upper()}): its callbacks could not be verified"
                )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'rcsgate.db'}"
