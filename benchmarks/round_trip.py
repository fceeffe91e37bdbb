"""Order round trip: the confirm key → the order shown Filled in live orders, vs the bare SDK.

The simulator runs in its own process with a frozen tape (its mid never moves, so a limit at
the mid fills on arrival: routing 5 ms after the POST, then the fill).  In one process, taking
turns on the same simulator and the same event loop:

- **console**: ``TastyApp`` headless (200×50, ``run_test``); a one-share ticket of ``--symbol``
  is staged for review (``StageTicket``, the path of the builder's ``ctrl+o``) and, once the
  review screen says Ready, the clock starts and ``ctrl+y`` (confirm) is pressed; it stops at
  the first frame painted with the new order Filled in the live-orders pane (a wrapper around
  ``App._display`` installed by this script — headless drivers drop the bytes, the frame is
  rendered all the same).  The console's path: journal intent, the POST, the fill tracker, the
  account-stream push, the order event, the pane's diff and the frame.
- **SDK**: ``Account.place_order(session, LimitOrder(...), dry_run=False)`` with an
  ``AlertStreamer`` subscribed to the account, until the Filled push for that order arrives.

Every round buys one share (a sell-to-close would wait for the position push first), at the
price the console's review chose.
Medians over ``--rounds`` round trips each.

    python benchmarks/round_trip.py [--rounds 15] [--symbol F]

Target: console / SDK ≤ 1.5 (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from decimal import Decimal
from typing import Any

from _bench import load_average, median, sim_process, temp_home, write_config

TARGET = 1.5


async def _until(check: Any, limit: float, pause: float = 0.005) -> None:
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - polls what a user would see
            await asyncio.sleep(pause)


async def measure(
    symbol: str, rounds: int, think: float, latencies: list[float]
) -> dict[float, dict[str, list[float]]]:
    from tastytrade import Account, AlertStreamer, Session
    from tastytrade.order import (
        InstrumentType as SdkInstrumentType,
    )
    from tastytrade.order import (
        Leg as SdkLeg,
    )
    from tastytrade.order import (
        LimitOrder,
        OrderStatus,
        OrderTimeInForce,
        PlacedOrder,
    )
    from tastytrade.order import (
        OrderAction as SdkOrderAction,
    )
    from textual.app import App

    from tastytui.config import load
    from tastytui.domain.orders import InstrumentType, Leg, OrderAction
    from tastytui.domain.ticket import Ticket
    from tastytui.services.accounts import AccountService
    from tastytui.services.orders import OrderService
    from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN
    from tastytui.ui.app import TastyApp
    from tastytui.ui.messages import StageTicket
    from tastytui.ui.screens.review import ReviewScreen
    from tastytui.ui.widgets.builder import BuilderPane
    from tastytui.ui.widgets.orders import OrdersPane

    probe: dict[str, Any] = {}
    display = App._display

    def probed_display(self: App[Any], screen: Any, renderable: Any) -> None:
        display(self, screen, renderable)
        known = probe.get("known")
        if renderable is None or known is None or "at" in probe:
            return
        pane = self.main_screen.query_one(OrdersPane)  # type: ignore[attr-defined]
        if not pane.table.display:
            return
        for key, order in pane.orders.items():
            if key not in known and order.status.value == "Filled":
                probe["at"] = time.monotonic()
                probe["order_id"] = order.id
                return

    App._display = probed_display  # type: ignore[method-assign]

    # Where the console's time goes: the POST answered, the Filled push applied.
    send = OrderService.send
    apply_order = AccountService.apply_order

    async def probed_send(self: OrderService, *args: Any, **kwargs: Any) -> Any:
        sent = await send(self, *args, **kwargs)
        probe["posted"] = time.monotonic()
        return sent

    def probed_apply(self: AccountService, order: Any) -> Any:
        result = apply_order(self, order)
        if "known" in probe and order.status.value == "Filled" and "pushed" not in probe:
            probe["pushed"] = time.monotonic()
        return result

    OrderService.send = probed_send  # type: ignore[method-assign]
    AccountService.apply_order = probed_apply  # type: ignore[method-assign]

    config = load()
    app = TastyApp(config, "sim")
    results: dict[float, dict[str, list[float]]] = {}
    stages: dict[str, list[float]] = {"posted": [], "pushed": []}
    async with app.run_test(size=(200, 50)) as pilot:
        await _until(
            lambda: (
                app.services is not None
                and app.services.health.snapshot.account_stream.value == "up"
                and app.services.health.snapshot.last_reconcile_at is not None
            ),
            90,
            0.05,
        )
        await pilot.pause(1.0)
        services = app.services
        assert services is not None
        pane = app.main_screen.query_one(OrdersPane)
        account_number = services.accounts.current
        prices: dict[OrderAction, Decimal] = {}

        async def console_round(action: OrderAction) -> float:
            leg = Leg(InstrumentType.EQUITY, symbol, action, Decimal(1))
            app.post_message(StageTicket(Ticket(legs=(leg,)), review=True))
            try:
                await _until(
                    lambda: (
                        isinstance(app.screen, ReviewScreen)
                        and app.screen.is_mounted
                        and app.screen.status_text.startswith("Ready")
                    ),
                    30,
                    0.02,
                )
            except TimeoutError:
                status = getattr(app.screen, "status_text", "")
                builder = app.main_screen.query_one(BuilderPane)
                raise RuntimeError(
                    f"no sendable review: {status or builder.message or app.screen}"
                ) from None
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            price = screen.review.ticket.price
            assert price is not None
            prices[action] = price
            await pilot.pause(think)  # the trader reads the review
            for key in ("at", "posted", "pushed"):
                probe.pop(key, None)
            probe["known"] = set(pane.orders)
            start = time.monotonic()
            await pilot.press("ctrl+y")
            await _until(lambda: "at" in probe, 30)
            elapsed = float(probe["at"]) - start
            for key, values in stages.items():
                values.append(float(probe.get(key, float("nan"))) - start)
            del probe["known"]
            await _until(lambda: not isinstance(app.screen, ReviewScreen), 10, 0.02)
            return elapsed

        session = Session(
            provider_secret=SIM_CLIENT_SECRET, refresh_token=SIM_REFRESH_TOKEN, trust_env=False
        )
        session._client.base_url = services.broker.endpoint.api_url
        async with session:
            sdk_account = await Account.get(session, account_number)
            streamer = AlertStreamer(session)
            streamer.base_url = services.broker.endpoint.streamer_url
            filled: dict[int, float] = {}
            async with streamer:
                await streamer.subscribe_accounts([sdk_account])

                async def listen() -> None:
                    async for order in streamer.listen(PlacedOrder):
                        if order.status == OrderStatus.FILLED:
                            filled.setdefault(order.id, time.monotonic())

                listener = asyncio.create_task(listen())

                async def sdk_round(action: OrderAction) -> float:
                    order = LimitOrder(
                        legs=[
                            SdkLeg(
                                instrument_type=SdkInstrumentType.EQUITY,
                                symbol=symbol,
                                action=SdkOrderAction(action.value),
                                quantity=1,
                            )
                        ],
                        time_in_force=OrderTimeInForce.DAY,
                        price=prices[action],
                    )
                    await asyncio.sleep(think)
                    start = time.monotonic()
                    placed = await sdk_account.place_order(session, order, dry_run=False)
                    order_id = placed.order.id
                    await _until(lambda: order_id in filled, 30)
                    return filled[order_id] - start

                buy = OrderAction.BUY_TO_OPEN
                for latency in latencies:
                    # A slower broker: the simulator holds every order POST this long.
                    await session._client.delete("/_sim/faults/http")
                    if latency:
                        fault = {
                            "delay": latency,
                            "fraction": 1.0,
                            "path-prefix": "/accounts/",
                            "method": "POST",
                        }
                        await session._client.post("/_sim/faults/http", json=fault)
                    await console_round(buy)  # warm-up, not timed: both paths, and the price
                    await sdk_round(buy)
                    for values in stages.values():
                        values.clear()
                    ui_times: list[float] = []
                    sdk_times: list[float] = []
                    for i in range(rounds):
                        if i % 2 == 0:
                            ui_times.append(await console_round(buy))
                            sdk_times.append(await sdk_round(buy))
                        else:
                            sdk_times.append(await sdk_round(buy))
                            ui_times.append(await console_round(buy))
                    results[latency] = {
                        "console": ui_times,
                        "sdk": sdk_times,
                        **{k: list(v) for k, v in stages.items()},
                    }
                listener.cancel()
    return results


def report(symbol: str, latency: float, result: dict[str, list[float]]) -> bool:
    ours, sdk = median(result["console"]), median(result["sdk"])
    pairs = median(c / s for c, s in zip(result["console"], result["sdk"], strict=True))
    ratio = ours / sdk
    broker = f"order POSTs held {latency * 1000:.0f} ms" if latency else "immediate (as in issue 6)"
    print(f"broker: {broker}; {len(result['sdk'])} rounds each, medians")
    print(f"  SDK: place_order -> Filled push          {sdk * 1000:7.0f} ms")
    print(f"  console: ctrl+y -> Filled painted        {ours * 1000:7.0f} ms")
    print(
        f"  ratio (medians)                          {ratio:7.2f}   (median of pairs {pairs:.2f})"
    )
    posted = median(v for v in result["posted"] if v == v)  # NaN: not seen in that round
    pushed = median(v for v in result["pushed"] if v == v)
    print(
        f"  console stages (medians): POST answered {posted * 1000:.0f} ms, Filled push applied "
        f"{pushed * 1000:.0f} ms, frame painted {ours * 1000:.0f} ms (the pane shows the order "
        "from the POST's answer at once, Filled once that push is applied)"
    )
    spread = {k: [round(v * 1000) for v in result[k]] for k in ("console", "sdk")}
    print(f"  all (ms, in order): {json.dumps(spread)}")
    return ratio <= TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="round trips of each (default 15)")
    parser.add_argument("--symbol", default="F", help="a stock of the simulator (default F)")
    parser.add_argument(
        "--think",
        type=float,
        default=2.0,
        help="seconds between the review showing Ready and the confirm key (default 2)",
    )
    parser.add_argument(
        "--broker-latency",
        type=float,
        default=0.1,
        metavar="S",
        help="also measure with order POSTs held S seconds by the simulator, like a broker "
        "over a WAN (informational; 0 skips it; default 0.1)",
    )
    args = parser.parse_args()

    import os

    sim = sim_process(seed=7, extra=["--frozen"])
    home = temp_home("round-trip")
    config = write_config(home, sim.base_url, watchlist=[args.symbol])
    os.environ.update(
        TASTYTUI_CONFIG=str(config),
        TASTYTUI_CONFIG_DIR=str(home / "config"),
        TASTYTUI_DATA_DIR=str(home / "data"),
    )
    latencies = [0.0] + ([args.broker_latency] if args.broker_latency > 0 else [])
    before = load_average()
    try:
        results = asyncio.run(measure(args.symbol, args.rounds, args.think, latencies))
    finally:
        sim.stop()
    after = load_average()
    print(
        f"order round trip: 1 share of {args.symbol} at the mid, confirmed {args.think:g} s "
        "after the review"
    )
    ok = report(args.symbol, 0.0, results[0.0])
    for latency in latencies[1:]:
        report(args.symbol, latency, results[latency])
    print(f"  {before} before, {after} after")
    print(f"target (ratio <= {TARGET} with the immediate broker):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
