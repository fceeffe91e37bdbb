"""The simulator's listed underlyings: plausible prices, volatilities and option listings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from tastytui.domain.ticks import NICKEL_DIME, PENNY_ALL, PENNY_PILOT, TickSchedule


class Kind(StrEnum):
    ETF = "etf"
    STOCK = "stock"
    INDEX = "index"


class Listing(StrEnum):
    """How densely expirations are listed."""

    DAILY = "daily"  # every trading day near term, then Fridays, then monthlies
    WEEKLY = "weekly"  # Fridays near term, then monthlies
    MONTHLY = "monthly"  # third Fridays only


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    symbol: str
    description: str
    price: float
    vol: float  # annualised ATM volatility at the 30-day point
    beta: float
    kind: Kind
    liquidity: int  # 1 (thin, wide markets) … 5 (the most liquid)
    strike_step: float
    option_ticks: TickSchedule
    listing: Listing
    dividend_yield: float = 0.0
    earnings_in_days: int | None = None  # calendar days from the simulator's first day
    earnings_move: float = 0.0  # one-day standard deviation of the earnings move
    market_cap_billions: float = 0.0
    #: Option roots and which one carries the monthlies (SPX is AM-settled, SPXW is PM).
    roots: tuple[str, ...] = ()
    min_strikes: int = 40
    max_strikes: int = 90

    @property
    def option_roots(self) -> tuple[str, ...]:
        return self.roots or (self.symbol.replace("/", ""),)

    @property
    def is_index(self) -> bool:
        return self.kind is Kind.INDEX

    @property
    def streamer_symbol(self) -> str:
        return self.symbol


def _s(
    symbol: str,
    description: str,
    price: float,
    vol: float,
    beta: float,
    kind: Kind,
    liquidity: int,
    step: float,
    ticks: TickSchedule,
    listing: Listing,
    **extra: object,
) -> UnderlyingSpec:
    return UnderlyingSpec(
        symbol,
        description,
        price,
        vol,
        beta,
        kind,
        liquidity,
        step,
        ticks,
        listing,
        **extra,  # type: ignore[arg-type]
    )


E, S, IX = Kind.ETF, Kind.STOCK, Kind.INDEX
D, W, M = Listing.DAILY, Listing.WEEKLY, Listing.MONTHLY

UNIVERSE: tuple[UnderlyingSpec, ...] = (
    _s(
        "SPY",
        "SPDR S&P 500 ETF Trust",
        683.0,
        0.15,
        1.0,
        E,
        5,
        1,
        PENNY_ALL,
        D,
        dividend_yield=0.012,
        market_cap_billions=620,
        min_strikes=110,
        max_strikes=170,
    ),
    _s(
        "QQQ",
        "Invesco QQQ Trust, Series 1",
        603.0,
        0.19,
        1.15,
        E,
        5,
        1,
        PENNY_ALL,
        D,
        dividend_yield=0.006,
        market_cap_billions=360,
        min_strikes=100,
        max_strikes=160,
    ),
    _s(
        "IWM",
        "iShares Russell 2000 ETF",
        241.0,
        0.21,
        1.2,
        E,
        5,
        1,
        PENNY_ALL,
        D,
        dividend_yield=0.011,
        market_cap_billions=70,
        min_strikes=100,
        max_strikes=150,
    ),
    _s(
        "SPX",
        "S&P 500 Index",
        6830.0,
        0.15,
        1.0,
        IX,
        5,
        5,
        PENNY_PILOT,
        D,
        roots=("SPX", "SPXW"),
        min_strikes=200,
        max_strikes=260,
    ),
    _s(
        "DIA",
        "SPDR Dow Jones Industrial Average ETF Trust",
        462.0,
        0.14,
        0.9,
        E,
        3,
        1,
        PENNY_PILOT,
        W,
        dividend_yield=0.016,
        market_cap_billions=38,
    ),
    _s(
        "GLD",
        "SPDR Gold Shares",
        378.0,
        0.17,
        0.1,
        E,
        4,
        1,
        PENNY_PILOT,
        W,
        market_cap_billions=110,
    ),
    _s(
        "TLT",
        "iShares 20+ Year Treasury Bond ETF",
        89.5,
        0.14,
        -0.2,
        E,
        4,
        0.5,
        PENNY_PILOT,
        W,
        dividend_yield=0.043,
        market_cap_billions=50,
    ),
    _s(
        "XLE",
        "The Energy Select Sector SPDR Fund",
        89.0,
        0.22,
        0.8,
        E,
        3,
        1,
        PENNY_PILOT,
        W,
        dividend_yield=0.033,
        market_cap_billions=27,
    ),
    _s(
        "AAPL",
        "Apple Inc.",
        231.0,
        0.26,
        1.2,
        S,
        5,
        2.5,
        PENNY_PILOT,
        W,
        dividend_yield=0.004,
        earnings_in_days=12,
        earnings_move=0.04,
        market_cap_billions=3450,
    ),
    _s(
        "MSFT",
        "Microsoft Corporation",
        478.0,
        0.24,
        1.05,
        S,
        5,
        5,
        PENNY_PILOT,
        W,
        dividend_yield=0.007,
        earnings_in_days=40,
        earnings_move=0.045,
        market_cap_billions=3550,
    ),
    _s(
        "NVDA",
        "NVIDIA Corporation",
        181.0,
        0.45,
        1.7,
        S,
        5,
        2.5,
        PENNY_PILOT,
        W,
        earnings_in_days=5,
        earnings_move=0.07,
        market_cap_billions=4400,
    ),
    _s(
        "AMZN",
        "Amazon.com, Inc.",
        224.0,
        0.32,
        1.3,
        S,
        5,
        2.5,
        PENNY_PILOT,
        W,
        earnings_in_days=62,
        earnings_move=0.06,
        market_cap_billions=2380,
    ),
    _s(
        "GOOGL",
        "Alphabet Inc. Class A",
        252.0,
        0.30,
        1.1,
        S,
        5,
        2.5,
        PENNY_PILOT,
        W,
        earnings_in_days=66,
        earnings_move=0.055,
        market_cap_billions=3050,
    ),
    _s(
        "META",
        "Meta Platforms, Inc. Class A",
        702.0,
        0.36,
        1.3,
        S,
        5,
        5,
        PENNY_PILOT,
        W,
        dividend_yield=0.003,
        earnings_in_days=70,
        earnings_move=0.08,
        market_cap_billions=1770,
    ),
    _s(
        "TSLA",
        "Tesla, Inc.",
        421.0,
        0.60,
        2.0,
        S,
        5,
        5,
        PENNY_PILOT,
        W,
        earnings_in_days=64,
        earnings_move=0.09,
        market_cap_billions=1400,
    ),
    _s(
        "AMD",
        "Advanced Micro Devices, Inc.",
        232.0,
        0.50,
        1.8,
        S,
        4,
        2.5,
        PENNY_PILOT,
        W,
        earnings_in_days=75,
        earnings_move=0.08,
        market_cap_billions=375,
    ),
    _s(
        "NFLX",
        "Netflix, Inc.",
        111.0,
        0.35,
        1.2,
        S,
        4,
        1,
        PENNY_PILOT,
        W,
        earnings_in_days=55,
        earnings_move=0.09,
        market_cap_billions=470,
    ),
    _s(
        "JPM",
        "JPMorgan Chase & Co.",
        301.0,
        0.22,
        1.1,
        S,
        4,
        2.5,
        PENNY_PILOT,
        W,
        dividend_yield=0.019,
        earnings_in_days=52,
        earnings_move=0.03,
        market_cap_billions=830,
    ),
    _s(
        "BAC",
        "Bank of America Corporation",
        51.5,
        0.26,
        1.3,
        S,
        4,
        0.5,
        PENNY_PILOT,
        W,
        dividend_yield=0.021,
        earnings_in_days=53,
        earnings_move=0.035,
        market_cap_billions=390,
    ),
    _s(
        "XOM",
        "Exxon Mobil Corporation",
        116.0,
        0.22,
        0.8,
        S,
        4,
        1,
        PENNY_PILOT,
        W,
        dividend_yield=0.034,
        earnings_in_days=68,
        earnings_move=0.03,
        market_cap_billions=495,
    ),
    _s(
        "KO",
        "The Coca-Cola Company",
        70.2,
        0.15,
        0.6,
        S,
        3,
        1,
        PENNY_PILOT,
        M,
        dividend_yield=0.029,
        earnings_in_days=78,
        earnings_move=0.025,
        market_cap_billions=302,
    ),
    _s(
        "DIS",
        "The Walt Disney Company",
        113.0,
        0.27,
        1.1,
        S,
        3,
        1,
        PENNY_PILOT,
        W,
        dividend_yield=0.009,
        earnings_in_days=2,
        earnings_move=0.06,
        market_cap_billions=205,
    ),
    _s(
        "BA",
        "The Boeing Company",
        208.0,
        0.35,
        1.4,
        S,
        3,
        2.5,
        PENNY_PILOT,
        W,
        earnings_in_days=67,
        earnings_move=0.055,
        market_cap_billions=158,
    ),
    _s(
        "BRK/B",
        "Berkshire Hathaway Inc. Class B",
        498.0,
        0.17,
        0.85,
        S,
        3,
        5,
        PENNY_PILOT,
        M,
        market_cap_billions=1075,
        roots=("BRKB",),
    ),
    _s(
        "GME",
        "GameStop Corp. Class A",
        22.4,
        0.80,
        1.5,
        S,
        1,
        0.5,
        NICKEL_DIME,
        W,
        earnings_in_days=18,
        earnings_move=0.12,
        market_cap_billions=10,
    ),
    _s(
        "F",
        "Ford Motor Company",
        11.6,
        0.30,
        1.3,
        S,
        3,
        0.5,
        PENNY_PILOT,
        M,
        dividend_yield=0.052,
        earnings_in_days=80,
        earnings_move=0.05,
        market_cap_billions=46,
    ),
)

BY_SYMBOL: dict[str, UnderlyingSpec] = {spec.symbol: spec for spec in UNIVERSE}
ROOT_TO_UNDERLYING: dict[str, str] = {
    root: spec.symbol for spec in UNIVERSE for root in spec.option_roots
}


def synthetic_underlyings(count: int) -> tuple[UnderlyingSpec, ...]:
    """``count`` made-up stocks ``Z0001`` … (load tests: a 500-symbol quote board).

    Deterministic, monthly-listed and outside :data:`BY_SYMBOL`: the simulator adds them only
    when asked (``SimConfig.extra_underlyings``), so its default universe never changes.
    """
    specs = []
    for i in range(1, count + 1):
        rng = random.Random(f"synthetic:{i}")
        price = round(rng.uniform(8.0, 600.0), 2)
        specs.append(
            _s(
                f"Z{i:04d}",
                f"Synthetic Stock {i}",
                price,
                round(rng.uniform(0.18, 0.65), 3),
                round(rng.uniform(0.5, 1.6), 2),
                S,
                rng.randint(1, 5),
                1 if price < 200 else 5,
                PENNY_PILOT,
                M,
                market_cap_billions=round(rng.uniform(2.0, 300.0), 1),
                min_strikes=20,
                max_strikes=40,
            )
        )
    return tuple(specs)
