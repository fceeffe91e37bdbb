"""Fault soak: the console headless against the simulator, orders and faults on a schedule.

The console (the real ``TastyApp``, headless, 160×45) runs against the simulator in a child
process.  Three seeded traders place, replace and cancel random valid single- and multi-leg
orders through the order builder's path (``services.orders.review`` → ``send``), a third task
opens chains and switches panes with the keys, and a fault schedule hits the simulator through
its ``/_sim/`` control API: token expiry, 401 / 429 / 5xx bursts, slow responses, order POSTs
whose answer is lost or refused, DXLink and account-stream drops, stale symbols, silent
position closures, fill-model changes (partial, delayed …), rejections — and, half-way, the
console is stopped with an order in flight and started again over the same journal.

Checked throughout and at the end (see ``soak_checks``): no duplicate or lost orders, no leg
filled without its siblings, every fill and rejection surfaced, every silent closure found by
the next reconciliation, every injected stale symbol flagged, every stream drop recovered, no
unhandled exception anywhere, and the longest event-loop stall.  Prints a table and exits 1
when an invariant fails::

    python benchmarks/soak.py --seconds 1800 --seed 1 --report soak-1800.json

Short runs compress the schedule (fault periods, reconciliation interval, the REST polling
fallback) so every kind of fault happens in a minute; 30 minutes runs it at full scale.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import random
import resource
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/soak.py`
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from benchmarks.soak_checks import SeenOrder, judge, ours
from benchmarks.soak_driver import TRADED, DriverStats, Trader
from benchmarks.soak_sim import SimUnderTest
from tastytui.config import load
from tastytui.domain.ticket import PriceMode
from tastytui.secrets import install_log_redaction
from tastytui.services.events import Notice, OrderEvent
from tastytui.services.fills import poll_interval
from tastytui.services.reconcile import FindingKind
from tastytui.services.runtime import Services, endpoint_for
from tastytui.sim.config import SIM_MARGIN_ACCOUNT
from tastytui.ui.app import TastyApp
from tastytui.ui.connect import EndpointConnector, Status
from tastytui.ui.messages import SymbolChosen

ACCOUNT = SIM_MARGIN_ACCOUNT
STALL_LIMIT = 0.250
#: Symbols whose chains the console opens (the traded ones and a few more).
CHAIN_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN")
#: Board symbols the stale fault picks from (not traded: pricing never depends on them).
STALE_CANDIDATES = ("MSFT", "TSLA", "AMZN", "NVDA", "AAPL")
#: Full-scale period of each fault, in seconds (a 30-minute run); short runs compress them.
PERIODS: dict[str, float] = {
    "token_expiry": 60,
    "quote_token_expiry": 300,
    "http_401": 90,
    "http_429": 75,
    "http_5xx": 60,
    "order_change_5xx": 120,
    "slow_responses": 45,
    "lost_answer": 180,
    "dxlink_drop": 100,
    "account_stream_drop": 110,
    "stale_symbol": 150,
    "silent_close": 150,
    "fill_model": 60,
    "reject_next": 80,
    "reject_burst": 300,
}
FILL_MODELS = ("mid", "partial", "delayed", "touch", "cross", "mid", "partial")


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    seconds: float
    seed: int
    workdir: Path
    stall_limit: float = STALL_LIMIT
    #: Record the loop thread's stack whenever it is late (diagnostics).
    stall_stacks: bool = False

    @property
    def compression(self) -> float:
        """Fault periods × this (1 at 30 minutes, 0.1 for a one-minute run)."""
        return min(1.0, max(0.1, self.seconds / 1800.0))

    @property
    def reconcile_interval(self) -> float:
        return 5.0 if self.seconds < 600 else 15.0

    @property
    def poll_scale(self) -> float:
        """The REST polling fallback (5 s / 15 s / 60 s) × this."""
        return 0.2 if self.seconds < 600 else 1.0

    def config_text(self) -> str:
        return f"""
[profiles.sim]
account = "{ACCOUNT}"

[profiles.sim.risk]
max_contracts_per_order = 20
max_bp_effect_per_order = 50000
max_loss_per_trade = 20000
daily_loss_limit = 10000000
max_position_per_underlying = 100000

[rest]
rate = 20.0
burst = 40.0
timeout = 3.0
breaker_cooldown = 4.0

[streaming]
stale_after = 3.0

[reconcile]
interval = {self.reconcile_interval}
"""


def timeline(options: Options, rng: random.Random) -> list[tuple[float, str]]:
    """(second of the run, fault kind), sorted; every kind at least once."""
    scale = options.compression
    end = max(1.0, options.seconds - 5.0)
    out: list[tuple[float, str]] = []
    for kind, period in PERIODS.items():
        step = period * scale
        at = rng.uniform(0.15, 0.9) * min(step, end)
        while at < end:
            out.append((at, kind))
            at += step * rng.uniform(0.8, 1.2)
    return sorted(out)


def scaled_schedule(scale: float) -> Callable[[float], float]:
    def schedule(elapsed: float) -> float:
        return poll_interval(elapsed / scale) * scale

    return schedule


# --------------------------------------------------------------------------- observation


@dataclass
class StallMonitor:
    """Sleep overshoot of the console's event loop: how long it could not run anything."""

    interval: float = 0.02
    steady: bool = False
    max_steady: float = 0.0
    max_any: float = 0.0
    samples: int = 0
    over_100ms: int = 0
    over_limit: int = 0
    limit: float = STALL_LIMIT
    worst_at: float = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - start - self.interval)
            self.max_any = max(self.max_any, lag)
            if not self.steady:
                continue
            self.samples += 1
            if lag > self.max_steady:
                self.max_steady = lag
                self.worst_at = time.perf_counter()
            if lag > 0.1:
                self.over_100ms += 1
            if lag > self.limit:
                self.over_limit += 1


