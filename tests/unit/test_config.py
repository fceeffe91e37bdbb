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
    path = write(tmp_path, 'profile = "live"\n[profiles.live]\nenabled = true\n')
    with pytest.raises(ConfigError, match="cannot be the default"):
        load(path, {})
    path = write(tmp_path, "[profiles.live]\nenabled = true\n")
    with pytest.raises(ConfigError, match="--profile live"):
        load(path, {"TASTYTUI_PROFILE": "live"})
    assert load(path, {}).active("live")[0] == "live"  # chosen per run, it works


def test_public_hosts_are_configured_in_one_place_only() -> None:
    import re

    import tastytui

    root = Path(tastytui.__file__).parent
    host = re.compile(r"https?://[\w.-]*(tastyworks\.com|tastytrade\.com|tasty\.works)|wss://")
    users = []
    for path in root.rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if host.search(line) and not stripped.startswith(("#", "-", '"""')):
                users.append(path.relative_to(root).as_posix())
    assert sorted(set(users)) == ["config.py"]


def test_config_path_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[rest]\nrate = 7\n")
    config = load(None, {"TASTYTUI_CONFIG": str(path)})
    assert config.rest.rate == 7.0 and config.path == path


def test_a_disabled_profile_says_how_to_enable_it(tmp_path: Path) -> None:
    config = load(write(tmp_path, "[profiles.cert]\nenabled = false\n"), {})
    with pytest.raises(ConfigError, match="enabled = false"):
        config.active("cert")
    with pytest.raises(ConfigError, match="unknown profile 'paper'"):
        config.active("paper")


def test_environment_overrides_are_typed_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    env = {
        "TASTYTUI__PROFILES__SIM__RISK__READ_ONLY": "true",
        "TASTYTUI__PROFILES__SIM__RISK__MAX_LOSS_PER_TRADE": "750.50",
        "TASTYTUI__UI__WATCHLIST": "SPY, QQQ",
    }
    config = load(path, env)
    risk = config.profiles["sim"].risk
    assert risk.read_only is True and risk.max_loss_per_trade == Decimal("750.50")
    assert config.ui.watchlist == ["SPY", "QQQ"]
    with pytest.raises(ConfigError, match=r"rest\.ratee") as caught:
        load(path, {"TASTYTUI__REST__RATEE": "3"})
    assert str(path) in str(caught.value)
    with pytest.raises(ConfigError, match="must be true or false"):
        load(path, {"TASTYTUI__PROFILES__SIM__RISK__READ_ONLY": "maybe"})


def test_each_profile_has_its_own_risk_limits(tmp_path: Path) -> None:
    text = (
        "[profiles.sim.risk]\nmax_contracts_per_order = 50\n"
        "[profiles.cert.risk]\nmax_contracts_per_order = 2\n"
    )
    config = load(write(tmp_path, text), {})
    assert config.active("sim")[1].risk.max_contracts_per_order == 50
    assert config.active("cert")[1].risk.max_contracts_per_order == 2
    assert config.active("cert")[1].risk.max_loss_per_trade == Decimal(5000)  # the default
