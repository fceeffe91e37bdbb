"""``tastytui sim`` as a separate process: it announces its URL and the SDK logs in to it."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tastytrade import Account, Session

from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tastytui.sim.process import SimProcess

COMMAND = [sys.executable, "-m", "tastytui", "sim"]


async def _login(base_url: str) -> list[Account]:
    session = Session(
        provider_secret=SIM_CLIENT_SECRET, refresh_token=SIM_REFRESH_TOKEN, trust_env=False
    )
    session._client.base_url = base_url
    async with session:
        return await Account.get(session)


async def test_sim_command_prints_its_url_and_the_sdk_logs_in() -> None:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "--port",
        "0",
        "--seed",
        "5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode()
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert match, line
        assert int(match.group(2)) > 0  # --port 0 picked a free port
        accounts = await _login(match.group(1))
        assert [a.account_number for a in accounts] == ["5WT00001", "5WT00002"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await process.wait()
    assert code == 0  # SIGTERM is a clean shutdown


async def test_sim_process_starts_serves_and_stops() -> None:
    sim = await asyncio.to_thread(SimProcess.start, seed=5, timeout=30)
    try:
        assert sim.base_url.startswith("http://127.0.0.1:")
        assert len(await _login(sim.base_url)) == 2
    finally:
        await asyncio.to_thread(sim.stop)
    assert sim.process.returncode == 0


def test_a_public_bind_needs_allow_remote() -> None:
    done = subprocess.run(
        [*COMMAND, "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "refusing to bind the simulator to 0.0.0.0" in done.stderr
    assert "--allow-remote" in done.stderr
    assert done.stdout == ""


def test_sim_process_reports_why_it_did_not_start() -> None:
    with pytest.raises(RuntimeError, match="--allow-remote"):
        SimProcess.start(seed=5, timeout=30, extra=["--host", "0.0.0.0"])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tick-interval", "0"], "--tick-interval must be positive"),
        (["--token-lifetime", "30"], "at least 120 seconds"),
        (["--fill-model", "sometimes"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2_with_a_message(flags: list[str], message: str) -> None:
    done = subprocess.run([*COMMAND, *flags], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr


async def test_reset_flag_wipes_a_saved_paper_ledger(tmp_path: Path) -> None:
    from tastytrade.order import MarketOrder, OrderStatus

    from tastytui.domain.clock import OffsetClock
    from tastytui.sim.config import SimConfig
    from tastytui.sim.server import SimServer
    from tests.conftest import SIM_START, sdk_session
    from tests.sim.simkit import BTO, holdings, leg, margin_account, until_status

    state = str(tmp_path / "paper.sqlite")
    first = SimServer(SimConfig(seed=5, state_path=state, clock=OffsetClock(SIM_START)))
    await first.start()
    try:
        async with sdk_session(first) as session:
            account = await margin_account(session)
            start = holdings(await account.get_positions(session))
            placed = await account.place_order(
                session, MarketOrder(legs=[leg("F", BTO, 7)]), dry_run=False
            )
            await until_status(session, account, placed.order.id, OrderStatus.FILLED)
            assert holdings(await account.get_positions(session)) != start
    finally:
        await first.stop()

    sim = await asyncio.to_thread(SimProcess.start, seed=5, state=state, extra=["--reset"])
    try:
        session = Session(
            provider_secret=SIM_CLIENT_SECRET, refresh_token=SIM_REFRESH_TOKEN, trust_env=False
        )
        session._client.base_url = sim.base_url
        async with session:
            account = await margin_account(session)
            # The child runs on today's date, so its seeded options differ: compare the stock.
            after = holdings(await account.get_positions(session))
            assert {k: v for k, v in after.items() if len(k) < 21} == {
                k: v for k, v in start.items() if len(k) < 21
            }
            history = await account.get_order_history(session, page_offset=None)
            assert placed.order.id not in {o.id for o in history}
    finally:
        await asyncio.to_thread(sim.stop)
