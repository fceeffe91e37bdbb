"""Configuration: a strict TOML file in the user config dir, with environment overrides.

Unknown keys are rejected with a message naming the key and the file, so a typo never silently
falls back to a default.  Environment variables override the file:

- ``TASTYTUI_CONFIG``: path of the config file;
- ``TASTYTUI_PROFILE``, ``TASTYTUI_ACCOUNT``: the profile (not ``live``) and account to use;
- ``TASTYTUI__SECTION__KEY=value``: any key, e.g. ``TASTYTUI__REST__RATE=5`` or
  ``TASTYTUI__PROFILES__SIM__RISK__MAX_CONTRACTS_PER_ORDER=10``.

Profiles: ``sim`` (default, the embedded simulator), ``cert`` (tastytrade's sandbox) and ``live``
(production, opt-in: it must be enabled in the file and chosen explicitly, never the default).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tastytui.paths import config_dir
from tastytui.services.errors import ConfigError

#: The public tastytrade hosts (REST, account streamer, OAuth authorize page): the only place
#: these defaults live.
PUBLIC_ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "cert": (
        "https://api.cert.tastyworks.com",
        "wss://streamer.cert.tastyworks.com",
        "https://cert-my.staging-tasty.works/auth.html",
    ),
    "live": (
        "https://api.tastyworks.com",
        "wss://streamer.tastyworks.com",
        "https://my.tastytrade.com/auth.html",
    ),
}
PROFILE_NAMES = ("sim", "cert", "live")


@dataclass
class RiskLimits:
    """Rules every order path passes through (a refusal names the rule and the numbers)."""

    #: Contracts (or 100-share lots) in one order.
    max_contracts_per_order: int = 20
    #: Buying power one order may use, in dollars.
    max_bp_effect_per_order: Decimal = Decimal("25000")
    #: Worst-case loss of one opening trade, in dollars.
    max_loss_per_trade: Decimal = Decimal("5000")
    #: Allow opening orders whose loss is unlimited (naked calls, short stock).
    allow_undefined_risk: bool = False
    #: No new opening orders once the day's P&L is below minus this amount.
    daily_loss_limit: Decimal = Decimal("2500")
    #: Contracts held per underlying after the order.
    max_position_per_underlying: int = 100
    #: No opening orders this many days before an underlying's earnings (0 = off).
    earnings_blackout_days: int = 0
    #: Refuse every order.
    read_only: bool = False


@dataclass
class Profile:
    #: REST base URL; empty for ``sim`` means the embedded simulator the console starts.
    api_url: str = ""
    #: Account-streamer URL; empty means derived (simulator) or the public default.
    streamer_url: str = ""
    #: OAuth: the authorize page for ``tastytui login --browser`` and your client id.
    authorize_url: str = ""
    client_id: str = ""
    #: Default account number; empty picks the first account.
    account: str = ""
    #: Production must be enabled explicitly (it trades real money); unset = on for sim/cert.
    enabled: bool | None = None
    #: Simulator only: the market seed and the ledger file (empty = the data dir's default).
    sim_seed: int = 1
    sim_state: str = ""
    risk: RiskLimits = field(default_factory=RiskLimits)


@dataclass
class RestSettings:
    #: Sustained requests per second.
    rate: float = 2.0
    #: Requests that may go at once: start-up loads ~20 (accounts, balances, positions,
    #: orders, metrics, chains) and should not queue for ten seconds behind the average.
    burst: float = 20.0
    timeout: float = 10.0
    read_retries: int = 3
    breaker_threshold: int = 5
    breaker_cooldown: float = 15.0


@dataclass
class StreamingSettings:
    #: Seconds without an update before a symbol is shown as stale.
    stale_after: float = 15.0
    #: Seconds of DXLink silence before the connection is considered dead.
    watchdog: float = 20.0


@dataclass
class UiSettings:
    theme: str = "tastytui-dark"
    #: Screen refreshes per second for live panes.
    flush_hz: float = 8.0
    #: Refreshes per second in ``--low-bandwidth`` mode.
    low_bandwidth_hz: float = 2.0
    low_bandwidth: bool = False
    #: Key remaps: action id → key, e.g. ``"order.confirm" = "ctrl+y"``.
    keys: dict[str, str] = field(default_factory=dict)
    #: Option-chain columns, left to right for calls (mirrored for puts).
    chain_columns: list[str] = field(default_factory=lambda: ["delta", "iv", "bid", "ask"])
    #: Symbols on the quote board when no broker watchlist is chosen.
    watchlist: list[str] = field(
        default_factory=lambda: ["SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN"]
    )
    #: Beta-weighting symbol for portfolio delta.
    beta_symbol: str = "SPY"


@dataclass
class ChatSettings:
    model: str = "claude-sonnet-4-5"
    max_tokens: int = 2048
    #: Remove the order tools: the assistant can only read.
    read_only: bool = False
    #: Base URL of the Messages API (tests point it at a local fake).
    api_url: str = ""


@dataclass
class ReconcileSettings:
    interval: float = 300.0


@dataclass
class Config:
    profile: str = "sim"
    profiles: dict[str, Profile] = field(default_factory=dict)
    rest: RestSettings = field(default_factory=RestSettings)
    streaming: StreamingSettings = field(default_factory=StreamingSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    #: Where this configuration came from (not a key in the file).
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in PROFILE_NAMES:
            self.profiles.setdefault(name, Profile())

    def active(self, name: str | None = None) -> tuple[str, Profile]:
        """The chosen profile, with its endpoints filled in; refuses ``live`` unless opted in."""
        chosen = name or self.profile
        if chosen not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ConfigError(f"unknown profile {chosen!r}: choose one of {known}")
        profile = self.profiles[chosen]
        if chosen != "live" and profile.enabled is False:
            raise ConfigError(
                f"profile {chosen!r} is disabled in {self.path or default_path()} "
                "(enabled = false): enable it or choose another with --profile"
            )
        if chosen == "live" and profile.enabled is not True:
            raise ConfigError(
                "the live profile trades real money and is off by default: add "
                "`[profiles.live]` with `enabled = true` to "
                f"{self.path or default_path()} and choose it with --profile live"
            )
        if chosen in PUBLIC_ENDPOINTS:
            api, streamer, authorize = PUBLIC_ENDPOINTS[chosen]
            profile = dataclasses.replace(
                profile,
                api_url=profile.api_url or api,
                streamer_url=profile.streamer_url or streamer,
                authorize_url=profile.authorize_url or authorize,
            )
        return chosen, profile


def default_path(environ: dict[str, str] | None = None) -> Path:
    override = (os.environ if environ is None else environ).get("TASTYTUI_CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


# --------------------------------------------------------------------- parsing


def _coerce(value: Any, kind: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a whole number, not {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a whole number, not {value!r}") from None
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, not {value!r}") from None
    if kind is Decimal:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be an amount, not {value!r}")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ConfigError(f"{where} must be an amount such as 2500, not {value!r}") from None
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text (in quotes), not {value!r}")
        return value
    if origin is list:
        (item,) = typing.get_args(kind)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f'{where} must be a list such as ["SPY", "QQQ"]')
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(kind)
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        return {str(k): _coerce(v, item, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        return _build(kind, value, where)
    if origin is types.UnionType:
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _coerce(value, inner[0], where)
    raise AssertionError(f"unhandled config type {kind!r}")  # pragma: no cover


def _build(cls: Any, raw: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    known.pop("path", None)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in known:
            choices = ", ".join(sorted(known))
            place = f"{where}.{key}" if where else key
            raise ConfigError(f"unknown key {place!r} (known here: {choices})")
        values[name] = _coerce(value, hints[name], f"{where}.{key}" if where else key)
    if cls is Config and "profiles" in values:
        for name in values["profiles"]:
            if name not in PROFILE_NAMES:
                raise ConfigError(
                    f"unknown profile 'profiles.{name}': profiles are {', '.join(PROFILE_NAMES)}"
                )
    return cls(**values)


def _set_path(tree: dict[str, Any], dotted: list[str], value: str) -> None:
    node = tree
    for part in dotted[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment override {'.'.join(dotted)} conflicts with a value")
        node = child
    node[dotted[-1]] = value


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the config file (missing file = defaults), apply env overrides, validate."""
    env = dict(os.environ if environ is None else environ)
    path = path or default_path(env)
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    for name, value in env.items():
        if name.startswith("TASTYTUI__"):
            dotted = [p.lower() for p in name.removeprefix("TASTYTUI__").split("__") if p]
            if dotted:
                _set_path(raw, dotted, value)
    if raw.get("profile") == "live":
        raise ConfigError(
            f"{path}: live cannot be the default profile; choose it per run with --profile live"
        )
    try:
        config: Config = _build(Config, raw, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    config.path = path
    if env.get("TASTYTUI_PROFILE"):
        if env["TASTYTUI_PROFILE"] == "live":
            # An exported variable would make production the default of every run in that shell.
            raise ConfigError(
                "TASTYTUI_PROFILE=live is refused: live cannot be a default, even per shell; "
                "choose it per run with --profile live"
            )
        config.profile = env["TASTYTUI_PROFILE"]
    if config.profile not in config.profiles:
        raise ConfigError(f"unknown profile {config.profile!r}: choose one of sim, cert, live")
    if env.get("TASTYTUI_ACCOUNT"):
        config.profiles[config.profile].account = env["TASTYTUI_ACCOUNT"]
    return config


EXAMPLE = """\
# tastytui configuration. Every key is optional; unknown keys are errors.
profile = "sim"            # sim (embedded simulator) or cert; live only per run

[profiles.sim]
account = "5WT00001"
sim_seed = 1

[profiles.sim.risk]
max_contracts_per_order = 20
max_bp_effect_per_order = 25000
max_loss_per_trade = 5000
daily_loss_limit = 2500

[profiles.live]
enabled = false            # production trades real money: opt in here, then --profile live

[rest]
rate = 2.0                 # requests per second

[ui]
theme = "tastytui-dark"
flush_hz = 8
"""
