"""The dispatch side's operators, as built from settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from rcsgate.config import Settings, SettingsError
from rcsgate.connectors.base import InboundEvent
from rcsgate.dispatch.runtime import build_operators

CLOSED = "http://127.0.0.1:9"


async def ignore(_event: InboundEvent) -> None:
    """Only SMPP reports to the sink, and no SMPP is configured here."""


class TestOperatorSecrets:
    def test_maap_without_its_callback_secret_is_refused(self) -> None:
        settings = Settings(maap_base_url=CLOSED, maap_token="token")

        with pytest.raises(SettingsError, match="RCSGATE_MAAP_CALLBACK_SECRET"):
            build_operators(settings, ignore)

    def test_rbm_without_its_client_token_is_refused(self, tmp_path: Path) -> None:
        credentials = tmp_path / "key.json"
        credentials.write_text("{}")  # refused before the key file is read
        settings = Settings(rbm_base_url=CLOSED, rbm_credentials=credentials)

        with pytest.raises(SettingsError, match="RCSGATE_RBM_CLIENT_TOKEN"):
            build_operators(settings, ignore)

    async def test_an_operator_with_its_secret_is_built(self) -> None:
        settings = Settings(maap_base_url=CLOSED, maap_callback_secret="s3cret")

        operators = build_operators(settings, ignore)

        assert list(operators.rcs) == ["maap"]
        await operators.aclose()
