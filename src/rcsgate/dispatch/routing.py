"""Which operator and channel a message takes: RCS through an operator the agent is launched
at, when the recipient can get RCS (capability, cached); else SMS when the message allows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rcsgate.connectors.base import Capability, RcsConnector, SmsConnector
from rcsgate.kit.cache import TtlCache
from rcsgate.kit.clock import Clock, isoformat_z


@dataclass
class Operators:
    """The connectors this process talks to, by operator name (settings.operators order)."""

    rcs: dict[str, RcsConnector] = field(default_factory=dict)
    sms: SmsConnector | None = None

    def rcs_for(self, launched: Sequence[str]) -> RcsConnector | None:
        """The first operator with a connector among those the agent is launched at."""
        for name in launched:
            connector = self.rcs.get(name)
            if connector is not None:
                return connector
        return None

    async def start(self) -> None:
        if self.sms is not None:
            await self.sms.start()

    async def aclose(self) -> None:
        for connector in self.rcs.values():
            await connector.aclose()
        if self.sms is not None:
            await self.sms.aclose()


@dataclass(frozen=True, slots=True)
class CapabilityAnswer:
    recipient: str
    rcs: bool
    features: tuple[str, ...]
    source: str  # "Cache" or "Live"
    checked: str


@dataclass
class Capabilities:
    """Capability lookups through the cache (Redis when configured, so all processes share)."""

    cache: TtlCache
    clock: Clock
    seconds: float

    async def lookup(self, connector: RcsConnector, agent: str, msisdn: str) -> CapabilityAnswer:
        """From the cache, else asked of the operator (and cached)."""
        cached = await self.cached(connector, agent, msisdn)
        if cached is not None:
            return cached
        return await self.remember(connector, agent, await connector.capability(agent, msisdn))

    async def cached(
        self, connector: RcsConnector, agent: str, msisdn: str
    ) -> CapabilityAnswer | None:
        found = await self.cache.get(f"cap:{connector.name}:{agent}:{msisdn}")
        if found is None:
            return None
        return CapabilityAnswer(
            msisdn, found["rcs"], tuple(found["features"]), "Cache", found["checked"]
        )

    async def remember(
        self, connector: RcsConnector, agent: str, capability: Capability
    ) -> CapabilityAnswer:
        checked = isoformat_z(self.clock.now())
        entry = {"rcs": capability.rcs, "features": list(capability.features), "checked": checked}
        await self.cache.set(
            f"cap:{connector.name}:{agent}:{capability.msisdn}", entry, self.seconds
        )
        return CapabilityAnswer(
            capability.msisdn, capability.rcs, capability.features, "Live", checked
        )
