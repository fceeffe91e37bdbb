"""Chain: opening an index chain of ≥ 50 expirations × 200 strikes, against fetching its JSON.

The simulator (own process) lists SPX with 72 expirations (SPX and SPXW roots) of 200-260
strikes each.  Every run is a fresh console process (``TastyApp``, headless 200×50, through
``run_test``) on that simulator.  Once it is up with the SPY chain on screen, it measures, in
an order alternating between runs, on the same HTTP client and connection, and each time only
once that client has been idle for 2.5 s (its rate limiter, 2/s in bursts of 4, is first come
first served: a measurement started behind the start-up reads would time the queue):

- **floor**: ``GET /option-chains/SPX/nested`` + ``json.loads`` of the body — fetching and
  parsing the chain JSON alone (the SDK's pydantic parse of the same body is shown too);
- **console**: ``ChainPane.show_symbol("SPX")`` (what choosing a symbol does) until the first
  frame that paints SPX rows in the grid (a wrapper around ``App._display``, installed by this
  script; headless drivers drop the bytes but the frame is rendered all the same).

A first, untimed run lets the simulator render the chain's JSON into its cache.  A second
series (``--broker-latency``, informational) has the simulator hold every chain request, like
a broker over a WAN.  Then it checks the subscriptions the grid holds against the contracts
it shows, on opening and after paging down, and reports the console's peak RSS (issue 6,
item 6).  Medians over runs.

    python benchmarks/chain_open.py [--runs 7] [--symbol SPX]

Targets: console / floor ≤ 1.5 (medians); subscriptions ≤ 2 × the contracts visible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from _bench import (
    PYTHON,
    console_env,
    load_average,
    median,
    peak_rss_mib,
    sim_process,
    temp_home,
    write_config,
)

TARGET = 1.5
SIZE = (200, 50)

# --------------------------------------------------------------------------- the child


async def _until(check: Any, limit: float, pause: float = 0.02) -> None:
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - polls what a user would see
            await asyncio.sleep(pause)


async def _child(symbol: str, floor_first: bool, latency: float) -> dict[str, Any]:
    from tastytrade.instruments import NestedOptionChain
    from textual.app import App

    from tastytui.config import load
    from tastytui.services.http import ResilientTransport
    from tastytui.ui.app import TastyApp
    from tastytui.ui.widgets.chain import ChainPane

    painted: dict[str, float] = {}
    display = App._display

    def probed_display(self: App[Any], screen: Any, renderable: Any) -> None:
        display(self, screen, renderable)
        if renderable is None or "armed" not in painted or "at" in painted:
            return
        grid = self.main_screen.query_one(ChainPane).grid  # type: ignore[attr-defined]
        exp = grid.expiration
        shown = grid.display and grid.row_count and exp is not None
        if shown and exp.root.startswith(symbol) and grid.rows_rendered > painted["rendered"]:
            painted["at"] = time.monotonic()

    App._display = probed_display  # type: ignore[method-assign]

    # REST requests in flight: the client's rate limiter (2/s, bursts of 4) is FIFO, so a
    # measurement that starts while start-up reads are queued measures the queue instead.
    rest = {"in_flight": 0, "last": time.monotonic()}
    handle = ResilientTransport.handle_async_request

    async def counted(self: ResilientTransport, request: Any) -> Any:
        rest["in_flight"] += 1
        try:
            return await handle(self, request)
        finally:
            rest["in_flight"] -= 1
            rest["last"] = time.monotonic()

    ResilientTransport.handle_async_request = counted  # type: ignore[method-assign]

    async def rest_idle() -> None:
        """No request for 2.5 s: background reads are done and the bucket is full again."""
        async with asyncio.timeout(120):
            while rest["in_flight"] or time.monotonic() - rest["last"] < 2.5:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    config = load()
    app = TastyApp(config, "sim")
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        pane = app.main_screen.query_one(ChainPane)
        grid = pane.grid

        def ready() -> bool:
            services = app.services
            if services is None:
                return False
            health = services.health.snapshot
            return (
                health.rest.value == "up"
                and health.dxlink.value == "up"
                and health.last_reconcile_at is not None
                and grid.row_count > 0
                and grid.display
            )

        await _until(ready, 90)
        await rest_idle()
        services = app.services
        assert services is not None
        client = services.broker.session._client
        url = f"/option-chains/{symbol}/nested"

        async def floor() -> None:
            start = time.monotonic()
            response = await client.get(url)
            data = json.loads(response.content)
            out["floor"] = time.monotonic() - start
            out["json_bytes"] = len(response.content)
            start = time.monotonic()
            chains = [NestedOptionChain(**item) for item in data["data"]["items"]]
            out["sdk_parse"] = time.monotonic() - start
            out["roots"] = len(chains)

        async def console() -> None:
            painted["rendered"] = grid.rows_rendered
            painted["armed"] = 1.0
            start = time.monotonic()
            pane.show_symbol(symbol)
            await _until(lambda: "at" in painted, 60, pause=0.005)
            out["console"] = painted["at"] - start

        if latency:  # a broker further away: the simulator holds every chain request
            fault = {"delay": latency, "fraction": 1.0, "path-prefix": "/option-chains/"}
            await client.post("/_sim/faults/http", json=fault)
        for step in (floor, console) if floor_first else (console, floor):
            await rest_idle()  # both measurements start from the same, idle client
            await step()

        chain = pane.chain
        assert chain is not None
        out["expirations"] = len(chain.expirations)
        out["strikes"] = sorted(len(e.strikes) for e in chain.expirations)

        def holdings() -> dict[str, int]:
            visible = len(grid.visible_range())
            kinds = {kind for kind, sym in services.dxlink.subscriptions() if sym.startswith(".")}
            return {
                "visible_contracts": 2 * visible,
                "grid_contracts": grid.subscribed_count,
                "option_subscriptions": sum(
                    1 for _, sym in services.dxlink.subscriptions() if sym.startswith(".")
                ),
                "kinds": len(kinds),
            }

        await pilot.pause(0.5)
        out["held_open"] = holdings()
        grid.focus()
        for _ in range(3):
            await pilot.press("pagedown")
        await pilot.pause(0.5)
        out["held_paged"] = holdings()
        out["rss_mib"] = peak_rss_mib()
    return out


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--child":
    result = asyncio.run(_child(sys.argv[2], sys.argv[3] == "floor-first", float(sys.argv[4])))
    print("RESULT " + json.dumps(result), flush=True)
    sys.exit(0)

# --------------------------------------------------------------------------- the parent


def one_run(symbol: str, floor_first: bool, latency: float, env: dict[str, str]) -> dict[str, Any]:
    order = "floor-first" if floor_first else "console-first"
    done = subprocess.run(
        [PYTHON, __file__, "--child", symbol, order, str(latency)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")


def report(symbol: str, latency: float, runs: list[dict[str, Any]]) -> bool:
    ours = median(r["console"] for r in runs)
    floor = median(r["floor"] for r in runs)
    pairs = median(r["console"] / r["floor"] for r in runs)
    sdk = median(r["sdk_parse"] for r in runs)
    ratio = ours / floor
    broker = f"chain requests held {latency * 1000:.0f} ms" if latency else "the simulator as is"
    print(f"broker: {broker}; {len(runs)} runs, medians")
    print(f"  floor: GET + json.loads                {floor * 1000:8.0f} ms")
    print(f"  (SDK pydantic parse of the same body:  {sdk * 1000:8.0f} ms more)")
    print(f"  console: choose {symbol} -> first painted grid {ours * 1000:5.0f} ms")
    print(f"  ratio (medians)                        {ratio:8.2f}   (median of pairs {pairs:.2f})")
    return ratio <= TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--symbol", default="SPX")
    parser.add_argument(
        "--broker-latency",
        type=float,
        default=0.3,
        metavar="S",
        help="also measure with chain requests held S seconds by the simulator, like a broker "
        "over a WAN (informational; 0 skips it; default 0.3)",
    )
    args = parser.parse_args()

    sim = sim_process(seed=7)
    home = temp_home("chain")
    config = write_config(home, sim.base_url, watchlist=["SPY", "QQQ", "IWM", "AAPL"])
    env = console_env(home, config)
    latencies = [0.0] + ([args.broker_latency] if args.broker_latency > 0 else [])
    results: dict[float, list[dict[str, Any]]] = {}
    loads = [load_average()]
    try:
        # Not timed: the simulator renders the chain's JSON once (about a second) and serves it
        # from its cache afterwards, as a broker would; the page cache warms up too.
        one_run(args.symbol, True, 0.0, env)
        for latency in latencies:
            results[latency] = [
                one_run(args.symbol, i % 2 == 0, latency, env) for i in range(args.runs)
            ]
    finally:
        sim.stop()
    loads.append(load_average())

    runs = results[0.0]
    first = runs[0]
    strikes = first["strikes"]
    print(
        f"{args.symbol} chain: {first['expirations']} expirations ({first['roots']} roots), "
        f"{strikes[0]}-{strikes[-1]} strikes each (median {strikes[len(strikes) // 2]}), "
        f"{first['json_bytes'] / 1e6:.1f} MB of JSON"
    )
    ok_ratio = report(args.symbol, 0.0, runs)
    for latency in latencies[1:]:
        report(args.symbol, latency, results[latency])
    ok_subs = True
    everything = [r for rs in results.values() for r in rs]
    for label, key in (("on opening", "held_open"), ("after 3 pages down", "held_paged")):
        held = max(
            everything, key=lambda r, k=key: r[k]["grid_contracts"] / r[k]["visible_contracts"]
        )
        h = held[key]
        share = h["grid_contracts"] / h["visible_contracts"]
        ok_subs = ok_subs and share <= 2.0
        print(
            f"  subscriptions {label:<19} {h['grid_contracts']} contracts for "
            f"{h['visible_contracts']} visible = {share:.2f}x (worst run; "
            f"{h['option_subscriptions']} option subscriptions over {h['kinds']} event kinds)"
        )
    rss = median(r["rss_mib"] for r in everything)
    print(f"  console peak RSS                       {rss:8.0f} MiB")
    print(f"  {loads[0]} before, {loads[1]} after")
    ok = ok_ratio and ok_subs
    print(
        f"targets (ratio <= {TARGET} on the simulator as is, subscriptions <= 2x visible):",
        "met" if ok else "MISSED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
