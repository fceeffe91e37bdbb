"""Where tastytui keeps its files: platformdirs' user dirs, created private (0700)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "tastytui"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkdir's mode is masked by the umask and ignored for existing dirs: enforce it.
    os.chmod(path, 0o700)
    return path


def config_dir() -> Path:
    """The user config dir (``$TASTYTUI_CONFIG_DIR`` overrides it, e.g. for tests)."""
    override = os.environ.get("TASTYTUI_CONFIG_DIR")
    base = Path(override) if override else platformdirs.user_config_path(APP_NAME, appauthor=False)
    return _private_dir(base)


def data_dir() -> Path:
    """The user data dir: journal, simulator ledger (``$TASTYTUI_DATA_DIR`` overrides it)."""
    override = os.environ.get("TASTYTUI_DATA_DIR")
    base = Path(override) if override else platformdirs.user_data_path(APP_NAME, appauthor=False)
    return _private_dir(base)


def default_sim_state() -> Path:
    return data_dir() / "sim-ledger.sqlite3"
