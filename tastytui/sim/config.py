"""Simulator settings and its default credentials.

The default credentials are not secrets: they only open the local simulator, which refuses
non-loopback clients unless told otherwise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from tastytui.domain.clock import Clock, SystemClock

#: OAuth client the simulator registers (the app's login flow uses the same values).
SIM_CLIENT_ID = "tastytui-sim-client"
SIM_CLIENT_SECRET = "sim-client-secret"
SIM_REFRESH_TOKEN = "sim-refresh-token"
#: Account numbers of the simulated customer: a margin account and a cash account.
SIM_MARGIN_ACCOUNT = "5WT00001"
SIM_CASH_ACCOUNT = "5WT00002"
#: The reserved path prefix of the fault-control API.
CONTROL_PREFIX = "/_sim"
ACCOUNT_STREAMER_PATH = "/streamer"
DXLINK_PATH = "/dxlink"


class FillModel(StrEnum):
    """How working limit orders meet the simulated market."""

    CROSS = "cross"  # fill at the limit once the market crosses it
    MID = "mid"  # fill at the limit once it is at or better than the mid
    TOUCH = "touch"  # between mid and natural: fill with a probability per tick
    DELAYED = "delayed"  # like MID, after ``fill_delay`` seconds
    PARTIAL = "partial"  # like MID, but half the quantity now and the rest a tick later
    NEVER = "never"  # rest forever
    REJECT = "reject"  # every order is rejected after it is received


class MarketHours(StrEnum):
    ALWAYS = "always"
    NYSE = "nyse"


class LoopbackError(ValueError):
    """Refusal to bind the simulator outside loopback without explicit permission."""


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 1
    #: SQLite file for the paper ledger; None keeps it in memory (tests).
    state_path: str | None = None
    allow_remote: bool = False
    #: Access-token lifetime in seconds (production: 900).
    token_lifetime: int = 900
    quote_token_lifetime: int = 86_400
    #: Seconds between market steps; every subscribed symbol gets an event per step.
    tick_interval: float = 0.2
    #: Multiplies the random walk's volatility (a livelier demo tape when > 1).
    volatility_scale: float = 1.0
    #: Synthetic stocks (``Z0001`` …) added to the universe: load tests with a big board.
    extra_underlyings: int = 0
    #: When False the tape is frozen at its seeded opening values (screenshots, snapshots).
    live_tape: bool = True
    fill_model: FillModel = FillModel.MID
    fill_delay: float = 2.0
    touch_probability: float = 0.3
    market_hours: MarketHours = MarketHours.ALWAYS
    client_id: str = SIM_CLIENT_ID
    client_secret: str = SIM_CLIENT_SECRET
    refresh_token: str = SIM_REFRESH_TOKEN
    #: Redirect URIs registered for the authorization-code grant; matched exactly.
    redirect_uris: tuple[str, ...] = ()
    #: Seconds a DXLink client may stay silent before it is dropped.
    keepalive_timeout: float = 60.0
    clock: Clock = field(default_factory=SystemClock)

    def check_bind(self) -> None:
        """Refuse a non-loopback address unless ``allow_remote`` is set."""
        if self.allow_remote:
            return
        host = "127.0.0.1" if self.host == "localhost" else self.host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise LoopbackError(
                f"refusing to bind the simulator to {self.host}: it serves a paper account with "
                "fixed credentials; use 127.0.0.1, or pass --allow-remote if you really mean it"
            )
