"""Files that say what you trade are yours alone: config and data dirs 0700, the order journal
and the reconciled book 0600 — even under a permissive umask and over existing loose modes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tastytui.config import Config
from tastytui.domain.clock import OffsetClock
from tastytui.paths import config_dir, data_dir
from tastytui.services.runtime import Services, endpoint_for
from tests.conftest import SIM_START, SimFactory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """umask 000: every file and dir would be created world-writable unless the code says no."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_config_and_data_dirs_are_private_even_when_they_already_exist_loose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_config, old_data = tmp_path / "new" / "config", tmp_path / "old-data"
    old_data.mkdir(mode=0o777)
    old_data.chmod(0o755)
    monkeypatch.setenv("TASTYTUI_CONFIG_DIR", str(fresh_config))
    monkeypatch.setenv("TASTYTUI_DATA_DIR", str(old_data))
    assert config_dir() == fresh_config and mode(fresh_config) == 0o700
    assert data_dir() == old_data and mode(old_data) == 0o700


@pytest.mark.usefixtures("loose_umask")
async def test_a_real_session_writes_its_journal_and_book_owner_only(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(live_tape=False)
    state = tmp_path / "state"
    config = Config()
    name, profile = config.active("sim")
    endpoint = endpoint_for(name, profile, sim_url=sim.base_url)
    services = await Services.connect(
        config, name, profile, endpoint, clock=OffsetClock(SIM_START), state_dir=state
    )
    try:
        await services.reconciler.reconcile("start-up")  # writes the book
    finally:
        await services.close()
    journal, book = state / "journal-sim.sqlite3", state / "book-sim.sqlite3"
    assert mode(journal) == 0o600 and mode(book) == 0o600
    for file in state.iterdir():  # WAL and shared-memory side files too
        assert mode(file) & 0o077 == 0, f"{file.name} is {oct(mode(file))}"
    assert mode(state) & 0o077 == 0, f"the state dir is {oct(mode(state))}"
