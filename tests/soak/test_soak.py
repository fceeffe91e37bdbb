"""The fault soak, one minute of it, as part of the suite (``benchmarks/soak.py``).

The console runs headless against the simulator while seeded traders place, replace and cancel
orders and the simulator injects every kind of fault, with one console restart half-way.  The
script checks its invariants and exits non-zero when one fails; this test runs it and asserts
each figure so a failure names the broken invariant.  The 30-minute run is the same script::

    python benchmarks/soak.py --seconds 1800 --seed 1 --report soak-1800.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The suite runs on shared, loaded machines: stalls are judged at 1 s here and at the 250 ms
#: target on the long run (which prints both and its garbage-collector figures).
CI_STALL_LIMIT_MS = 1000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_one_minute_soak_holds_every_invariant(tmp_path: Path) -> None:
    report_path = tmp_path / "soak.json"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/soak.py",
            "--seconds",
            "60",
            "--seed",
            "7",
            "--workdir",
            str(tmp_path / "work"),
            "--report",
            str(report_path),
            "--stall-limit-ms",
            str(CI_STALL_LIMIT_MS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    output = done.stdout[-6000:] + done.stderr[-3000:]
    assert report_path.exists(), f"the soak wrote no report:\n{output}"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    broken = {name: count for name, count in report["invariants"].items() if count}
    assert not broken, f"invariants broken: {broken}\n{output}"
    stall = report["stall"]["longest steady-state stall (ms)"]
    assert stall < CI_STALL_LIMIT_MS, f"the console's loop stalled {stall} ms\n{output}"
    assert done.returncode == 0, output

    # The run did what it says: orders of every size, every fault, a restart that resolved
    # the order it interrupted.
    volumes = report["volumes"]
    assert volumes["orders at the broker"] >= 10, output
    assert volumes["filled"] >= 1 and volumes["rejected"] >= 1, output
    assert set(report["faults injected"]) >= {
        "token_expiry",
        "http_401",
        "http_429",
        "http_5xx",
        "slow_responses",
        "dxlink_drop",
        "account_stream_drop",
        "stale_symbol",
        "silent_close",
        "fill_model",
        "reject_next",
    }, report["faults injected"]
    checks = report["fault checks"]
    assert checks["silent closures found"] >= 1, checks
    assert checks["stream drops recovered"] >= 1, checks
    assert report["restart"].get("resolved as"), report["restart"]
