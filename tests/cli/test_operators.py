"""`serve`'s in-process simulator wiring."""

from __future__ import annotations

from pathlib import Path

from rcsgate.cli.operators import simulated_operators
from rcsgate.context import AppContext
from rcsgate.dispatch.runtime import build_operators


async def test_the_simulator_and_the_connectors_share_random_callback_secrets(
    context: AppContext, tmp_path: Path
) -> None:
    context.settings = context.settings.model_copy(update={"data_dir": tmp_path})

    async with simulated_operators(context) as simulator:
        settings = context.settings
        operators = build_operators(settings, context.receipts.sink)
        await operators.aclose()

    assert settings.rbm_client_token == simulator.rbm.client_token
    assert settings.maap_callback_secret == simulator.maap_secret
    assert min(len(settings.rbm_client_token), len(settings.maap_callback_secret)) >= 16
    assert set(operators.rcs) == {"rbm", "maap"}
