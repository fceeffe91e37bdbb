"""Running the simulator standalone or as a child process of the console."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import IO

from tastytui.sim.config import SimConfig
from tastytui.sim.server import SimServer


async def serve_forever(
    config: SimConfig,
    *,
    reset: bool = False,
    announce_json: bool = False,
    parent_pid: int | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or until ``parent_pid`` is gone); prints the base URL (or a
    JSON line) once listening."""
    server = SimServer(config)
    if reset:
        server.control.reset()
    await server.start()
    if announce_json:
        print(json.dumps({"base_url": server.base_url, "pid": os.getpid()}), flush=True)
    else:
        print(f"tastytui simulator listening on {server.base_url}", flush=True)
        print(f"  REST      {server.base_url}/", flush=True)
        print(f"  streamer  {server.streamer_url}", flush=True)
        print(f"  DXLink    {server.dxlink_url} (announced by /api-quote-tokens)", flush=True)
        print(f"  control   {server.base_url}/_sim/state", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    watcher = None
    if parent_pid is not None:
        watcher = asyncio.create_task(_stop_when_orphaned(parent_pid, stop))
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await server.stop()


async def _stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once the console that started us is gone (killed, or its terminal lost):
    the child runs in its own session, so no hang-up reaches it."""
    # No event tells us the parent died: polling is the only way.
    while os.getppid() == parent_pid:  # noqa: ASYNC110
        await asyncio.sleep(1.0)
    stop.set()


@dataclass
class SimProcess:
    """A simulator in a child process; the console starts it and stops it on exit."""

    process: subprocess.Popen[str]
    base_url: str
    #: The child's stderr, kept in a file: a pipe nobody drains would block it once full.
    errors: IO[str] | None = None

    @classmethod
    def start(
        cls,
        *,
        seed: int = 1,
        state: str | None = None,
        timeout: float = 30.0,
        extra: list[str] | None = None,
    ) -> SimProcess:
        """Start ``tastytui sim`` and wait (at most ``timeout`` seconds) for its base URL.

        Raises RuntimeError with the child's own complaint when it does not come up.
        """
        args = [sys.executable, "-m", "tastytui", "sim", "--port", "0", "--seed", str(seed)]
        args += ["--announce-json", "--parent-pid", str(os.getpid())]
        if state:
            args += ["--state", state]
        args += extra or []
        # Lives as long as the child (closed by stop()), so no ``with`` block.
        errors = tempfile.TemporaryFile(mode="w+t")  # noqa: SIM115
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            start_new_session=True,  # a Ctrl-C in the console must not kill it mid-write
        )
        assert process.stdout is not None
        line = _read_line(process.stdout, timeout)
        try:
            base_url = str(json.loads(line)["base_url"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            process.kill()
            process.wait()
            errors.seek(0)
            said = errors.read().strip().splitlines()
            errors.close()
            reason = said[-1] if said else (repr(line) if line else f"nothing in {timeout:g} s")
            raise RuntimeError(f"the simulator did not start: {reason}") from exc
        return cls(process, base_url, errors)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (a clean shutdown that saves the ledger), then SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.errors is not None:
            self.errors.close()
            self.errors = None


def _read_line(stream: IO[str], timeout: float) -> str:
    """One line from a child's stdout, or "" when none arrives within ``timeout``."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return stream.readline()