class StallSampler:
    """A watchdog thread: when the loop's heartbeat is late, record what the loop thread runs.

    Diagnostics only (``--stall-stacks``): the stacks show which code held the loop.
    """

    def __init__(
        self, path: Path, late: float = 0.15, collecting: Callable[[], int | None] = lambda: None
    ) -> None:
        self.path = path
        self.late = late
        #: The generation the garbage collector is collecting right now, if any.
        self.collecting = collecting
        self.beat = time.monotonic()
        self.loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    async def heartbeat(self) -> None:
        while True:
            self.beat = time.monotonic()
            await asyncio.sleep(0.01)

    def _watch(self) -> None:
        last_dump = 0.0
        with self.path.open("a", encoding="utf-8") as out:
            while not self._stop.wait(0.05):
                late = time.monotonic() - self.beat
                if late < self.late or time.monotonic() - last_dump < 0.1:
                    continue
                frame = sys._current_frames().get(self.loop_thread)
                if frame is None:
                    continue
                last_dump = time.monotonic()
                stack = "".join(traceback.format_stack(frame, limit=25))
                generation = self.collecting()
                during = "" if generation is None else f" (in a gen{generation} collection)"
                out.write(f"--- loop late by {late * 1000:.0f} ms{during}\n{stack}\n")
                out.flush()


