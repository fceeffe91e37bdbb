"""Start-up: process start to the first painted frame, tastytui vs a bare Textual app.

Both run headless at 200×50 in fresh processes of the same interpreter, taking turns; each
child prints ``time.monotonic()`` (system-wide on Linux) when its first frame is painted and
exits.  "Painted" is detected identically for both apps: the first ``App._display`` call with a
compositor update — the call that writes a frame to the terminal (headless drivers drop the
bytes, the frame is rendered all the same).  The hook is installed by this script's child mode
before the app runs; the product has no benchmark code in it.

- ``tastytui``: ``tastytui.cli.main([])`` with a config whose ``sim`` profile points at a
  simulator already running (so only its own start-up is timed, not the simulator's);
- ``bare``: a Textual ``App`` whose ``on_mount`` fills a 500-row, 6-column ``DataTable``.

Also checked at that first frame: neither ``pandas`` (the SDK's) nor ``anthropic`` is imported.

    python benchmarks/startup.py [--runs 15]

``STARTUP_PROFILE=path`` (with pyinstrument installed) writes a profile of one child up to its
first frame: ``STARTUP_PROFILE=/tmp/p.txt python benchmarks/startup.py --child tastytui`` with
the environment the parent sets (``TASTYTUI_CONFIG`` …).

Target: median(tastytui) / median(bare) ≤ 1.3.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

# --------------------------------------------------------------------------- the children
# Nothing above this line but the standard library: the children import this module.


def _child(which: str) -> None:
    profile_to = os.environ.get("STARTUP_PROFILE")  # a pyinstrument text report up to the frame
    profiler: Any = None
    if profile_to:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()

    from textual.app import App

    original_display = App._display
    original_run = App.run
    done = False

    def display(self: App[object], screen: object, renderable: object) -> None:
        nonlocal done
        original_display(self, screen, renderable)  # type: ignore[arg-type]
        if done or renderable is None:
            return
        done = True
        painted = time.monotonic()
        modules = sys.modules
        report = {
            "painted": painted,
            "pandas": "pandas" in modules,
            "anthropic": "anthropic" in modules,
            "tastytrade": "tastytrade" in modules,
            "modules": len(modules),
        }
        os.write(1, (json.dumps(report) + "\n").encode())
        if profiler is not None:
            profiler.stop()
            with open(str(profile_to), "w", encoding="utf-8") as out:
                out.write(
                    profiler.output_text(show_all=bool(os.environ.get("STARTUP_PROFILE_ALL")))
                )
        self.exit()

    def run(self: App[object], *args: object, **kwargs: object) -> object:
        kwargs["headless"] = True
        kwargs["size"] = (200, 50)
        return original_run(self, *args, **kwargs)  # type: ignore[arg-type]

    App._display = display  # type: ignore[method-assign]
    App.run = run  # type: ignore[method-assign]

    if which == "tastytui":
        from tastytui.cli import main

        main([])
        return

    from textual.app import ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

        def on_mount(self) -> None:
            table: DataTable[str] = self.query_one(DataTable)
            table.add_columns("Symbol", "Last", "Change", "Bid", "Ask", "Size")
            table.add_rows(
                (f"S{i:03d}", f"{100 + i:.2f}", f"{i % 7 - 3:+.2f}", f"{99 + i:.2f}", "1", "2")
                for i in range(500)
            )

    Bare().run()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--child":
    _child(sys.argv[2])
    sys.exit(0)

# --------------------------------------------------------------------------- the parent

import argparse  # noqa: E402
import subprocess  # noqa: E402

from _bench import (  # noqa: E402
    PYTHON,
    console_env,
    load_average,
    median,
    sim_process,
    temp_home,
    write_config,
)

TARGET = 1.3


def one_run(which: str, env: dict[str, str]) -> dict[str, float | bool]:
    start = time.monotonic()
    out = subprocess.run(
        [PYTHON, __file__, "--child", which],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{which}: no frame reported (exit {out.returncode}): {out.stderr}")
    report: dict[str, float | bool] = json.loads(lines[0])
    report["seconds"] = float(report["painted"]) - start
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="runs of each app (default 15)")
    args = parser.parse_args()

    sim = sim_process(seed=7)
    home = temp_home("startup")
    config = write_config(home, sim.base_url)
    env = console_env(home, config)
    try:
        for which in ("bare", "tastytui"):  # warm the page cache and .pyc files, not timed
            one_run(which, env)
        loads = [load_average()]
        times: dict[str, list[float]] = {"tastytui": [], "bare": []}
        imported: dict[str, bool] = {"pandas": False, "anthropic": False, "tastytrade": False}
        modules = 0
        for i in range(args.runs):
            order = ("tastytui", "bare") if i % 2 == 0 else ("bare", "tastytui")
            for which in order:
                report = one_run(which, env)
                times[which].append(float(report["seconds"]))
                if which == "tastytui":
                    for name in imported:
                        imported[name] = imported[name] or bool(report[name])
                    modules = int(report["modules"])
        loads.append(load_average())
    finally:
        sim.stop()

    ours, bare = median(times["tastytui"]), median(times["bare"])
    pairs = median(t / b for t, b in zip(times["tastytui"], times["bare"], strict=True))
    ratio = ours / bare
    print(f"start-up to first painted frame, headless 200x50, {args.runs} runs each, medians")
    print(f"  bare Textual app + 500-row DataTable  {bare * 1000:8.0f} ms")
    print(f"  tastytui on the simulator             {ours * 1000:8.0f} ms")
    print(f"  ratio (medians)                       {ratio:8.2f}   (median of pairs {pairs:.2f})")
    print(
        "  imported at tastytui's first frame:   "
        + ", ".join(f"{k} {'YES' if v else 'no'}" for k, v in imported.items())
        + f"  ({modules} modules)"
    )
    print(f"  {loads[0]} before, {loads[1]} after")
    ok = ratio <= TARGET and not imported["pandas"] and not imported["anthropic"]
    print(f"target (ratio <= {TARGET}, no pandas/anthropic before the frame):", end=" ")
    print("met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
