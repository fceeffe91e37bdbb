"""Token expiry that a single forced refresh cannot absorb: a request outliving two expiries.

A request waiting out a 429 (or a slow answer) still carries the token it was built with.  If
that token dies, another request refreshes, and the new token dies too before the first request
retries, "one refresh per request" would surface an auth error to the user.  Found by the soak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.health import Health
from tastytui.services.http import RestPolicy
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_MARGIN_ACCOUNT, SIM_REFRESH_TOKEN
from tests.conftest import SimFactory

POLICY = RestPolicy(rate=200.0, burst=200.0, timeout=5.0, backoff_base=0.01, backoff_max=0.02)


async def until(condition: Callable[[], object], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_request_outliving_two_token_expiries_still_succeeds(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(live_tape=False)
    credentials = Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN)
    endpoint = Endpoint("sim", sim.base_url, sim.streamer_url, credentials)
    async with Broker(endpoint, POLICY, Health()) as broker:
        await broker.login()
        account = broker.accounts[0]
        faults = sim.exchange.faults
        # The first request is told to come back in 1.5 s (its token stays the old one).
        sim.control.http_fault(
            429, count=1, retry_after=1.5, path_prefix=f"/accounts/{SIM_MARGIN_ACCOUNT}/balances"
        )
        slow = asyncio.create_task(account.get_balances(broker.session))
        await until(lambda: faults.injected.get("http_429") == 1)
        sim.control.expire_tokens()  # the token `slow` carries dies ...
        await account.get_positions(broker.session)  # ... another request refreshes ...
        assert broker.transport.forced_refreshes == 1
        sim.control.expire_tokens()  # ... and the new token dies before `slow` retries.
        balance = await asyncio.wait_for(slow, 20)
        assert balance.account_number == SIM_MARGIN_ACCOUNT, "no auth error reached the caller"
        assert broker.transport.forced_refreshes == 2
