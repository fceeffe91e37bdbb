"""Throughput of the simulator's DXLink stream, and what it costs the simulator's process.

Runs the simulator in a child process (so its CPU can be measured on its own), subscribes
``--symbols`` symbols over a raw WebSocket (equities plus option contracts from the chains) for
Quote, and Greeks for the options, then counts the events that arrive per second::

    python benchmarks/sim_stream.py [--symbols 2000 --seconds 20 --tick 0.2]

Target: at least 10,000 events/s delivered while the simulator stays under one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import connect

QUOTE_FIELDS = 12  # the SDK's Quote field count (protocol reference §4.3)
GREEKS_FIELDS = 13
SUBSCRIBE_BATCH = 500  # symbols per FEED_SUBSCRIPTION: keeps each request far below 64 KiB
TARGET_EVENTS = 10_000


# --------------------------------------------------------------------------- the child


def _serve_cpu_requests(conn: Connection) -> None:
    """Answer "cpu" with this process's CPU seconds (user + system), "stop" to finish."""
    while True:
        request = conn.recv()
        if request == "cpu":
            conn.send(time.process_time())
        else:
            return


def run_simulator(conn: Connection, tick: float, symbols: int, profile: str | None) -> None:
    """Child process: start a SimServer, report what the client needs, serve until told."""
    from tastytui.sim.config import SimConfig
    from tastytui.sim.server import SimServer

    async def main() -> None:
        async with SimServer(SimConfig(seed=7, tick_interval=tick)) as server:
            market = server.exchange.market
            equities = market.symbols()
            options: list[str] = []
            for underlying in ("SPY", "QQQ", "SPX", "IWM", "AAPL", "TSLA", "NVDA", "AMZN"):
                for expiration in market.chain(underlying).expirations:
                    for strike in expiration.strikes:
                        options += (strike.call.streamer, strike.put.streamer)
                    if len(options) >= symbols:
                        break
                if len(options) >= symbols:
                    break
            token, _ = server.exchange.auth.issue_quote_token()
            conn.send(
                {
                    "url": server.dxlink_url,
                    "token": token,
                    "equities": equities,
                    "options": options[: max(0, symbols - len(equities))],
                }
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def watch() -> None:
                _serve_cpu_requests(conn)
                loop.call_soon_threadsafe(stop.set)

            threading.Thread(target=watch, daemon=True).start()
            await stop.wait()

    if profile is None:
        asyncio.run(main())
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, main())
    profiler.dump_stats(profile)


# --------------------------------------------------------------------------- the client


@dataclass
class Counts:
    events: int = 0
    messages: int = 0
    bytes: int = 0
    largest: int = 0

    def add(self, text: str, event_count: int) -> None:
        size = len(text.encode())
        self.events += event_count
        self.messages += 1
        self.bytes += size
        self.largest = max(self.largest, size)


async def stream(info: dict[str, Any], seconds: float, cpu: Connection) -> dict[str, float]:
    equities: list[str] = info["equities"]
    options: list[str] = info["options"]
    symbols = equities + options
    async with connect(
        info["url"], compression=None, ping_interval=None, max_size=None, max_queue=None
    ) as ws:

        async def send(**message: Any) -> None:
            await ws.send(json.dumps(message))

        await send(type="SETUP", channel=0, keepaliveTimeout=60, acceptKeepaliveTimeout=60)
        await send(type="AUTH", channel=0, token=info["token"])
        for channel in (7, 3):  # the SDK's channels for Quote and Greeks
            await send(type="CHANNEL_REQUEST", channel=channel, service="FEED", parameters={})
        for start in range(0, len(symbols), SUBSCRIBE_BATCH):
            batch = symbols[start : start + SUBSCRIBE_BATCH]
            await send(
                type="FEED_SUBSCRIPTION",
                channel=7,
                add=[{"type": "Quote", "symbol": s} for s in batch],
            )
            await send(
                type="FEED_SUBSCRIPTION",
                channel=3,
                add=[{"type": "Greeks", "symbol": s} for s in batch if s.startswith(".")],
            )

        counts = Counts()
        widths = {"Quote": QUOTE_FIELDS, "Greeks": GREEKS_FIELDS}
        loop = asyncio.get_running_loop()

        async def read_until(deadline: float, into: Counts | None) -> None:
            while (remaining := deadline - loop.time()) > 0:
                try:
                    async with asyncio.timeout(remaining):
                        text = await ws.recv()
                except TimeoutError:
                    return
                assert isinstance(text, str)
                message = json.loads(text)
                if message["type"] == "ERROR":
                    raise RuntimeError(f"simulator error: {message}")
                if message["type"] == "FEED_DATA" and into is not None:
                    event_type, values = message["data"]
                    into.add(text, len(values) // widths[event_type])

        await read_until(loop.time() + 2.0, None)  # snapshot and warm-up
        cpu.send("cpu")
        cpu_start, wall_start = cpu.recv(), time.perf_counter()
        await read_until(loop.time() + seconds, counts)
        cpu.send("cpu")
        cpu_end, wall_end = cpu.recv(), time.perf_counter()

    wall = wall_end - wall_start
    return {
        "symbols": len(symbols),
        "subscriptions": len(symbols) + len(options),
        "events_per_s": counts.events / wall,
        "messages_per_s": counts.messages / wall,
        "mb_per_s": counts.bytes / wall / 1e6,
        "largest_message": counts.largest,
        "cpu_share": (cpu_end - cpu_start) / wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tick", type=float, default=0.2, help="simulator tick interval (s)")
    parser.add_argument("--profile", metavar="PATH", help="cProfile the simulator into PATH")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = context.Process(
        target=run_simulator,
        args=(child_end, args.tick, args.symbols, args.profile),
        daemon=True,
    )
    child.start()
    try:
        info = parent_end.recv()
        result = asyncio.run(stream(info, args.seconds, parent_end))
    finally:
        parent_end.send("stop")
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()

    print(f"symbols subscribed     {result['symbols']:>10,.0f}  (Quote; Greeks for options)")
    print(f"subscriptions          {result['subscriptions']:>10,.0f}")
    print(f"events delivered / s   {result['events_per_s']:>10,.0f}")
    print(f"messages / s           {result['messages_per_s']:>10,.1f}")
    print(f"payload MB / s         {result['mb_per_s']:>10,.2f}")
    print(f"largest message bytes  {result['largest_message']:>10,.0f}  (client limit 65,536)")
    print(f"simulator CPU          {result['cpu_share']:>10.1%}  of one core")
    if args.profile:
        import pstats

        print()
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(15)
    ok = result["events_per_s"] >= TARGET_EVENTS and result["cpu_share"] < 1.0
    print("target (>= 10,000 events/s under one core):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
