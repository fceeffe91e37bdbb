"""The real ``tastytui`` entry point in a real terminal (tmux), driven by keys, read off the screen.

It runs exactly what a new user runs: no arguments, the embedded simulator as a child process,
``TERM=xterm-256color`` without ``COLORTERM`` (what an SSH session usually gets).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ENTRY_POINT = Path(sys.executable).with_name("tastytui")


class Terminal:
    """One tmux session on a private server socket, 120×35."""

    def __init__(self, home: Path) -> None:
        self.socket = f"tastytui-e2e-{uuid.uuid4().hex[:8]}"
        self.home = home
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "TASTYTUI_CONFIG_DIR": str(home / "config"),
            "TASTYTUI_DATA_DIR": str(home / "data"),
        }

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=check,
            timeout=30,
        )

    def start(self, command: str) -> None:
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        self.tmux(
            "new-session", "-d", "-s", "tt", "-x", "120", "-y", "35", f"env -i {env} {command}"
        )
        # Keep the pane after the program exits, so its exit can be observed.
        self.tmux("set-option", "-t", "tt", "remain-on-exit", "on")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tt").stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tt", *keys)

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.25)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def pane_dead(self) -> bool:
        out = self.tmux("display-message", "-p", "-t", "tt", "#{pane_dead}", check=False)
        return out.stdout.strip() == "1"

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "tt", "#{pane_pid}").stdout)

    def kill_server(self) -> None:
        self.tmux("kill-server", check=False)


def processes_using(marker: str) -> list[str]:
    """Live processes (not tmux) whose command line mentions ``marker``: the simulator child
    names its ledger file in our private data dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if marker in cmdline and "State:\tZ" not in status and not cmdline.startswith("tmux"):
            found.append(cmdline)
    return found


def wait_until(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.kill_server()


def command() -> str:
    return str(ENTRY_POINT) if ENTRY_POINT.exists() else f"{sys.executable} -m tastytui"


@pytest.mark.timeout(240)
def test_console_starts_on_the_simulator_and_quits_cleanly(
    terminal: Terminal, tmp_path: Path
) -> None:
    terminal.start(command())
    screen = terminal.wait_for("DXLink ●")
    assert "SIM" in screen and "5WT00001" in screen
    terminal.keys("F1")
    terminal.wait_for("Resume orders")
    terminal.keys("Escape")
    terminal.keys("C-q")
    assert wait_until(terminal.pane_dead), terminal.screen()
    # The simulator child went with it: nothing of ours is left running.
    assert wait_until(lambda: not processes_using(str(tmp_path))), processes_using(str(tmp_path))


@pytest.mark.timeout(240)
def test_terminal_going_away_leaves_no_process_behind(terminal: Terminal, tmp_path: Path) -> None:
    terminal.start(command())
    terminal.wait_for("DXLink ●")
    console = terminal.pane_pid()
    assert processes_using(str(tmp_path)), "the simulator child should be running"
    terminal.kill_server()  # what an SSH drop looks like to the program: its terminal is gone
    assert wait_until(lambda: not Path(f"/proc/{console}").exists(), timeout=45)
    assert wait_until(lambda: not processes_using(str(tmp_path)), timeout=45), processes_using(
        str(tmp_path)
    )
