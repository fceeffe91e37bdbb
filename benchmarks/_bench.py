"""Shared helpers of the issue-6 benchmarks (start-up, storm, chain, round trip).

Kept to the standard library at import time: the start-up benchmark's children import this
module too, and it must cost them nothing measurable.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def load_average() -> str:
    """The 1/5/15-minute load averages, printed next to every figure (2 shared cores)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f}"


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0–1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (its threads included) from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mib(pid: int | None = None) -> float:
    """The process's peak resident set (VmHWM) in MiB."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def sim_process(*, seed: int = 7, extra: Sequence[str] = ()) -> Any:
    """``tastytui sim`` in a child process (stopped when we exit): a ``SimProcess``."""
    from tastytui.sim.process import SimProcess

    return SimProcess.start(seed=seed, extra=list(extra))


def temp_home(prefix: str) -> Path:
    """A private directory for the console's config, journal and state during a benchmark."""
    return Path(tempfile.mkdtemp(prefix=f"tastytui-{prefix}-"))


def write_config(
    home: Path,
    sim_url: str,
    *,
    watchlist: Sequence[str] | None = None,
    ui: dict[str, Any] | None = None,
) -> Path:
    """A config file pointing the ``sim`` profile at a running simulator (no child is started)."""
    lines = ['profile = "sim"', "", "[profiles.sim]", f'api_url = "{sim_url}"', "", "[ui]"]
    if watchlist is not None:
        lines.append("watchlist = [" + ", ".join(f'"{s}"' for s in watchlist) + "]")
    for key, value in (ui or {}).items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    path = home / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def console_env(home: Path, config: Path, **extra: str) -> dict[str, str]:
    """Environment for a console child: its own config and data dirs, no animations."""
    env = dict(os.environ)
    env.update(
        TASTYTUI_CONFIG=str(config),
        TASTYTUI_CONFIG_DIR=str(home / "config"),
        TASTYTUI_DATA_DIR=str(home / "data"),
        TEXTUAL_ANIMATIONS="none",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
    )
    env.update(extra)
    return env


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"
