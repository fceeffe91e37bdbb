"""No secret in any file the test run produced: logs, pictures, journals, reports.

The test first produces the riskiest artifacts itself — the console against the simulator with
every logger at DEBUG written to a file (the SDK logs each account-stream subscription with its
bearer token there), a token expiry and forced refresh, dropped streams, a screenshot — then
scans every file under the session's temporary directory (the soak's logs included: this test
is collected last), the snapshot pictures and ``screenshots/`` for the simulator's client
secret, its refresh token and every access token the simulator issued or could have.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tastytui.secrets import install_log_redaction
from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
from tests.ui.harness import SimThread, make_app, picture_sim_config, wait_ready

ROOT = Path(__file__).resolve().parents[2]
#: Token shapes the simulator issues (access, refresh from the code grant, quote tokens).
TOKEN_SHAPES = (
    re.compile(rb"sim-access-[A-Za-z0-9_-]{16,}"),
    re.compile(rb"sim-refresh-[A-Za-z0-9_-]{16,}"),
    re.compile(rb"sim-quote-[A-Za-z0-9_-]{16,}"),
)
#: Stores allowed to hold a secret: that is their job.
ALLOWED = ("keyring",)
MAX_BYTES = 64 * 1024 * 1024


def artifacts(roots: list[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and not any(word in path.name for word in ALLOWED):
                    yield path


def leaks(path: Path, secrets: set[bytes]) -> list[str]:
    try:
        if path.stat().st_size > MAX_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []  # removed meanwhile (another test's temp file)
    found = [s.decode()[:12] + "…" for s in secrets if s in data]
    for shape in TOKEN_SHAPES:
        match = shape.search(data)
        if match is not None:
            found.append(match.group(0).decode()[:14] + "…")
    return found


async def until(condition: Callable[[], object], within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.05)


async def test_no_secret_in_any_log_picture_or_file_of_the_test_run(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    install_log_redaction()  # what `tastytui` does first thing
    log_file = tmp_path / "console-debug.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    sdk = logging.getLogger("tastytrade")
    previous = (root.level, sdk.level)
    root.setLevel(logging.DEBUG)
    sdk.setLevel(logging.DEBUG)
    root.addHandler(handler)
    issued: set[bytes] = set()
    try:
        with SimThread(picture_sim_config()) as sim:
            server = sim.server
            assert server is not None
            app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
            async with app.run_test(size=(160, 45)) as pilot:
                await wait_ready(pilot)
                services = app.services
                assert services is not None
                issued |= set(sim.run(lambda: list(server.exchange.auth._access)))
                sim.run(server.control.expire_tokens)
                await services.accounts.refresh_balances()  # 401 → forced refresh → retry
                stream = services.account_stream
                before = stream.reconnects
                await asyncio.wrap_future(
                    asyncio.run_coroutine_threadsafe(server.control.drop_streams(), sim.loop)
                )
                await until(lambda: stream.reconnects > before and stream.connected.is_set())
                issued |= set(sim.run(lambda: list(server.exchange.auth._access)))
                app.save_screenshot("leak-scan.svg", path=str(tmp_path))
                await pilot.pause(0.2)
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous[0])
        sdk.setLevel(previous[1])

    text = log_file.read_text(encoding="utf-8")
    assert "auth-token" in text, "the SDK's subscription (with its bearer header) was logged"
    assert "«redacted»" in text
    assert (tmp_path / "leak-scan.svg").exists()
    secrets = {SIM_CLIENT_SECRET.encode(), SIM_REFRESH_TOKEN.encode()}
    secrets |= {token.encode() for token in issued}
    roots = [
        tmp_path_factory.getbasetemp(),
        ROOT / "tests" / "snapshots",
        ROOT / "screenshots",
        ROOT / "snapshot_report.html",
    ]
    scanned = 0
    found: dict[str, list[str]] = {}
    for path in artifacts(roots):
        if path.suffix == ".py":
            continue  # source: the simulator's documented default credentials live there
        scanned += 1
        hits = leaks(path, secrets)
        if hits:
            found[str(path)] = hits
    assert scanned >= 3
    assert not found, f"secrets in files the test run produced: {found}"
