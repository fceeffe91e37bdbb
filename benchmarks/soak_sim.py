"""The simulator side of the soak: a child process, its ``/_sim/`` control API, its ledger file.

The simulator runs in its own process so its market model never competes with the console for
the GIL: the event-loop stalls the soak measures are the console's own.  Faults go through the
HTTP control API (the same one an operator would use); the broker-side truth for the final
checks is read from the simulator's SQLite ledger, which it writes through on every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tastytui.sim.ledger import Order, _load_order
from tastytui.sim.process import SimProcess


class SimUnderTest:
    """``tastytui sim`` in a child process with a ledger file in ``workdir``."""

    def __init__(self, workdir: Path, *, seed: int, tick: float = 0.2) -> None:
        self.ledger_path = workdir / "sim-ledger.sqlite3"
        self.seed = seed
        self.tick = tick
        self.process: SimProcess | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        assert self.process is not None, "the simulator was not started"
        return self.process.base_url

    async def start(self) -> None:
        extra = ["--tick-interval", str(self.tick), "--fill-delay", "1.5"]
        self.process = await asyncio.to_thread(
            SimProcess.start, seed=self.seed, state=str(self.ledger_path), extra=extra
        )
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=15.0, trust_env=False)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)

    # ------------------------------------------------------------------ control API

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call ``/_sim/<path>``; returns the ``data`` member of the answer."""
        assert self._http is not None, "the simulator was not started"
        response = await self._http.request(method, f"/_sim/{path}", json=body)
        response.raise_for_status()
        return response.json().get("data")

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.control("POST", path, body)

    async def state(self) -> dict[str, Any]:
        data = await self.control("GET", "state")
        assert isinstance(data, dict)
        return data

    # ------------------------------------------------------------------ the broker's truth

    def orders(self) -> dict[int, Order]:
        """Every order in the ledger (read-only; the simulator keeps writing meanwhile)."""
        uri = f"file:{self.ledger_path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute("SELECT body FROM orders ORDER BY id").fetchall()
        orders = [_load_order(body) for (body,) in rows]
        return {order.id: order for order in orders}

    def stderr_text(self) -> str:
        """What the simulator wrote to stderr so far (tracebacks of internal errors)."""
        if self.process is None or self.process.errors is None:
            return ""
        errors = self.process.errors
        errors.flush()
        errors.seek(0)
        text = errors.read()
        errors.seek(0, 2)
        return text