@dataclass
class GcWatch:
    """How long the cyclic garbage collector held the loop, per generation."""

    longest: dict[int, float] = field(default_factory=lambda: {0: 0.0, 1: 0.0, 2: 0.0})
    count: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    total: float = 0.0
    #: The generation being collected now (None between collections).
    current: int | None = None
    #: Collections over 100 ms: (seconds into the run, generation, ms).
    slow: list[tuple[float, int, float]] = field(default_factory=list)
    _began: float = 0.0
    #: ``time.perf_counter()`` at install: times in the report count from here.
    origin: float = 0.0

    def install(self) -> None:
        self.origin = time.perf_counter()
        gc.callbacks.append(self._callback)

    def remove(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        generation = info.get("generation", 2)
        if phase == "start":
            self.current = generation
            self._began = time.perf_counter()
            return
        self.current = None
        spent = time.perf_counter() - self._began
        self.total += spent
        self.count[generation] += 1
        self.longest[generation] = max(self.longest[generation], spent)
        if spent > 0.1:
            at = round(self._began - self.origin, 1)
            self.slow.append((at, generation, round(spent * 1000, 1)))

    def summary(self) -> dict[str, Any]:
        return (
            {f"gen{g} collections": self.count[g] for g in (0, 1, 2)}
            | {f"gen{g} longest (ms)": round(self.longest[g] * 1000, 1) for g in (0, 1, 2)}
            | {"total (s)": round(self.total, 2), "over 100 ms (s, gen, ms)": self.slow}
        )


class ErrorLog(logging.Handler):
    """Collects ERROR records from tastytui's loggers: each is an unhandled problem."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tastytui"):
            text = f"log {record.name}: {record.getMessage()}"
            if record.exc_text:
                text += "\n" + record.exc_text[-800:]
            self.sink.append(text)


@dataclass
class Observed:
    orders: dict[int, SeenOrder] = field(default_factory=dict)
    notices: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def on_order(self, event: OrderEvent) -> None:
        seen = self.orders.setdefault(event.order_id, SeenOrder())
        seen.statuses.append(event.status)
        seen.max_filled = max(seen.max_filled, event.filled_quantity)
        if event.reject_reason:
            seen.reject_reason = event.reject_reason

    def on_notice(self, notice: Notice) -> None:
        self.notices[notice.level.value] += 1


class SoakConnector(EndpointConnector):
    """The test connector, plus the soak's listeners attached before any job starts."""

    def __init__(self, *args: Any, on_services: Callable[[Services], None], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.on_services = on_services

    async def connect(self, status: Status) -> Services:
        services = await super().connect(status)
        self.on_services(services)
        return services


@dataclass
class FaultBook:
    injected: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    closures_found: int = 0
    closure_cycles: list[int] = field(default_factory=list)
    closures_missed: list[str] = field(default_factory=list)
    closures_unverified: int = 0
    stale_flagged: int = 0
    stale_latency: list[float] = field(default_factory=list)
    drops_recovered: int = 0
    recovery_latency: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------- the soak


class Soak:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.sim = SimUnderTest(options.workdir, seed=options.seed)
        self.stats = DriverStats()
        self.observed = Observed()
        self.faults = FaultBook()
        self.stalls = StallMonitor(limit=options.stall_limit)
        self.gc = GcWatch()
        self.quarantine: set[str] = set()
        self.traders = [
            Trader(
                random.Random(self.rng.random()),
                ACCOUNT,
                self.stats,
                excluded=lambda: self.quarantine,
            )
            for _ in range(3)
        ]
        self.services: Services | None = None
        self.app: TastyApp | None = None
        self.generation = 0
        self.ui_actions: Counter[str] = Counter()
        self.halts_resumed = 0
        #: Slow full collections whose survivors the console froze (ui/heap.py), per life.
        self.heap_refreezes: dict[str, int] = {}
        self.restart: dict[str, Any] = {}
        self.checks: set[asyncio.Task[None]] = set()
        self.started = 0.0
        #: Set while the schedule may inject (cleared around the restart's staged order).
        self.faults_allowed = asyncio.Event()
        self.faults_allowed.set()
        self.volumes: dict[str, Any] = {}
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ wiring

    def _on_services(self, services: Services) -> None:
        services.events.subscribe(self.observed.on_order, OrderEvent)
        services.events.subscribe(self.observed.on_notice, Notice)
        services.fills.schedule = scaled_schedule(self.options.poll_scale)

    def _build_app(self) -> TastyApp:
        path = self.options.workdir / "config.toml"
        path.write_text(self.options.config_text(), encoding="utf-8")
        config = load(path, {})
        _, profile = config.active("sim")
        endpoint = endpoint_for("sim", profile, sim_url=self.sim.base_url)
        state = self.options.workdir / "state"
        state.mkdir(exist_ok=True)
        connector = SoakConnector(
            config, "sim", endpoint, state_dir=state, on_services=self._on_services
        )
        return TastyApp(config, "sim", connector=connector)

    def _spy_on_workers(self, app: TastyApp) -> None:
        """Record every worker that ended in ERROR (exit_on_error=False hides them)."""
        manager = app.workers
        remove = manager._remove_worker

        def removed(worker: Worker[Any]) -> None:
            if worker.state is WorkerState.ERROR:
                error = worker.error
                text = "".join(traceback.format_exception(error, limit=-4)) if error else ""
                self.observed.errors.append(f"worker {worker.name!r} failed: {text.strip()}")
            remove(worker)

        manager._remove_worker = removed  # type: ignore[method-assign]

    @contextlib.asynccontextmanager
    async def console(self, label: str) -> AsyncIterator[Pilot[None]]:
        """One life of the console: start, wait until every link is up, yield, stop."""
        app = self._build_app()
        self._spy_on_workers(app)
        begun = time.monotonic()
        try:
            async with app.run_test(size=(160, 45), notifications=True) as pilot:
                await self._wait_ready(app)
                self.timings[f"start-up {label} (s)"] = round(time.monotonic() - begun, 2)
                self.app = app
                self.services = app.services
                self.generation += 1
                for trader in self.traders:
                    trader.services = app.services
                self.stalls.steady = True
                try:
                    yield pilot
                finally:
                    self.stalls.steady = False
                    for trader in self.traders:
                        trader.services = None
                    self.heap_refreezes[label] = app._heap.refreezes
                    self.services = None
                    self.app = None
        except Exception as exc:  # the app crashed: Textual re-raises its panic here
            text = "".join(traceback.format_exception(exc, limit=-6)).strip()
            self.observed.errors.append(f"console ({label}) crashed: {text}")
            raise

    async def _wait_ready(self, app: TastyApp) -> None:
        async with asyncio.timeout(90.0):  # the first start imports the SDK
            while True:
                services = app.services
                if services is not None and services.health.snapshot.ready:
                    return
                await asyncio.sleep(0.05)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # ------------------------------------------------------------------ the run

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        await self.sim.start()
        self.gc.install()
        monitor = asyncio.create_task(self.stalls.run(), name="stall-monitor")
        sampler = None
        heartbeat: asyncio.Task[None] | None = None
        if self.options.stall_stacks:
            sampler = StallSampler(
                self.options.workdir / "stall-stacks.txt", collecting=lambda: self.gc.current
            )
            sampler.start()
            heartbeat = asyncio.create_task(sampler.heartbeat())
        scheduler: asyncio.Task[None] | None = None
        try:
            async with self.console("first") as pilot:
                self.started = time.monotonic()
                scheduler = asyncio.create_task(self._fault_loop(), name="faults")
                await self._operate(pilot, self.options.seconds / 2)
                await self._interrupt_an_order_in_flight()
            restarted = time.monotonic()
            async with self.console("after the restart") as pilot:
                self.timings["console down (s)"] = round(time.monotonic() - restarted, 2)
                check = asyncio.create_task(self._check_restart_recovery())
                self.checks.add(check)
                await self._operate(pilot, self.options.seconds - self.elapsed())
                if scheduler is not None:
                    scheduler.cancel()
                    await asyncio.gather(scheduler, return_exceptions=True)
                await self._drain(pilot)
                return await self._final()
        finally:
            self.gc.remove()
            if sampler is not None:
                sampler.stop()
            if heartbeat is not None:
                heartbeat.cancel()
            monitor.cancel()
            if scheduler is not None:
                scheduler.cancel()
            for task in self.checks:
                task.cancel()
            await asyncio.gather(monitor, *self.checks, return_exceptions=True)
            sim_errors = self.sim.stderr_text()
            await self.sim.stop()
            self.volumes["simulator stderr tracebacks"] = sim_errors.count("Traceback")

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        text = context.get("message", "")
        if exc is not None:
            text += ": " + "".join(traceback.format_exception(exc, limit=-4)).strip()
        self.observed.errors.append(f"event loop: {text}")

    async def _operate(self, pilot: Pilot[None], seconds: float) -> None:
        """Trade and use the console for ``seconds``."""
        tasks = [
            asyncio.create_task(trader.run(), name=f"trader-{i}")
            for i, trader in enumerate(self.traders)
        ]
        tasks.append(asyncio.create_task(self._use_console(pilot), name="console-user"))
        try:
            await asyncio.sleep(max(0.0, seconds))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ the console user

    async def _use_console(self, pilot: Pilot[None]) -> None:
        rng = random.Random(self.rng.random())
        app = pilot.app
        assert isinstance(app, TastyApp)
        while True:
            await asyncio.sleep(rng.uniform(0.4, 1.2))
            if app._exception is not None or not app.is_running:
                return
            services = app.services
            if services is not None and services.health.snapshot.orders_halted:
                # The user reads the finding and resumes orders (ctrl+r).
                await asyncio.sleep(0.5)
                await pilot.press("ctrl+r")
                if services.health.snapshot.orders_halted:
                    app.action_resume_orders()
                self.halts_resumed += 1
            if app.screen is not app.main_screen:
                await pilot.press("escape")
                continue
            roll = rng.random()
            if roll < 0.5:
                if isinstance(app.focused, Input):
                    app.set_focus(None)  # digits would type into an input
                await pilot.press(rng.choice("12345"))
                self.ui_actions["pane switches (1-5)"] += 1
            elif roll < 0.8:
                app.post_message(SymbolChosen(rng.choice(CHAIN_SYMBOLS), add_to_board=False))
                self.ui_actions["chains opened (message)"] += 1
            else:
                await pilot.press("slash")
                await pilot.press(*rng.choice(CHAIN_SYMBOLS).lower())
                await pilot.press("enter")
                for _ in range(60):  # the broker confirms the ticker, then the screen closes
                    if app.screen is app.main_screen:
                        break
                    await asyncio.sleep(0.05)
                else:
                    await pilot.press("escape")
                self.ui_actions["chains opened (/)"] += 1

    # ------------------------------------------------------------------ faults

    async def _fault_loop(self) -> None:
        plan = timeline(self.options, random.Random(self.rng.random()))
        self.volumes["faults scheduled"] = len(plan)
        rng = random.Random(self.rng.random())
        for at, kind in plan:
            await asyncio.sleep(max(0.0, at - self.elapsed()))
            await self.faults_allowed.wait()
            try:
                await self._inject(kind, rng)
            except Exception as exc:  # the control API failing is the harness's problem
                self.faults.failures.append(f"injecting {kind} failed: {exc!r}")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.checks.add(task)
        task.add_done_callback(self.checks.discard)

    async def _inject(self, kind: str, rng: random.Random) -> None:
        sim = self.sim
        orders = f"/accounts/{ACCOUNT}/orders"
        if kind == "token_expiry":
            await sim.post("tokens/expire")
        elif kind == "quote_token_expiry":
            await sim.post("quote-tokens/expire")
        elif kind == "http_401":
            for _ in range(rng.randint(1, 3)):  # single 401s: each costs one forced refresh
                # API paths only: a 401 from /oauth/token means a bad grant, not a stale token.
                body = {"status": 401, "count": 1, "path-prefix": "/accounts"}
                await sim.post("faults/http", body)
                await asyncio.sleep(0.3)
        elif kind == "http_429":
            body = {"status": 429, "count": rng.randint(2, 6), "retry-after": 0.5}
            await sim.post("faults/http", body)
        elif kind == "http_5xx":
            status = rng.choice((500, 502, 503, 504))
            await sim.post("faults/http", {"status": status, "count": 3, "method": "GET"})
        elif kind == "order_change_5xx":
            method = rng.choice(("POST", "POST", "PUT", "DELETE"))
            await sim.post(
                "faults/http", {"status": 503, "count": 1, "method": method, "path-prefix": orders}
            )
        elif kind == "slow_responses":
            await sim.post("faults/http", {"delay": rng.uniform(0.5, 2.0), "count": 6})
        elif kind == "lost_answer":
            # Slower than the client's 3 s timeout: processed after the client gave up.
            body = {"delay": 4.0, "count": 1, "method": "POST", "path-prefix": orders}
            await sim.post("faults/http", body)
        elif kind in ("dxlink_drop", "account_stream_drop"):
            which = "dxlink" if kind == "dxlink_drop" else "account"
            services = self.services
            before = self._reconnects(services, which)
            await sim.post("streams/drop", {"which": which})
            if services is not None:
                self._spawn(self._check_recovery(services, which, before))
        elif kind == "stale_symbol":
            services = self.services
            if services is None:
                self.faults.skipped[kind] += 1
                return
            await self._stale(services, rng)
            return
        elif kind == "silent_close":
            services = self.services
            if services is None or not self._closure_allowed():
                self.faults.skipped[kind] += 1
                return
            if not await self._close_silently(services, rng):
                self.faults.skipped[kind] += 1
                return
        elif kind == "fill_model":
            await sim.post("fill-model", {"model": rng.choice(FILL_MODELS), "delay": 1.5})
        elif kind == "reject_next":
            reason = f"Soak rejection {self.faults.injected[kind] + 1}: price outside the NBBO"
            await sim.post("orders/reject-next", {"reason": reason})
        elif kind == "reject_burst":
            await sim.post("fill-model", {"model": "reject"})
            await asyncio.sleep(2.0)
            await sim.post("fill-model", {"model": "mid"})
        self.faults.injected[kind] += 1

    @staticmethod
    def _reconnects(services: Services | None, which: str) -> int:
        """Sessions that came up so far (a drop is recovered by a later one).  Not the count
        of losses: a drop while the stream is between attempts loses nothing, and its
        recovery is the next session, not another loss."""
        if services is None:
            return 0
        if which == "dxlink":
            return services.dxlink.reconnects
        return services.account_stream.sessions

    async def _check_recovery(self, services: Services, which: str, before: int) -> None:
        begun = time.monotonic()

        def recovered() -> bool:
            if which == "dxlink":
                return services.dxlink.reconnects > before and services.dxlink.connected
            stream = services.account_stream
            return stream.sessions > before and stream.connected.is_set()

        deadline = begun + 30.0
        while time.monotonic() < deadline:
            if self.services is not services:
                return  # the console restarted meanwhile: its own start-up connected afresh
            if recovered():
                self.faults.drops_recovered += 1
                self.faults.recovery_latency.append(time.monotonic() - begun)
                return
            await asyncio.sleep(0.05)
        self.faults.failures.append(f"{which} stream not recovered within 30 s of a drop")

    async def _stale(self, services: Services, rng: random.Random) -> None:
        watched = {symbol for _, symbol in services.dxlink.subscriptions()}
        choices = [s for s in STALE_CANDIDATES if s in watched]
        if not choices:
            self.faults.skipped["stale_symbol"] += 1
            return
        symbol = rng.choice(choices)
        await self.sim.post("symbols/stale", {"symbol": symbol, "stale": True})
        self.faults.injected["stale_symbol"] += 1
        self._spawn(self._check_stale(services, symbol))

    async def _check_stale(self, services: Services, symbol: str) -> None:
        after = services.config.streaming.stale_after
        begun = time.monotonic()
        try:
            flagged = False
            while time.monotonic() < begun + after + 10.0:
                if self.services is not services:
                    return
                age = services.store.age(symbol)
                if (
                    age is not None
                    and age > after
                    and services.health.snapshot.stale_symbols >= 1
                    and symbol in services.store.stale_symbols(after, [symbol])
                ):
                    flagged = True
                    break
                await asyncio.sleep(0.1)
            if not flagged:
                self.faults.failures.append(f"stale {symbol} not flagged within {after + 10:g} s")
                return
            self.faults.stale_flagged += 1
            self.faults.stale_latency.append(time.monotonic() - begun)
        finally:
            await self.sim.post("symbols/stale", {"symbol": symbol, "stale": False})
        recovered_by = time.monotonic() + 15.0
        while time.monotonic() < recovered_by:
            if self.services is not services:
                return
            age = services.store.age(symbol)
            if age is not None and age < after:
                return
            await asyncio.sleep(0.1)
        self.faults.failures.append(f"stale {symbol} did not stream again within 15 s")

    # ------------------------------------------------------------------ silent closures

    def _closure_allowed(self) -> bool:
        """Not within two reconciliation cycles of the restart (the check needs them)."""
        half = self.options.seconds / 2
        margin = 2 * self.options.reconcile_interval + 3.0
        return not (half - margin <= self.elapsed() <= half)

    def _recently_traded(self, services: Services) -> set[str]:
        """Symbols of our orders that are working or changed within three cycles."""
        horizon = services.clock.now().timestamp() - 3 * self.options.reconcile_interval
        symbols: set[str] = set()
        for entry in services.journal.recent(500, services.profile_name):
            if entry.updated_at.timestamp() >= horizon or not entry.state.is_terminal:
                symbols.update(leg.symbol for leg in entry.ticket.legs)
        return symbols

    async def _close_silently(self, services: Services, rng: random.Random) -> bool:
        busy = self._recently_traded(services) | self.quarantine
        tiers: dict[int, list[tuple[str, str]]] = {0: [], 1: []}
        for account in services.accounts.account_numbers():
            for position in services.accounts.held(account):
                if position.symbol in busy:
                    continue
                tier = 1 if position.underlying in TRADED else 0
                tiers[tier].append((account, position.symbol))
        pool = tiers[0] or tiers[1]
        if not pool:
            return False
        account, symbol = rng.choice(pool)
        self.quarantine.add(symbol)  # the traders leave it alone from now on
        runs = services.reconciler.runs
        at = services.clock.now()
        await self.sim.post("positions/close-silently", {"account": account, "symbol": symbol})
        self._spawn(self._check_closure(services, account, symbol, runs, at))
        return True

    async def _check_closure(
        self, services: Services, account: str, symbol: str, runs: int, at: Any
    ) -> None:
        reconciler = services.reconciler
        deadline = time.monotonic() + 4 * self.options.reconcile_interval + 30.0
        while time.monotonic() < deadline:
            if self.services is not services:
                self.faults.closures_unverified += 1
                return
            found = any(
                f.symbol == symbol
                and f.account == account
                and f.kind in (FindingKind.VANISHED, FindingKind.QUANTITY)
                and f.at >= at
                for f in reconciler.findings
            )
            if found:
                self.faults.closures_found += 1
                self.faults.closure_cycles.append(reconciler.runs - runs)
                return
            # A run in progress at the closure may have read the book before it: the next one
            # (runs + 2 at the latest) is "one reconciliation cycle".
            if reconciler.runs >= runs + 2:
                break
            await asyncio.sleep(0.05)
        self.faults.closures_missed.append(
            f"{account} {symbol.strip()}: not found by reconciliation run {reconciler.runs} "
            f"(closed after run {runs})"
        )

    # ------------------------------------------------------------------ the restart

    async def _interrupt_an_order_in_flight(self) -> None:
        """An order POST that the simulator holds when the console goes away (killed)."""
        services = self.services
        assert services is not None
        # Only this order's fault may be pending: the arrival count below must be its own.
        self.faults_allowed.clear()
        await self.sim.control("DELETE", "faults/http")
        refusals: list[str] = []
        for _ in range(10):
            review = await self._review_to_interrupt(services)
            if review is None:
                self.restart["error"] = "could not review an order to interrupt"
                self.faults_allowed.set()
                return
            before = (await self.sim.state())["injected"].get("http_delay", 0)
            orders = f"/accounts/{ACCOUNT}/orders"
            body = {"delay": 2.5, "count": 1, "method": "POST", "path-prefix": orders}
            await self.sim.post("faults/http", body)
            send = asyncio.create_task(services.orders.send(review))
            held = False
            async with asyncio.timeout(30):
                while not send.done():  # until the simulator holds the POST
                    if (await self.sim.state())["injected"].get("http_delay", 0) > before:
                        held = True
                        break
                    await asyncio.sleep(0.05)
            if held:
                break
            # Refused before the POST (halted by a finding, the breaker, a stale review):
            # the user reads why and tries again; the fault is still armed for the next POST.
            exc = send.exception() if not send.cancelled() else None
            refusals.append(f"{type(exc).__name__}: {exc}"[:200] if exc else "sent unheld")
            await self.sim.control("DELETE", "faults/http")
            await asyncio.sleep(0.5)
        else:
            self.restart["error"] = f"no order could be interrupted: {refusals}"
            self.faults_allowed.set()
            return
        if refusals:
            self.restart["refused before the staged one"] = refusals
        await asyncio.sleep(0.2)  # the body is on the wire too
        send.cancel()  # the console dies while the simulator holds the POST
        await asyncio.gather(send, return_exceptions=True)
        newest = services.journal.recent(1, services.profile_name)[0]
        self.restart["intent"] = newest.intent_id
        self.restart["state when interrupted"] = newest.state.value
        self.stats.sends += 1
        # Faults wait until the simulator has processed the held POST (a token expiry now
        # would make it refuse the order: a fine outcome, but not the one staged here).
        self._spawn(self._allow_faults_once_placed(newest.intent_id))

    async def _review_to_interrupt(self, services: Services) -> Any:
        """A fresh, sendable review of an opening vertical (orders resumed if halted)."""
        trader = self.traders[0]
        for _ in range(20):
            if services.reconciler.halted is not None:
                services.reconciler.resume_orders()  # what the user does with ctrl+r
                self.halts_resumed += 1
            try:
                ticket, _ = await trader._build(services, "SPY", "credit_put_vertical")
                candidate = await services.orders.review(ticket, ACCOUNT, price_mode=PriceMode.MID)
            except Exception:  # a fault may hit the review: try again
                await asyncio.sleep(0.2)
                continue
            if candidate.sendable and not any(s in self.quarantine for s in ticket_symbols(ticket)):
                return candidate
            await asyncio.sleep(0.2)
        return None

    async def _allow_faults_once_placed(self, intent: str) -> None:
        try:
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                orders = await self._broker_orders()
                if any(o.external_identifier == intent for o in orders.values()):
                    return
                await asyncio.sleep(0.1)
        finally:
            self.faults_allowed.set()

    async def _check_restart_recovery(self) -> None:
        """The order in flight when the console stopped: found by its intent id, never sent
        twice.  (If the simulator refused it meanwhile, it must not be claimed as placed.)"""
        intent = self.restart.get("intent")
        services = self.services
        if intent is None or services is None:
            return
        back = time.monotonic()  # the console is up again
        deadline = back + 4 * self.options.reconcile_interval + 30.0
        at_broker: list[Any] = []
        while time.monotonic() < deadline:
            entry = services.journal.by_intent(intent)
            orders = await self._broker_orders()
            at_broker = [o for o in orders.values() if o.external_identifier == intent]
            if entry is not None and entry.broker_id is not None and at_broker:
                self.restart["resolved as"] = f"order #{entry.broker_id} ({entry.state.value})"
                self.restart["orders at the broker"] = len(at_broker)
                self.restart["resolved after the restart (s)"] = round(time.monotonic() - back, 1)
                return
            await asyncio.sleep(0.25)
        entry = services.journal.by_intent(intent)
        if not at_broker and (entry is None or entry.broker_id is None):
            self.restart["resolved as"] = "not placed (refused by the broker); not sent again"
            return
        self.restart["resolved as"] = None
        self.faults.failures.append(
            f"the order in flight at the restart ({intent}) was not resolved: journal "
            f"{entry.state.value if entry else None}, {len(at_broker)} order(s) at the broker"
        )

    # ------------------------------------------------------------------ the end

    async def _broker_orders(self) -> dict[int, Any]:
        """The simulator's ledger, read off the console's loop (it grows to thousands)."""
        return await asyncio.to_thread(self.sim.orders)

    async def _drain(self, pilot: Pilot[None]) -> None:
        """Stop the faults, cancel what still works, let every check and fill catch up."""
        self.stalls.steady = False  # the checks below read the whole ledger: not the console
        sim = self.sim
        await sim.control("DELETE", "faults/http")
        await sim.post("fill-model", {"model": "mid"})
        for symbol in STALE_CANDIDATES:
            await sim.post("symbols/stale", {"symbol": symbol, "stale": False})
        if self.checks:
            await asyncio.wait(set(self.checks), timeout=60)
        services = self.services
        assert services is not None
        limit = 30.0 if self.options.seconds < 600 else 120.0
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            working = [o for o in ours(await self._broker_orders()) if not o.status.is_terminal]
            for order in working:
                with contextlib.suppress(Exception):
                    await services.orders.cancel(order.account, order.id)
            verdict = judge(
                await self._broker_orders(), self._journal(services), self.observed.orders
            )
            settled = not (
                working
                or verdict.lost
                or verdict.fills_not_surfaced
                or verdict.rejections_not_surfaced
            )
            if settled:
                break
            services.reconciler.trigger()
            await asyncio.sleep(1.0)
        self.timings["drain (s)"] = round(limit - max(0.0, deadline - time.monotonic()), 1)

    @staticmethod
    def _journal(services: Services) -> list[Any]:
        return services.journal.recent(1_000_000, services.profile_name)

    async def _final(self) -> dict[str, Any]:
        services = self.services
        assert services is not None
        orders = await self._broker_orders()
        entries = self._journal(services)
        verdict = judge(orders, entries, self.observed.orders)
        posted = sum(
            1 for e in entries if "SENT" in {s.value for s in services.journal.states(e.intent_id)}
        )
        state = await self.sim.state()
        unhandled = [*self.stats.unexpected, *self.observed.errors]
        token_failures = [
            k for k, v in self.stats.outcomes.items() if "AuthError" in k or "GrantRevoked" in k
        ]
        findings = Counter(f.kind.value for f in services.reconciler.findings)
        invariants = {
            "duplicate orders": len(verdict.duplicates),
            "lost orders": len(verdict.lost),
            "legs filled without their siblings": len(verdict.orphan_legs),
            "fills not surfaced": len(verdict.fills_not_surfaced),
            "rejections not surfaced": len(verdict.rejections_not_surfaced),
            "silent closures not found within one cycle": len(self.faults.closures_missed),
            "unhandled exceptions": len(unhandled),
            "auth failures seen by the user": sum(self.stats.outcomes[k] for k in token_failures),
            "fault checks failed (stale, stream recovery, restart)": len(self.faults.failures),
            "simulator internal errors": self.volumes.get("simulator stderr tracebacks", 0),
        }
        stall_ms = round(self.stalls.max_steady * 1000, 1)
        ok = all(v == 0 for v in invariants.values()) and self.stalls.max_steady < (
            self.options.stall_limit
        )
        self.volumes.update(
            {
                "orders intended (send calls)": self.stats.sends,
                "order POSTs attempted (journal SENT)": posted,
                "orders at the broker": verdict.at_broker,
                "filled": verdict.filled,
                "ended partly filled": verdict.partially_filled_then_ended,
                "replaced": verdict.replaced,
                "cancelled": verdict.cancelled,
                "rejected": verdict.rejected,
                "still unresolved within grace": len(verdict.unresolved),
                "journal intents": len(entries),
                "legs per order sent": dict(sorted(self.stats.legs_sent.items())),
                "reconciliation runs (last console)": services.reconciler.runs,
                "reconciliation findings (last console)": dict(findings),
                "halts resumed by the user": self.halts_resumed,
                "notices": dict(self.observed.notices),
                "console actions": dict(self.ui_actions),
                "trader actions": dict(self.stats.actions),
                "outcomes": dict(self.stats.outcomes),
                "outcome messages": self.stats.samples,
                "shapes": dict(self.stats.shapes),
            }
        )
        return {
            "ok": ok,
            "options": {
                "seconds": self.options.seconds,
                "seed": self.options.seed,
                "fault compression": self.options.compression,
                "reconcile interval (s)": self.options.reconcile_interval,
                "polling schedule scale": self.options.poll_scale,
                "workdir": str(self.options.workdir),
            },
            "invariants": invariants,
            "stall": {
                "longest steady-state stall (ms)": stall_ms,
                "longest steady-state stall at (s)": round(
                    self.stalls.worst_at - self.gc.origin, 1
                ),
                "longest stall incl. start-ups (ms)": round(self.stalls.max_any * 1000, 1),
                "samples": self.stalls.samples,
                "stalls over 100 ms": self.stalls.over_100ms,
                "target (ms)": round(self.options.stall_limit * 1000),
                "garbage collector": self.gc.summary(),
                # Linux reports kilobytes: the whole process (console, driver, its bookkeeping).
                "heap refreezes": self.heap_refreezes,
                "peak RSS (MiB)": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            "faults injected": dict(sorted(self.faults.injected.items())),
            "faults skipped": dict(self.faults.skipped),
            "simulator counted": state.get("injected", {}),
            "fault checks": {
                "silent closures found": self.faults.closures_found,
                "reconciliation runs to find them": self.faults.closure_cycles,
                "closures unverified (restart)": self.faults.closures_unverified,
                "stale symbols flagged": self.faults.stale_flagged,
                "stale flag latency max (s)": round(max(self.faults.stale_latency, default=0), 2),
                "stream drops recovered": self.faults.drops_recovered,
                "recovery latency max (s)": round(max(self.faults.recovery_latency, default=0), 2),
            },
            "restart": self.restart,
            "volumes": self.volumes,
            "timings": self.timings,
            "details": {
                "duplicates": verdict.duplicates,
                "lost": verdict.lost,
                "orphan legs": verdict.orphan_legs,
                "fills not surfaced": verdict.fills_not_surfaced,
                "rejections not surfaced": verdict.rejections_not_surfaced,
                "closures missed": self.faults.closures_missed,
                "fault check failures": self.faults.failures,
                "unhandled": unhandled[:20],
                "unresolved": verdict.unresolved,
            },
        }


def ticket_symbols(ticket: Any) -> list[str]:
    return [leg.symbol for leg in ticket.legs]


# --------------------------------------------------------------------------- output


def table(report: dict[str, Any]) -> str:
    lines = [
        f"tastytui soak: {report['options']['seconds']:g} s, seed {report['options']['seed']}",
        "",
        "invariant                                               count",
    ]
    for name, value in report["invariants"].items():
        mark = "ok " if value == 0 else "FAIL"
        lines.append(f"  {mark} {name:<50} {value}")
    stall = report["stall"]
    ms = stall["longest steady-state stall (ms)"]
    mark = "ok " if ms < stall["target (ms)"] else "FAIL"
    at = stall["longest steady-state stall at (s)"]
    lines.append(f"  {mark} {'longest event-loop stall (ms)':<50} {ms} (at {at} s)")
    lines.append(
        f"       {'stalls over 100 ms / samples':<50} {stall['stalls over 100 ms']}"
        f" / {stall['samples']}"
    )
    collector = stall["garbage collector"]
    lines.append(
        f"       {'full collections (longest ms)':<50} {collector['gen2 collections']}"
        f" ({collector['gen2 longest (ms)']})"
    )
    lines.append(f"       {'peak RSS (MiB)':<50} {stall['peak RSS (MiB)']}")
    lines.append("")
    lines.append("volumes")
    for name, value in report["volumes"].items():
        if not isinstance(value, dict):
            lines.append(f"  {name:<54} {value}")
    lines.append("")
    lines.append("faults injected")
    for name, value in report["faults injected"].items():
        lines.append(f"  {name:<54} {value}")
    lines.append(f"  {'total':<54} {sum(report['faults injected'].values())}")
    lines.append("")
    for name, value in report["fault checks"].items():
        lines.append(f"  {name:<54} {value}")
    lines.append(f"  {'restart':<54} {report['restart']}")
    lines.append("")
    for name, items in report["details"].items():
        if items and name != "unresolved":
            lines.append(f"{name}:")
            lines.extend(f"  - {item}" for item in items[:10])
    lines.append("PASS" if report["ok"] else "FAIL: an invariant did not hold")
    return "\n".join(lines)


def _logging(workdir: Path, sink: list[str]) -> None:
    install_log_redaction()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    logging.getLogger("tastytrade").setLevel(logging.DEBUG)
    handler = logging.FileHandler(workdir / "soak.log", encoding="utf-8")
    # DEBUG: the SDK logs every push (and its auth header) there; the leak scan reads it.
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.addHandler(ErrorLog(sink))
    install_log_redaction(root)


async def soak(options: Options) -> dict[str, Any]:
    runner = Soak(options)
    _logging(options.workdir, runner.observed.errors)
    return await runner.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="run length (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of orders and faults")
    parser.add_argument("--report", type=Path, help="write the figures as JSON here")
    parser.add_argument("--workdir", type=Path, help="state, logs (default: a temporary dir)")
    parser.add_argument(
        "--stall-limit-ms", type=float, default=STALL_LIMIT * 1000, help="stall target"
    )
    parser.add_argument(
        "--stall-stacks",
        action="store_true",
        help="write the loop's stack to WORKDIR/stall-stacks.txt whenever it is late",
    )
    args = parser.parse_args(argv)
    if args.seconds < 20:
        parser.error("--seconds must be at least 20 (two console lives and a drain)")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tastytui-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    options = Options(
        args.seconds, args.seed, workdir, args.stall_limit_ms / 1000, args.stall_stacks
    )
    report = asyncio.run(soak(options))
    text = table(report)
    print(text, flush=True)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
