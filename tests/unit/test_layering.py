"""Layering is law: the domain and the service layer never import Textual.

Each module is imported in a fresh interpreter, so an indirect import (through another module)
is caught as well as a direct one.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import tastytui.domain
import tastytui.services


def _modules(package: object) -> list[str]:
    path = package.__path__  # type: ignore[attr-defined]
    prefix = package.__name__ + "."  # type: ignore[attr-defined]
    return [package.__name__] + [  # type: ignore[attr-defined]
        info.name for info in pkgutil.walk_packages(path, prefix)
    ]


HEADLESS = _modules(tastytui.domain) + _modules(tastytui.services)


@pytest.mark.parametrize("module", HEADLESS)
def test_module_does_not_import_textual(module: str) -> None:
    code = (
        "import sys, importlib; importlib.import_module(MODULE); "
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'));"
        "print(','.join(bad))".replace("MODULE", repr(module))
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} imports Textual ({out.split(',')[0]})"


def test_domain_does_no_io() -> None:
    """The domain is pure: no sockets, HTTP clients or SDK imports."""
    forbidden = ("tastytrade", "httpx", "httpx2", "aiohttp", "websockets", "sqlite3", "socket")
    code = (
        "import sys, importlib, pkgutil, tastytui.domain as d\n"
        "before = set(sys.modules)\n"
        "for i in pkgutil.walk_packages(d.__path__, 'tastytui.domain.'):\n"
        "    importlib.import_module(i.name)\n"
        "print(','.join(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in FORBIDDEN)))".replace("FORBIDDEN", repr(forbidden))
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the domain imports I/O modules: {out}"
