"""Connecting the console to a broker, off the first frame's path.

Everything here that imports the SDK (and therefore pandas) runs inside the connect worker,
after the first frame is on screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from tastytui.config import Config
from tastytui.domain.clock import Clock

if TYPE_CHECKING:
    from tastytui.services.runtime import Services

Status = Callable[[str], None]


class Connector(Protocol):
    async def connect(self, status: Status) -> Services: ...

    async def close(self) -> None: ...


class DefaultConnector:
    """The real thing: the simulator as a child process for ``sim``, saved logins otherwise."""

    def __init__(
        self, config: Config, profile_name: str | None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.profile_name = profile_name
        self.clock = clock
        self._sim: Any = None
        self._services: Services | None = None

    async def connect(self, status: Status) -> Services:
        from tastytui.paths import default_sim_state
        from tastytui.services.runtime import Services, endpoint_for

        name, profile = self.config.active(self.profile_name)
        sim_url = None
        if name == "sim" and not profile.api_url:
            from tastytui.sim.process import SimProcess

            status("starting the simulator…")
            state = profile.sim_state or str(default_sim_state())
            self._sim = await asyncio.to_thread(
                SimProcess.start, seed=profile.sim_seed, state=state
            )
            sim_url = self._sim.base_url
        status(f"logging in to {name}…")
        endpoint = endpoint_for(name, profile, sim_url=sim_url)
        self._services = await Services.connect(
            self.config, name, profile, endpoint, clock=self.clock
        )
        return self._services

    async def close(self) -> None:
        if self._services is not None:
            await self._services.close()
            self._services = None
        if self._sim is not None:
            await asyncio.to_thread(self._sim.stop)
            self._sim = None


class EndpointConnector:
    """Connect to a known endpoint (an in-process simulator for tests and screenshots)."""

    def __init__(
        self,
        config: Config,
        profile_name: str,
        endpoint: Any,
        *,
        clock: Clock | None = None,
        state_dir: Any = None,
    ) -> None:
        self.config = config
        self.profile_name = profile_name
        self.endpoint = endpoint
        self.clock = clock
        self.state_dir = state_dir
        self._services: Services | None = None

    async def connect(self, status: Status) -> Services:
        from tastytui.services.runtime import Services

        name, profile = self.config.active(self.profile_name)
        status(f"logging in to {name}…")
        self._services = await Services.connect(
            self.config, name, profile, self.endpoint, clock=self.clock, state_dir=self.state_dir
        )
        return self._services

    async def close(self) -> None:
        if self._services is not None:
            await self._services.close()
            self._services = None
