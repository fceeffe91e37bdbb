"""Configuration: strict keys, clear errors, env overrides, live opt-in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tastytui.config import EXAMPLE, PUBLIC_ENDPOINTS, load
from tastytui.services.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_gives_defaults_with_sim_as_the_profile(tmp_path: Path) -> None:
    config = load(tmp_path / "absent.toml", {})
    name, profile = config.active()
    assert name == "sim"
    assert profile.risk.max_contracts_per_order == 20


def test_the_documented_example_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, EXAMPLE), {})
    assert config.profiles["sim"].account == "5WT00001"
    assert config.profiles["sim"].risk.daily_loss_limit == Decimal(2500)


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\nflush_hzz = 4\n")
    with pytest.raises(ConfigError) as caught:
        load(path, {})
    message = str(caught.value)
    assert "ui.flush_hzz" in message and str(path) in message and "flush_hz" in message


def test_wrong_type_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rest\.rate must be a number"):
        load(write(tmp_path, '[rest]\nrate = "fast"\n'), {})


def test_unknown_profile_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profiles\.paper"):
        load(write(tmp_path, "[profiles.paper]\naccount = 'x'\n"), {})


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path, {})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[rest]\nrate = 1.0\n")
    env = {
        "TASTYTUI__REST__RATE": "5",
        "TASTYTUI__PROFILES__SIM__RISK__MAX_CONTRACTS_PER_ORDER": "3",
        "TASTYTUI_PROFILE": "cert",
        "TASTYTUI_ACCOUNT": "5WT99999",
    }
    config = load(path, env)
    assert config.rest.rate == 5.0
    assert config.profiles["sim"].risk.max_contracts_per_order == 3
    name, profile = config.active()
    assert name == "cert" and profile.account == "5WT99999"
    assert profile.api_url == PUBLIC_ENDPOINTS["cert"][0]


def test_live_is_off_unless_opted_in(tmp_path: Path) -> None:
    config = load(write(tmp_path, ""), {})
    with pytest.raises(ConfigError, match="real money"):
        config.active("live")
    opted = load(write(tmp_path, "[profiles.live]\nenabled = true\n"), {})
    name, profile = opted.active("live")
    assert name == "live" and profile.api_url == PUBLIC_ENDPOINTS["live"][0]


def test_live_can_never_be_the_default(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be the default"):
        load(write(tmp_path, 'profile = "live"\n[profiles.live]\nenabled = true\n'), {})
