"""Secrets never reach a log line or an error message, even at DEBUG level and through failures.

The flow logs in, has its token expired and force-refreshed, runs the account stream (the SDK
logs each subscription with the bearer token at DEBUG), fails a login with a wrong secret and
meets a revoked grant.  Every log record and every error text is then searched for the client
secret, the refresh token and every access token the simulator issued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from tastytui.domain.clock import OffsetClock
from tastytui.secrets import install_log_redaction, register_secret
from tastytui.services.account_stream import AccountStream
from tastytui.services.accounts import AccountService
from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.errors import ServiceError
from tastytui.services.events import EventBus
from tastytui.services.health import Health
from tastytui.services.http import RestPolicy
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory

POLICY = RestPolicy(rate=100.0, burst=100.0, backoff_base=0.01, backoff_max=0.02)


async def eventually(condition: Callable[[], object], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


def endpoint(sim: SimServer, secret: str = SIM_CLIENT_SECRET) -> Endpoint:
    return Endpoint("sim", sim.base_url, sim.streamer_url, Credentials(secret, SIM_REFRESH_TOKEN))


def issued_tokens(sim: SimServer) -> set[str]:
    return set(sim.exchange.auth._access)


async def test_no_secret_in_any_log_record_or_error_text(
    make_sim: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()  # what `tastytui` does first thing
    caplog.set_level(logging.DEBUG)
    sim = await make_sim(live_tape=False, tick_interval=0.05)
    tokens: set[str] = set()
    errors: list[str] = []
    health = Health()
    async with Broker(endpoint(sim), POLICY, health) as broker:
        await broker.login()
        tokens |= issued_tokens(sim)
        account = broker.accounts[0]
        accounts = AccountService(broker, None, EventBus(), OffsetClock(SIM_START))
        stream = AccountStream(broker, accounts, health, backoff_max=0.2)
        task = asyncio.create_task(stream.run())
        try:
            await eventually(stream.connected.is_set)
            sim.control.expire_tokens()
            await account.get_balances(broker.session)  # 401 → forced refresh → retry
            tokens |= issued_tokens(sim)
            await sim.control.drop_streams(dxlink=False, account=True)
            await eventually(lambda: stream.reconnects >= 1 and stream.connected.is_set())
            tokens |= issued_tokens(sim)
            sim.control.revoke_grant()
            with pytest.raises(ServiceError) as revoked:
                await account.get_positions(broker.session)
            errors.append(str(revoked.value))
            await sim.control.drop_streams(dxlink=False, account=True)
            await eventually(lambda: health.snapshot.auth_problem is not None)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    errors.extend(str(v) for v in (health.snapshot.auth_problem, health.snapshot.last_error))
    sim.control.restore_grant()
    wrong = "wrong-client-secret-123"
    register_secret(wrong)  # what Credentials does with anything the user types
    async with Broker(endpoint(sim, secret=wrong), POLICY, Health()) as bad:
        with pytest.raises(ServiceError) as refused:
            await bad.login()
    errors.append(str(refused.value))

    assert tokens, "the simulator issued access tokens"
    assert any("auth-token" in r.getMessage() for r in caplog.records), "the SDK logged pushes"
    logged = "\n".join(
        [
            caplog.text,
            *(r.getMessage() for r in caplog.records),
            *(r.exc_text or "" for r in caplog.records),
        ]
    )
    for secret in (SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN, wrong, *tokens):
        assert secret not in logged, f"a secret reached the log: {secret[:6]}…"
        for text in errors:
            assert secret not in text, f"a secret reached an error message: {text}"
    assert "«redacted»" in logged
