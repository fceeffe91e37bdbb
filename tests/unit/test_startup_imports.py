"""The first frame is painted before the slow imports: the SDK (pandas) and the chat's client.

The console imports its App (every pane) before it can paint; importing the SDK there cost half
a second of start-up (issue 6, benchmarks/startup.py).  Checked in a fresh interpreter so an
indirect import is caught too.
"""

from __future__ import annotations

import subprocess
import sys

SLOW = ("pandas", "tastytrade", "anthropic", "markdown_it")


def test_the_app_and_its_panes_import_neither_the_sdk_nor_pandas() -> None:
    code = (
        "import sys, tastytui.cli, tastytui.ui.app\n"
        "print(','.join(m for m in SLOW if m in sys.modules))".replace("SLOW", repr(SLOW))
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"imported before the first frame: {out}"
