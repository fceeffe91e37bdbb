"""A console that dies between "order sent" and "answer received" loses nothing and sends
nothing twice: the intent was journalled before the POST, the next start-up finds the order at
the broker by its external identifier, adopts it and reports its fill.

Two ways to die: the send task cancelled while the simulator holds the POST (what a quit or a
crash of the event loop does), and a real ``SIGKILL`` of a child process mid-POST (nothing in
the process gets to write anything).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from tastytui.config import Config
from tastytui.domain.clock import OffsetClock
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType
from tastytui.domain.ticket import PriceMode, Ticket
from tastytui.services.journal import Journal, JournalState
from tastytui.services.runtime import Services, endpoint_for
from tastytui.sim.config import SIM_MARGIN_ACCOUNT
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory

ROOT = Path(__file__).resolve().parents[2]
ORDERS = f"/accounts/{SIM_MARGIN_ACCOUNT}/orders"
TICKET = Ticket(
    (Leg(InstrumentType.EQUITY, "F", OrderAction.BUY_TO_OPEN, Decimal(1)),),
    order_type=OrderType.MARKET,
)


async def until(condition: Callable[[], object], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


@asynccontextmanager
async def console_services(sim: SimServer, state: Path) -> AsyncIterator[Services]:
    """The services one console life would build over ``state`` (its journal and book)."""
    config = Config()
    config.rest.rate = 100.0
    config.rest.burst = 100.0
    name, profile = config.active("sim")
    endpoint = endpoint_for(name, profile, sim_url=sim.base_url)
    services = await Services.connect(
        config, name, profile, endpoint, clock=OffsetClock(SIM_START), state_dir=state
    )
    try:
        yield services
    finally:
        await services.close()


def at_broker(sim: SimServer, intent: str) -> list[int]:
    return [o.id for o in sim.exchange.ledger.orders.values() if o.external_identifier == intent]


async def restart_and_check(sim: SimServer, state: Path, intent: str) -> None:
    """The next start-up: reconciliation adopts the order, its fill is reported, nothing is
    sent again."""
    await until(lambda: at_broker(sim, intent))  # the simulator processed the held POST
    (order_id,) = at_broker(sim, intent)
    orders_before = len(sim.exchange.ledger.orders)
    async with console_services(sim, state) as services:
        await services.reconciler.reconcile("start-up")
        entry = services.journal.by_intent(intent)
        assert entry is not None and entry.broker_id == order_id
        resolved = [f.detail for f in services.reconciler.findings if intent in f.detail]
        assert resolved and f"placed as order #{order_id}" in resolved[0]

        def state() -> JournalState | None:
            found = services.journal.by_intent(intent)
            return None if found is None else found.state

        await services.fills.poll(order_id)  # what the polling job does on its schedule
        await until(lambda: state() is JournalState.FILLED)
    assert at_broker(sim, intent) == [order_id], "the order was not sent twice"
    assert len(sim.exchange.ledger.orders) == orders_before, "the restart sent nothing"


async def test_a_send_cancelled_mid_post_is_adopted_at_the_next_start_up(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(live_tape=False)
    state = tmp_path / "state"
    faults = sim.exchange.faults
    async with console_services(sim, state) as services:
        review = await services.orders.review(
            TICKET, SIM_MARGIN_ACCOUNT, price_mode=PriceMode.NATURAL
        )
        assert review.sendable, review.problems
        sim.control.http_fault(None, delay=1.0, count=1, method="POST", path_prefix=ORDERS)
        send = asyncio.create_task(services.orders.send(review))
        await until(lambda: faults.injected.get("http_delay") == 1)  # the simulator holds it
        await asyncio.sleep(0.1)
        send.cancel()  # the console goes away
        await asyncio.gather(send, return_exceptions=True)
        (entry,) = services.journal.recent(5)
        assert entry.state is JournalState.UNKNOWN and at_broker(sim, entry.intent_id) == []
    await restart_and_check(sim, state, entry.intent_id)


CHILD = """
import asyncio, sys
from decimal import Decimal
from pathlib import Path
from tastytui.config import Config
from tastytui.domain.clock import OffsetClock
from tastytui.domain.ticket import PriceMode
from tastytui.services.runtime import Services, endpoint_for
from tests.conftest import SIM_START
from tests.hardening.test_crash_recovery import TICKET

async def main() -> None:
    config = Config()
    config.rest.timeout = 60.0
    name, profile = config.active("sim")
    endpoint = endpoint_for(name, profile, sim_url=sys.argv[1])
    services = await Services.connect(
        config, name, profile, endpoint, clock=OffsetClock(SIM_START), state_dir=Path(sys.argv[2])
    )
    review = await services.orders.review(TICKET, "5WT00001", price_mode=PriceMode.NATURAL)
    assert review.sendable, review.problems
    print("reviewed", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await services.orders.send(review)
    print("answered", flush=True)

asyncio.run(main())
"""


async def test_a_console_killed_mid_post_loses_nothing_and_sends_nothing_twice(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(live_tape=False)
    state = tmp_path / "state"
    faults = sim.exchange.faults
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        sim.base_url,
        str(state),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    try:
        async with asyncio.timeout(90):
            line = await child.stdout.readline()
        assert line.strip() == b"reviewed", (line, await child.stderr.read())
        sim.control.http_fault(None, delay=1.5, count=1, method="POST", path_prefix=ORDERS)
        child.stdin.write(b"go\n")
        await child.stdin.drain()
        await until(lambda: faults.injected.get("http_delay") == 1)  # the POST is in
        await asyncio.sleep(0.1)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    with Journal(state / "journal-sim.sqlite3") as journal:
        (entry,) = journal.recent(5)
    # Killed: nothing could write "interrupted"; the intent is still SENT, with no broker id.
    assert entry.state is JournalState.SENT and entry.broker_id is None
    await restart_and_check(sim, state, entry.intent_id)
