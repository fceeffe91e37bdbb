"""Shared fixtures: an in-process simulator on loopback and SDK sessions pointed at it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

# Textual reads these at import time: no animations, deterministic rendering.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

import pytest
from hypothesis import settings
from tastytrade import Session

from tastytui.domain.clock import OffsetClock
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN, SimConfig
from tastytui.sim.server import SimServer

# Property and fuzz tests draw the same examples on every run, so the suite (and CI) passes or
# fails on the code, not on the draw.  ``pytest tests/fuzz --hypothesis-profile explore`` draws
# new ones; a failure it finds is kept as an ``@example``.
settings.register_profile("suite", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("suite")

#: A Wednesday at 10:00 in New York: the market is open and expirations are predictable.
SIM_START = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)

SimFactory = Callable[..., Awaitable[SimServer]]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """Start simulators with overridden settings; all are stopped at the end of the test."""
    started: list[SimServer] = []

    async def factory(**overrides: Any) -> SimServer:
        overrides.setdefault("seed", 7)
        overrides.setdefault("clock", OffsetClock(SIM_START))
        server = SimServer(SimConfig(**overrides))
        await server.start()
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        await server.stop()


@pytest.fixture
async def sim(make_sim: SimFactory) -> SimServer:
    return await make_sim()


def sdk_session(server: SimServer) -> Session:
    """An unmodified SDK session redirected to the simulator (protocol reference §1.4 A)."""
    session = Session(
        provider_secret=SIM_CLIENT_SECRET, refresh_token=SIM_REFRESH_TOKEN, trust_env=False
    )
    session._client.base_url = server.base_url
    return session


@pytest.fixture
async def session(sim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(sim) as s:
        yield s
