"""Running the simulator standalone or as a child process of the console."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

from tastytui.sim.config import SimConfig
from tastytui.sim.server import SimServer


async def serve_forever(config: SimConfig, *, reset: bool = False, announce_json: bool = False) -> None:
    """Run until SIGINT/SIGTERM; prints the base URL (or a JSON line) once listening."""
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
    try:
        await stop.wait()
    finally:
        await server.stop()


@dataclass
class SimProcess:
    """A simulator in a child process; the console starts it and stops it on exit."""

    process: subprocess.Popen[str]
    base_url: str

    @classmethod
    def start(cls, *, seed: int = 1, state: str | None = None, timeout: float = 30.0,
              extra: list[str] | None = None) -> SimProcess:
        args = [sys.executable, "-m", "tastytui", "sim", "--port", "0", "--seed", str(seed),
                "--announce-json"]
        if state:
            args += ["--state", state]
        args += extra or []
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True,  # a Ctrl-C in the console must not kill it mid-write
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        try:
            base_url = json.loads(line)["base_url"]
        except (json.JSONDecodeError, KeyError) as exc:
            process.kill()
            raise RuntimeError(f"the simulator did not start (said {line!r})") from exc
        return cls(process, base_url)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
