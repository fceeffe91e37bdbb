"""Quote-path benchmark: DXLink COMPACT frames → our decoder + QuoteStore, side by side with
plain ``json.loads`` and with the SDK's own parsing of the same frames.

Run: ``/work/.venv/bin/python benchmarks/quote_path.py [--events 200000] [--reps 5]``

A recorded-like session is generated first: Quote, Greeks and Trade events for 2,000 symbols
(200 stocks, 1,800 options), at most 250 events per FEED_DATA frame, realistic values with a
sprinkle of dxFeed ``"NaN"`` strings (index sizes, untraded changes, a few greeks).  The frames
use the SDK's field lists, so the SDK can parse exactly the same text.

Three ways through the same frames, measured in turn within every repetition (so machine noise
hits all three alike), medians over repetitions:

- ``json.loads``: parsing alone, the floor;
- ``tastytui``: :meth:`DxLinkProtocol.feed` — parse, dispatch, decode, write the store;
- ``SDK``: ``json.loads`` + ``Quote/Greeks/Trade.from_stream(values)``, which is what
  ``DXLinkStreamer`` does per frame (its queueing is left out, in its favour).

Targets: tastytui ≥ 0.5 × the ``json.loads`` rate, and ≥ 3 × the SDK's rate.
A last informational row replays frames in our own (shorter) field lists, which is what our
client really asks the server for.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from tastytrade.dxfeed import Greeks, Quote, Trade

from tastytui.domain.clock import SystemClock
from tastytui.services.dxlink import DxLinkProtocol
from tastytui.services.quotes import DEFAULT_EVENT_FIELDS, QuoteStore

SDK_CLASSES: dict[str, Any] = {"Quote": Quote, "Greeks": Greeks, "Trade": Trade}
SDK_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(info.alias or name for name, info in cls.model_fields.items())
    for kind, cls in SDK_CLASSES.items()
}
CHANNEL = 1
BATCH = 250
NAN = "NaN"


# --------------------------------------------------------------------------- the session


class Universe:
    """2,000 symbols with a random walk each, producing events as dicts of named fields."""

    def __init__(self, rng: random.Random, n_stocks: int = 200, n_options: int = 1_800) -> None:
        self.rng = rng
        self.stocks = [f"S{i:03d}" for i in range(n_stocks)]
        self.index_like = set(self.stocks[:5])  # no sizes on an index: "NaN" like dxFeed
        self.options: list[str] = []
        for i in range(n_options):
            root = self.stocks[i % n_stocks]
            strike = 50 + 5 * (i // n_stocks)
            kind = "C" if i % 2 else "P"
            self.options.append(f".{root}261218{kind}{strike}")
        self.price = {s: rng.uniform(10, 900) for s in self.stocks}
        self.price.update({s: rng.uniform(0.05, 60) for s in self.options})
        self.volume = dict.fromkeys(self.stocks + self.options, 0)
        self.ms = 1_763_478_000_000
        self.seq = 0

    def step(self, symbol: str) -> float:
        price = max(0.01, self.price[symbol] * (1 + self.rng.gauss(0, 0.0008)))
        self.price[symbol] = price
        self.ms += self.rng.randint(0, 3)
        self.seq += 1
        return price

    def quote(self, symbol: str) -> dict[str, Any]:
        mid = self.step(symbol)
        half = max(0.01, round(mid * 0.0004, 2))
        sizes: tuple[Any, Any] = (self.rng.randint(1, 5000), self.rng.randint(1, 5000))
        if symbol in self.index_like:
            sizes = (NAN, NAN)
        return {
            "eventSymbol": symbol, "eventTime": 0, "sequence": 0, "timeNanoPart": 0,
            "bidTime": self.ms, "bidExchangeCode": "Q", "askTime": self.ms,
            "askExchangeCode": "Q", "bidPrice": round(mid - half, 2),
            "askPrice": round(mid + half, 2), "bidSize": sizes[0], "askSize": sizes[1],
        }  # fmt: skip

    def greeks(self, symbol: str) -> dict[str, Any]:
        price = self.step(symbol)
        delta = self.rng.uniform(-1, 1)
        theta: Any = -abs(self.rng.gauss(0.05, 0.03))
        if self.rng.random() < 0.01:
            theta = NAN  # a model that did not converge
        return {
            "eventSymbol": symbol, "eventTime": 0, "eventFlags": 0,
            "index": (self.ms // 1000) << 32, "time": self.ms, "sequence": 0,
            "price": round(price, 3), "volatility": self.rng.uniform(0.1, 0.9),
            "delta": delta, "gamma": self.rng.uniform(0, 0.08), "theta": theta,
            "rho": self.rng.uniform(-0.2, 0.2), "vega": self.rng.uniform(0, 0.9),
        }  # fmt: skip

    def trade(self, symbol: str) -> dict[str, Any]:
        price = round(self.step(symbol), 2)
        size = self.rng.randint(1, 500)
        self.volume[symbol] += size
        change: Any = round(self.rng.gauss(0, 1), 2) if self.rng.random() > 0.02 else NAN
        return {
            "eventSymbol": symbol, "eventTime": 0, "time": self.ms, "timeNanoPart": 0,
            "sequence": self.seq, "exchangeCode": "Q", "dayId": 20410,
            "tickDirection": self.rng.choice(["UP", "DOWN", "ZERO_UP", "ZERO_DOWN"]),
            "extendedTradingHours": False, "price": price, "change": change, "size": size,
            "dayVolume": self.volume[symbol], "dayTurnover": round(self.volume[symbol] * price, 2),
        }  # fmt: skip


def record_session(
    n_events: int, layouts: dict[str, tuple[str, ...]], seed: int = 20261118
) -> tuple[list[str], dict[str, int]]:
    """COMPACT FEED_DATA frames (text) of about ``n_events`` events; and events per kind."""
    rng = random.Random(seed)
    universe = Universe(rng)
    everyone = universe.stocks + universe.options
    mix = [
        ("Quote", everyone, universe.quote, 0.45),
        ("Greeks", universe.options, universe.greeks, 0.30),
        ("Trade", everyone, universe.trade, 0.25),
    ]
    frames: list[str] = []
    counts = dict.fromkeys(SDK_CLASSES, 0)
    produced = 0
    while produced < n_events:
        kind, symbols, make, _ = rng.choices(mix, weights=[m[3] for m in mix])[0]
        batch = rng.randint(BATCH // 2, BATCH)
        order = layouts[kind]
        values: list[Any] = []
        for symbol in rng.sample(symbols, batch):
            event = make(symbol)
            values.extend(event.get(name, NAN) for name in order)
        message = {"type": "FEED_DATA", "channel": CHANNEL, "data": [kind, values]}
        frames.append(json.dumps(message, separators=(",", ":")))
        counts[kind] += batch
        produced += batch
    return frames, counts


# --------------------------------------------------------------------------- the three paths


def run_json(frames: list[str]) -> None:
    loads = json.loads
    for frame in frames:
        loads(frame)


def make_ours(layouts: dict[str, tuple[str, ...]]) -> tuple[Callable[[list[str]], None], Any]:
    store = QuoteStore(SystemClock())
    protocol = DxLinkProtocol(store, layouts, channel=CHANNEL)
    protocol.channel_open = True  # as after CHANNEL_OPENED + FEED_SETUP

    def run(frames: list[str]) -> None:
        feed = protocol.feed
        for frame in frames:
            feed(frame)

    return run, store


def make_sdk() -> tuple[Callable[[list[str]], None], list[int]]:
    parsed = [0]

    def run(frames: list[str]) -> None:
        loads = json.loads
        n = 0
        for frame in frames:
            data = loads(frame)["data"]
            n += len(SDK_CLASSES[data[0]].from_stream(data[1]))
        parsed[0] += n

    return run, parsed


def measure(
    paths: dict[str, Callable[[list[str]], None]],
    frames: list[str],
    reps: int,
    block: int = 40,
    only_first: dict[str, int] | None = None,
) -> dict[str, list[float]]:
    """CPU seconds per block of frames for every path, the paths taking turns block by block.

    CPU time (not wall time) and short alternating blocks keep a busy machine's noise out of
    the comparison: both sides of every ratio ran back to back on the same frames.
    """
    blocks = [frames[i : i + block] for i in range(0, len(frames), block)]
    times: dict[str, list[float]] = {name: [] for name in paths}
    clock = time.process_time
    for rep in range(reps):
        gc.collect()
        for chunk in blocks:
            for name, fn in paths.items():
                if only_first and rep >= only_first.get(name, reps):
                    continue
                start = clock()
                fn(chunk)
                times[name].append(clock() - start)
    return times


def per_rep(times: list[float], n_blocks: int) -> list[float]:
    """Block times summed into one total per repetition."""
    return [sum(times[i : i + n_blocks]) for i in range(0, len(times), n_blocks)]


def ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over paired blocks of numerator_time / denominator_time."""
    pairs = zip(numerator, denominator[: len(numerator)], strict=False)
    return statistics.median(n / d for n, d in pairs if d > 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sdk-reps", type=int, default=2, help="the SDK path is slow")
    args = parser.parse_args(argv)
    block = 40

    frames, counts = record_session(args.events, SDK_FIELDS)
    total = sum(counts.values())
    size = sum(len(f) for f in frames)
    n_blocks = -(-len(frames) // block)
    print(
        f"session: {total:,} events ({', '.join(f'{k} {v:,}' for k, v in counts.items())}) "
        f"in {len(frames):,} frames, {size / 1e6:.1f} MB, 2,000 symbols"
    )
    ours, store = make_ours(SDK_FIELDS)
    sdk, sdk_parsed = make_sdk()
    ours(frames)  # warm: every symbol exists, every plan is cached
    written = store.stats.events
    t = measure(
        {"json": run_json, "ours": ours, "sdk": sdk},
        frames,
        args.reps,
        block,
        only_first={"sdk": args.sdk_reps},
    )
    vs_json = ratio(t["json"], t["ours"])
    vs_sdk = ratio(t["sdk"], t["ours"])

    own_frames, own_counts = record_session(args.events, dict(DEFAULT_EVENT_FIELDS))
    own_total = sum(own_counts.values())
    own, _ = make_ours(dict(DEFAULT_EVENT_FIELDS))
    own(own_frames)
    t_own = measure({"json": run_json, "ours": own}, own_frames, args.reps, block)
    own_vs_json = ratio(t_own["json"], t_own["ours"])

    def rate(times: list[float], events: int = total) -> str:
        return f"{events / statistics.median(per_rep(times, n_blocks)):>12,.0f}"

    print()
    print(f"{'path (same frames, SDK field lists)':<46}{'events/s':>12}  ratio (median of pairs)")
    print(f"{'json.loads only':<46}{rate(t['json'])}")
    print(f"{'tastytui: parse + decode + QuoteStore':<46}{rate(t['ours'])}  {vs_json:.2f} x json")
    print(f"{'SDK: json.loads + from_stream':<46}{rate(t['sdk'])}  ours {vs_sdk:.1f} x faster")
    print(
        f"{'tastytui, own field lists (informational)':<46}"
        f"{rate(t_own['ours'], own_total)}  {own_vs_json:.2f} x json"
    )
    print()
    print(
        f"events/s are CPU-time rates; {args.reps} repetitions ({args.sdk_reps} for the SDK) "
        f"of {n_blocks} alternating {block}-frame blocks"
    )
    sdk_kept = sdk_parsed[0] // max(1, args.sdk_reps)
    print(
        f"events written by tastytui per pass: {written:,} (decode errors "
        f"{store.stats.decode_errors}); SDK kept {sdk_kept:,} (it drops events with a "
        "NaN in a required field)"
    )
    ok_json, ok_sdk = vs_json >= 0.5, vs_sdk >= 3.0
    print(
        f"targets: >= 0.5 x json.loads {'met' if ok_json else 'MISSED'}; "
        f">= 3 x SDK {'met' if ok_sdk else 'MISSED'}"
    )
    return 0 if ok_json and ok_sdk else 1


if __name__ == "__main__":
    sys.exit(main())
