"""Rendering under a quote storm: the console in a real pseudo-terminal at ~5,000 events/s.

The simulator runs in its own process with ``--extra-underlyings`` so that 500 symbols exist
(26 real + synthetic ``Z0001`` …), its tick tuned so the console receives about 5,000 events a
second.  The console (``tastytui.cli.main``) runs in a pty of 200×50 with
``TERM=xterm-256color`` (no ``COLORTERM``, as over SSH), its config putting all 500 symbols on
the quote board (``[ui] watchlist``) and SPY's chain on screen.  After a warm-up, for
``--seconds`` (60 by default) this script measures, side by side in the same window:

- the console's CPU share (user + system ticks of its process, from ``/proc``);
- the bytes it writes to the terminal per second (read from the pty master), against the size
  of one full-screen repaint of the same screen at the same moment (rendered in the console by
  Textual's compositor, exactly as ``App._display`` would write it);
- the event-to-screen delay: every event is stamped when the decoder writes it into the
  ``QuoteStore``, and counted when the first frame written after the flush that drained it goes
  out (events of symbols not on screen, and candles — sparklines repaint once a second by
  design — are left out), reported as p50/p99 against the flush interval;
- the console's peak RSS (item 6 of issue 6), and the events/s it actually received.

The probes are installed by this script's child mode around ``QuoteStore.apply_compact``,
``QuoteStore.drain_dirty`` and ``App._display`` before the console starts; the product holds no
benchmark code.  The run is then repeated with ``--low-bandwidth``.

    python benchmarks/storm.py [--seconds 60] [--tick 0.33] [--mode both|normal|low]

Targets: CPU < 0.5 core; bytes/s < 2 full repaints; p99 delay < 1.5 × the flush interval.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

# --------------------------------------------------------------------------- the child


def _weighted_quantile(pairs: list[tuple[float, int]], q: float) -> float:
    if not pairs:
        return float("nan")
    ordered = sorted(pairs)
    total = sum(n for _, n in ordered)
    target = q * total
    seen = 0
    for value, n in ordered:
        seen += n
        if seen >= target:
            return value
    return ordered[-1][0]


class _Probe:
    def __init__(self, stats_path: str) -> None:
        self.stats_path = stats_path
        self.recording = False
        self.pending: list[tuple[float, list[str]]] = []
        self.awaiting: list[tuple[float, float, int]] = []  # (stamped, drained, events)
        self.delays: list[tuple[float, int]] = []
        self.to_flush: list[tuple[float, int]] = []  # stamped → drained by the flush timer
        self.to_frame: list[tuple[float, int]] = []  # drained → the frame written
        self.offscreen = 0
        self.frames = 0
        self.ready = False
        self.app: Any = None
        self.started_at = 0.0
        self.events_at_start = 0
        self.full_repaint: list[int] = []

    def visible(self) -> set[str]:
        from tastytui.domain.symbols import OptionType
        from tastytui.ui.widgets.chain import ChainPane
        from tastytui.ui.widgets.quote_board import QuoteBoard

        screen = self.app.main_screen
        out: set[str] = set()
        lines = screen.query_one(QuoteBoard).lines
        first, last = lines.visible_rows()
        out.update(lines.symbols[first:last])
        chain = screen.query_one(ChainPane)
        grid = chain.grid
        if grid.display:
            for row in grid.visible_range():
                for side in (OptionType.CALL, OptionType.PUT):
                    contract = grid.contract(row, side)
                    if contract is not None:
                        out.add(contract.streamer)
        if chain.symbol:
            out.add(chain.symbol)
        return out

    def full_repaint_bytes(self) -> int:
        """One full-screen repaint of the current screen, as ``App._display`` would write it."""
        app = self.app
        compositor = app.screen._compositor
        saved = set(compositor._dirty_regions)
        update = compositor.render_full_update()
        compositor._dirty_regions.update(saved)  # the real next frame still repaints those
        return len(update.render_segments(app.console).encode())

    def guarded(self, step: Any) -> None:
        try:
            step()
        except Exception:  # reported to the parent instead of vanishing into the app's log
            import traceback

            self.write({"state": "error", "error": traceback.format_exc()})

    def write(self, data: dict[str, Any]) -> None:
        tmp = self.stats_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.stats_path)

    def start(self) -> None:
        services = self.app.services
        self.full_repaint.append(self.full_repaint_bytes())
        self.pending.clear()
        self.awaiting.clear()
        self.delays.clear()
        self.to_flush.clear()
        self.to_frame.clear()
        self.offscreen = 0
        self.frames = 0
        self.events_at_start = services.store.stats.events
        self.started_at = time.monotonic()
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        wall = time.monotonic() - self.started_at
        services = self.app.services
        self.full_repaint.append(self.full_repaint_bytes())
        grid = self.app.main_screen.query_one("#chain").grid
        events = services.store.stats.events - self.events_at_start
        with open("/proc/self/status", encoding="ascii") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        self.write(
            {
                "state": "done",
                "wall": wall,
                "events": events,
                "events_per_s": events / wall,
                "on_screen_events": sum(n for _, n in self.delays),
                "offscreen_events": self.offscreen,
                "p50": _weighted_quantile(self.delays, 0.50),
                "p90": _weighted_quantile(self.delays, 0.90),
                "p99": _weighted_quantile(self.delays, 0.99),
                "max": max((d for d, _ in self.delays), default=float("nan")),
                "flush_p50": _weighted_quantile(self.to_flush, 0.50),
                "flush_p99": _weighted_quantile(self.to_flush, 0.99),
                "frame_p50": _weighted_quantile(self.to_frame, 0.50),
                "frame_p99": _weighted_quantile(self.to_frame, 0.99),
                "frames": self.frames,
                "flush_hz": self.app.flush_hz,
                "full_repaint": self.full_repaint,
                "board_rows": len(self.app.main_screen.query_one("#board").lines.symbols),
                "chain_rows_visible": len(grid.visible_range()),
                "chain_subscribed": grid.subscribed_count,
                "dxlink_subscriptions": len(services.dxlink.subscriptions()),
                "vm_hwm_kib": hwm,
                "decode_errors": services.store.stats.decode_errors,
                "regions": {
                    w.id: tuple(w.region)
                    for w in self.app.main_screen.query("*")
                    if w.id and w.display and w.region.area
                },
            }
        )


def _child(stats_path: str, cli_args: list[str]) -> None:
    import asyncio

    from textual.app import App

    from tastytui.services.quotes import QuoteStore

    probe = _Probe(stats_path)
    apply_compact = QuoteStore.apply_compact
    drain_dirty = QuoteStore.drain_dirty
    display = App._display

    def probed_apply(self: QuoteStore, kind: str, fields: tuple[str, ...], values: Any) -> int:
        count = apply_compact(self, kind, fields, values)
        if count and probe.recording and kind != "Candle" and "eventSymbol" in fields:
            probe.pending.append(
                (time.monotonic(), values[fields.index("eventSymbol") :: len(fields)])
            )
        return count

    def probed_drain(self: QuoteStore) -> set[str]:
        dirty = drain_dirty(self)
        if probe.recording and probe.pending:
            visible = probe.visible()
            drained = time.monotonic()
            batches, probe.pending = probe.pending, []
            for stamped, symbols in batches:
                shown = sum(1 for s in symbols if s in visible)
                probe.offscreen += len(symbols) - shown
                if shown:
                    probe.awaiting.append((stamped, drained, shown))
        return dirty

    def probed_display(self: App[Any], screen: Any, renderable: Any) -> None:
        display(self, screen, renderable)
        if renderable is None:
            return
        if probe.recording:
            probe.frames += 1
            if probe.awaiting:
                now = time.monotonic()
                for stamped, drained, n in probe.awaiting:
                    probe.delays.append((now - stamped, n))
                    probe.to_flush.append((drained - stamped, n))
                    probe.to_frame.append((now - drained, n))
                probe.awaiting = []
        elif not probe.ready:
            probe.app = self
            services = getattr(self, "services", None)
            if services is None or services.store.stats.events == 0:
                return
            grid = self.main_screen.query_one("#chain").grid  # type: ignore[attr-defined]
            if not grid.row_count:
                return
            probe.ready = True
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR2, probe.guarded, probe.start)
            loop.add_signal_handler(signal.SIGUSR1, probe.guarded, probe.stop)
            probe.write({"state": "ready"})

    QuoteStore.apply_compact = probed_apply  # type: ignore[method-assign]
    QuoteStore.drain_dirty = probed_drain  # type: ignore[method-assign]
    App._display = probed_display  # type: ignore[method-assign]

    from tastytui.cli import main

    main(cli_args)


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "--child":
    _child(sys.argv[2], sys.argv[3:])
    sys.exit(0)

# --------------------------------------------------------------------------- the parent

import argparse  # noqa: E402
import fcntl  # noqa: E402
import pty  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import termios  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from _bench import (  # noqa: E402
    PYTHON,
    console_env,
    cpu_seconds,
    load_average,
    peak_rss_mib,
    sim_process,
    temp_home,
    write_config,
)

from tastytui.sim.universe import UNIVERSE  # noqa: E402

COLUMNS, ROWS = 200, 50
BOARD_SYMBOLS = 500
REAL = [spec.symbol for spec in UNIVERSE]  # the simulator's own underlyings first


class PtyReader(threading.Thread):
    """Drains the pty master (the console would block on a full pty) and counts the bytes."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.total = 0
        self.lock = threading.Lock()
        #: While set, the bytes are also kept (``--dump``: what the frames are made of).
        self.dump: bytearray | None = None

    def run(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.total += len(data)
                if self.dump is not None:
                    self.dump += data

    def count(self) -> int:
        with self.lock:
            return self.total


def wait_for(
    path: Path, state: str, timeout: float, process: subprocess.Popen[bytes]
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the console exited early ({process.returncode})")
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if data.get("state") == state:
                return data
            if data.get("state") == "error":
                raise RuntimeError(f"the console's probe failed:\n{data['error']}")
        time.sleep(0.1)
    raise RuntimeError(f"the console did not report {state!r} within {timeout:.0f} s")


def run_console(
    sim: Any,
    home: Path,
    seconds: float,
    warmup: float,
    low_bandwidth: bool,
    dump: Path | None = None,
) -> dict[str, Any]:
    symbols = REAL + [f"Z{i:04d}" for i in range(1, BOARD_SYMBOLS - len(REAL) + 1)]
    config = write_config(home, sim.base_url, watchlist=symbols)
    env = console_env(home, config, TERM="xterm-256color")
    env.pop("COLORTERM", None)
    stats = home / ("stats-low.json" if low_bandwidth else "stats.json")
    stats.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    args = [PYTHON, os.environ.get("STORM_CHILD", __file__), "--child", str(stats)] + (
        ["--low-bandwidth"] if low_bandwidth else []
    )
    # Textual writes its frames to stderr: all three go to the terminal, as in real use.
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    reader = PtyReader(master)
    reader.start()
    try:
        wait_for(stats, "ready", 120, process)
        time.sleep(warmup)
        cpu0, sim_cpu0, bytes0 = cpu_seconds(process.pid), cpu_seconds(sim.process.pid), 0
        process.send_signal(signal.SIGUSR2)
        wall0 = time.monotonic()
        bytes0 = reader.count()
        if dump is not None:
            reader.dump = bytearray()
        time.sleep(seconds)
        bytes1 = reader.count()
        if dump is not None and reader.dump is not None:
            dump.write_bytes(bytes(reader.dump))
            reader.dump = None
        wall1 = time.monotonic()
        process.send_signal(signal.SIGUSR1)
        cpu1, sim_cpu1 = cpu_seconds(process.pid), cpu_seconds(sim.process.pid)
        result = wait_for(stats, "done", 60, process)
        result["rss_mib"] = peak_rss_mib(process.pid)
    finally:
        if process.poll() is None:
            os.write(master, b"\x11")  # ctrl+q: a clean exit
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        os.close(master)
    wall = wall1 - wall0
    result.update(
        cpu=(cpu1 - cpu0) / wall,
        sim_cpu=(sim_cpu1 - sim_cpu0) / wall,
        bytes_per_s=(bytes1 - bytes0) / wall,
        window=wall,
    )
    return result


def report(name: str, r: dict[str, Any], load: str) -> bool:
    flush = 1.0 / r["flush_hz"]
    full = sum(r["full_repaint"]) / len(r["full_repaint"])
    repaints = r["bytes_per_s"] / full
    ok_cpu, ok_bytes, ok_delay = r["cpu"] < 0.5, repaints < 2.0, r["p99"] < 1.5 * flush
    print(f"{name}: {r['window']:.0f} s window, flush {r['flush_hz']:g} Hz ({load})")
    print(
        f"  events received        {r['events_per_s']:>9,.0f} /s   "
        f"({r['board_rows']} board rows; chain {r['chain_rows_visible']} rows visible, "
        f"{r['chain_subscribed']} contracts streamed; {r['dxlink_subscriptions']} DXLink subs)"
    )
    print(
        f"  console CPU            {r['cpu']:>9.1%}  of a core   target < 50%   "
        f"{'met' if ok_cpu else 'MISSED'}   (simulator {r['sim_cpu']:.0%})"
    )
    print(
        f"  terminal output        {r['bytes_per_s'] / 1024:>9.1f} KiB/s  = {repaints:.2f} full "
        f"repaints/s (one = {full / 1024:.1f} KiB)   target < 2   {'met' if ok_bytes else 'MISSED'}"
    )
    print(
        f"  frames written         {r['frames'] / r['window']:>9.1f} /s   "
        f"({r['bytes_per_s'] / max(1.0, r['frames'] / r['window']) / 1024:.1f} KiB a frame)"
    )
    print(
        f"  event-to-screen        p50 {r['p50'] * 1000:.0f} ms  p90 {r['p90'] * 1000:.0f} ms  "
        f"p99 {r['p99'] * 1000:.0f} ms  max {r['max'] * 1000:.0f} ms   "
        f"target p99 < {1.5 * flush * 1000:.0f} ms   {'met' if ok_delay else 'MISSED'}"
    )
    print(
        f"                         (waiting for the flush p50 {r['flush_p50'] * 1000:.0f} / "
        f"p99 {r['flush_p99'] * 1000:.0f} ms, flush to frame written p50 "
        f"{r['frame_p50'] * 1000:.0f} / p99 {r['frame_p99'] * 1000:.0f} ms; "
        f"{r['on_screen_events']:,} on-screen events timed, {r['offscreen_events']:,} off screen)"
    )
    print(f"  console peak RSS       {r['rss_mib']:>9.0f} MiB")
    return ok_cpu and ok_bytes and ok_delay


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--tick", type=float, default=0.33, help="simulator tick interval (s)")
    parser.add_argument("--mode", choices=("both", "normal", "low"), default="both")
    parser.add_argument("--dump", metavar="DIR", help="keep the terminal output of the window")
    args = parser.parse_args()

    extra = BOARD_SYMBOLS - len(REAL)
    sim = sim_process(
        seed=7, extra=["--tick-interval", str(args.tick), "--extra-underlyings", str(extra)]
    )
    home = temp_home("storm")
    modes = {"both": (False, True), "normal": (False,), "low": (True,)}[args.mode]
    ok = True
    try:
        for low in modes:
            load = load_average()
            dump = Path(args.dump) / f"pty-{'low' if low else 'normal'}.bin" if args.dump else None
            result = run_console(sim, home, args.seconds, args.warmup, low, dump)
            name = "tastytui --low-bandwidth" if low else "tastytui"
            ok = report(name, result, f"{load} before, {load_average()} after") and ok
            print()
    finally:
        sim.stop()
    print("targets:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
