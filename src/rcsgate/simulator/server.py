"""The whole simulated operator network: one loopback HTTP server with the RBM API under
`/rbm` and the MaaP API under `/maap`, and an SMSC on its own port, all in front of one set of
virtual phones. `endpoints()` tells the connectors where to find it."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from rcsgate.kit.http import http_client
from rcsgate.kit.serving import LocalServer
from rcsgate.simulator.maap import build_maap_app
from rcsgate.simulator.phones import PhoneNetwork
from rcsgate.simulator.rbm import RbmSimulator, service_account
from rcsgate.simulator.smsc import Smsc


@dataclass
class Simulator:
    host: str = "127.0.0.1"
    http_port: int = 0
    smpp_port: int = 0
    delay_scale: float = 1.0
    callback_base: str | None = (
        None  # rcsgate's base URL; callbacks go to /operators/{name}/callback
    )
    smpp_round_trip: float = 0.0
    network: PhoneNetwork = field(init=False)
    rbm: RbmSimulator = field(init=False)
    smsc: Smsc = field(init=False)
    maap_app: Any = field(init=False)
    service_account_info: dict[str, str] = field(init=False)
    maap_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    maap_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    smpp_system_id: str = "rcsgate"
    smpp_password: str = field(default_factory=lambda: secrets.token_hex(4))  # SMPP: 8 chars
    _http: httpx.AsyncClient = field(init=False)
    _server: LocalServer = field(init=False)

    async def start(self) -> Simulator:
        self.network = PhoneNetwork(delay_scale=self.delay_scale)
        # Callbacks go to rcsgate on loopback, whose certificate is self-signed.
        self._http = http_client(timeout=10.0, verify=False)
        placeholder_info, public_key = service_account("")
        self.rbm = RbmSimulator(
            self.network, public_key, secrets.token_urlsafe(16), self._http, self._callback("rbm")
        )
        self.maap_app = build_maap_app(
            self.network,
            token=self.maap_token,
            callback_url=self._callback("maap"),
            callback_secret=self.maap_secret,
            http=self._http,
        )
        app = Starlette(routes=[Mount("/rbm", self.rbm.app()), Mount("/maap", self.maap_app)])
        self._server = await LocalServer(app, self.host, self.http_port).start()
        self.service_account_info = {**placeholder_info, "token_uri": f"{self.http_url}/rbm/token"}
        self.smsc = Smsc(
            self.network,
            system_id=self.smpp_system_id,
            password=self.smpp_password,
            host=self.host,
            port=self.smpp_port,
            round_trip=self.smpp_round_trip,
        )
        await self.smsc.start()
        return self

    @property
    def http_url(self) -> str:
        return self._server.url

    def _callback(self, name: str) -> str | None:
        return (
            f"{self.callback_base.rstrip('/')}/operators/{name}/callback"
            if self.callback_base
            else None
        )

    def set_callback_base(self, base: str) -> None:
        self.callback_base = base
        self.rbm.callback_url = self._callback("rbm")
        self.maap_app.state.callback_url = self._callback("maap")

    def endpoints(self, data_dir: Path) -> dict[str, Any]:
        """Settings that point rcsgate's connectors here (RCSGATE_* names, lower case)."""
        key_file = data_dir / "simulator" / "rbm-service-account.json"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(json.dumps(self.service_account_info))
        key_file.chmod(0o600)
        return {
            "rbm_base_url": f"{self.http_url}/rbm",
            "rbm_credentials": key_file,
            "rbm_client_token": self.rbm.client_token,
            "maap_base_url": f"{self.http_url}/maap",
            "maap_token": self.maap_token,
            "maap_callback_secret": self.maap_secret,
            "smpp_host": self.host,
            "smpp_port": self.smsc.port,
            "smpp_system_id": self.smpp_system_id,
            "smpp_password": self.smpp_password,
        }

    async def aclose(self) -> None:
        await self.smsc.aclose()
        await self._server.aclose()
        await self.network.aclose()
        await self._http.aclose()
