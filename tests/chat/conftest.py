"""Fixtures for the chat: the services of a simulator account, and a recording stager."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tastytui.services.orders import Review
from tastytui.services.runtime import Services, endpoint_for, run_jobs
from tastytui.sim.server import SimServer
from tests.ui.harness import picture_sim_config, test_config

#: Chat settings every test uses: a model name the SDK does not warn about.
CHAT_CONFIG = '[chat]\nmodel = "claude-test"\n'


@dataclass
class Rig:
    sim: SimServer
    services: Services

    def orders_at_sim(self, account: str | None = None) -> list[Any]:
        """Every order the simulator's ledger holds for the account."""
        number = account or self.services.accounts.current
        return list(self.sim.exchange.ledger.account_orders(number))


@dataclass
class RecordingStager:
    """Stands in for the UI: remembers what the tools staged."""

    tickets: list[tuple[Review, str]] = field(default_factory=list)
    replaces: list[tuple[Review, str]] = field(default_factory=list)
    cancels: list[tuple[str, int, str, str]] = field(default_factory=list)

    def stage_ticket(self, review: Review, note: str) -> None:
        self.tickets.append((review, note))

    def stage_replace(self, review: Review, note: str) -> None:
        self.replaces.append((review, note))

    def stage_cancel(self, account: str, order_id: int, description: str, note: str) -> None:
        self.cancels.append((account, order_id, description, note))


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[RigFactory]:
    """Start a deterministic simulator (frozen tape, manual clock, seed 7) and its services."""
    stack = contextlib.AsyncExitStack()

    async def factory(config_text: str = CHAT_CONFIG, **sim_overrides: Any) -> Rig:
        sim_config = picture_sim_config(**sim_overrides)
        sim = SimServer(sim_config)
        await sim.start()
        stack.push_async_callback(sim.stop)
        config = test_config(tmp_path, config_text)
        _, profile = config.active("sim")
        endpoint = endpoint_for("sim", profile, sim_url=sim.base_url)
        state = tmp_path / "state"
        state.mkdir(exist_ok=True)
        services = await Services.connect(
            config, "sim", profile, endpoint, clock=sim_config.clock, state_dir=state
        )
        stack.push_async_callback(services.close)
        jobs = asyncio.create_task(run_jobs(services))

        async def stop_jobs() -> None:
            jobs.cancel()
            with contextlib.suppress(BaseException):
                await jobs

        stack.push_async_callback(stop_jobs)
        async with asyncio.timeout(30):
            while not (
                services.health.snapshot.dxlink.value == "up"
                and services.health.snapshot.last_reconcile_at is not None
            ):
                await asyncio.sleep(0.05)
        return Rig(sim, services)

    yield factory
    await stack.aclose()
