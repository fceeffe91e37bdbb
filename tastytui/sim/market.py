"""The simulated market: a seeded tape of underlying prices and Black-Scholes option quotes.

Determinism: every random draw comes from ``random.Random`` streams seeded from the model's seed,
and the tape advances one step per :meth:`MarketModel.advance`, so the same seed gives the same
sequence of prices (the "tape") whatever the wall clock does.  Option quotes are pure functions
of the underlying's price, the clock and the contract, cached per step.
"""

from __future__ import annotations

import itertools
import math
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from tastytui.domain import blackscholes as bs
from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
from tastytui.domain.clock import NEW_YORK, Clock
from tastytui.domain.symbols import OptionSymbol, OptionType, SymbolError, parse_option
from tastytui.domain.ticks import STOCK, TickSchedule
from tastytui.sim.calendar import REGULAR_CLOSE, REGULAR_OPEN, TradingCalendar
from tastytui.sim.universe import BY_SYMBOL, ROOT_TO_UNDERLYING, Kind, Listing, UnderlyingSpec

SECONDS_PER_YEAR = 365.0 * 86_400.0
TRADING_SECONDS_PER_YEAR = 252.0 * 6.5 * 3600.0
RISK_FREE_RATE = 0.04
_MINUTES_PER_SESSION = 390
_AM_SETTLED_ROOTS = frozenset({"SPX"})
_CENT = 0.01


def _round_down(value: float, tick: float) -> float:
    return math.floor(value / tick + 1e-9) * tick


def _round_up(value: float, tick: float) -> float:
    return math.ceil(value / tick - 1e-9) * tick


def _unit(text: str) -> float:
    """A stable pseudo-uniform number in [0, 1) from a string (volume, open interest)."""
    return zlib.crc32(text.encode()) / 4_294_967_296.0


@dataclass(slots=True)
class EquityQuote:
    symbol: str
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    last: float
    last_size: int
    day_open: float
    day_high: float
    day_low: float
    prev_close: float
    volume: int

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0

    @property
    def change(self) -> float:
        return self.last - self.prev_close


@dataclass(slots=True)
class OptionQuote:
    symbol: OptionSymbol
    underlying_price: float
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    theo: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    volume: int
    open_interest: int
    prev_close: float

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


@dataclass(slots=True)
class MinuteBar:
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int

    def update(self, price: float, volume: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += volume


@dataclass(slots=True)
class Metrics:
    symbol: str
    iv_index: float
    iv_index_5d_change: float
    iv_rank: float  # 0..1
    iv_percentile: float  # 0..1
    hv30: float
    hv60: float
    hv90: float
    beta: float
    corr_spy: float
    liquidity_rating: int
    market_cap: float
    earnings_date: date | None
    dividend_yield: float
    expiration_ivs: list[tuple[date, str, float]]


@dataclass(slots=True)
class _Ticker:
    """Mutable per-underlying market state."""

    spec: UnderlyingSpec
    price: float
    prev_close: float
    day_open: float
    day_high: float
    day_low: float
    volume: int
    last_size: int
    rng: random.Random
    iv_history: list[float]
    daily_closes: list[float]
    minute_bars: list[MinuteBar] = field(default_factory=list)


class MarketModel:
    """Prices, quotes, chains and metrics for the simulator's universe."""

    def __init__(
        self,
        seed: int,
        clock: Clock,
        *,
        tick_interval: float = 0.2,
        volatility_scale: float = 1.0,
        calendar: TradingCalendar | None = None,
        start_prices: Mapping[str, float] | None = None,
        extra: Sequence[UnderlyingSpec] = (),
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.tick_interval = tick_interval
        self.volatility_scale = volatility_scale
        self.step = 0
        now = clock.now()
        self.calendar = calendar or TradingCalendar(now.astimezone(NEW_YORK).date())
        self._rng = random.Random(f"tape:{seed}")
        self._tickers: dict[str, _Ticker] = {}
        self._chains: dict[tuple[str, date], OptionChain] = {}
        self._option_cache: dict[OptionSymbol, tuple[int, OptionQuote]] = {}
        self._equity_cache: dict[str, tuple[int, EquityQuote]] = {}
        #: Underlyings beyond the universe (synthetic load-test stocks); looked up after it.
        self._extra = {spec.symbol: spec for spec in extra if spec.symbol not in BY_SYMBOL}
        self._extra_roots = {r: s.symbol for s in self._extra.values() for r in s.option_roots}
        for spec in (*BY_SYMBOL.values(), *self._extra.values()):
            self._tickers[spec.symbol] = self._open_ticker(spec, now, start_prices)
        self._anchor_day = now.astimezone(NEW_YORK).date()

    # ----------------------------------------------------------------- set-up

    def _open_ticker(
        self, spec: UnderlyingSpec, now: datetime, start_prices: Mapping[str, float] | None
    ) -> _Ticker:
        rng = random.Random(f"{self.seed}:{spec.symbol}")
        daily_vol = spec.vol / math.sqrt(252.0)
        prev_close = round(spec.price * math.exp(rng.gauss(0.0, daily_vol)), 2)
        closes = [prev_close]
        for _ in range(252):  # walk backwards for a year of daily closes
            closes.append(closes[-1] * math.exp(-rng.gauss(0.0, daily_vol)))
        closes.reverse()
        # Implied volatility history: an Ornstein-Uhlenbeck walk in log space around the base.
        z = rng.gauss(0.0, 0.25)
        history = []
        for _ in range(252):
            z += -0.05 * z + rng.gauss(0.0, 0.06)
            history.append(spec.vol * math.exp(z))
        day_open = round(prev_close * math.exp(rng.gauss(0.0, daily_vol * 0.3)), 2)
        ticker = _Ticker(
            spec=spec,
            price=day_open,
            prev_close=prev_close,
            day_open=day_open,
            day_high=day_open,
            day_low=day_open,
            volume=0,
            last_size=100,
            rng=rng,
            iv_history=history,
            daily_closes=closes,
        )
        self._backfill_session(ticker, now, rng)
        if start_prices and spec.symbol in start_prices:
            ticker.price = start_prices[spec.symbol]
            ticker.day_high = max(ticker.day_high, ticker.price)
            ticker.day_low = min(ticker.day_low, ticker.price)
        return ticker

    def _backfill_session(self, ticker: _Ticker, now: datetime, rng: random.Random) -> None:
        """Minute bars from today's open up to now, so sparklines have an intraday history."""
        local = now.astimezone(NEW_YORK)
        open_at = datetime.combine(local.date(), REGULAR_OPEN, NEW_YORK)
        minutes = int((local - open_at).total_seconds() // 60)
        minutes = max(0, min(_MINUTES_PER_SESSION, minutes))
        minute_vol = ticker.spec.vol / math.sqrt(252.0 * _MINUTES_PER_SESSION)
        base_volume = int(ticker.spec.market_cap_billions * 40 + 2_000)
        price = ticker.day_open
        for i in range(minutes):
            start = (open_at + timedelta(minutes=i)).astimezone(UTC)
            bar = MinuteBar(start, price, price, price, price, 0)
            for _ in range(4):
                price = round(price * math.exp(rng.gauss(0.0, minute_vol / 2.0)), 2)
                bar.update(price, int(base_volume * (0.5 + rng.random())))
            ticker.minute_bars.append(bar)
            ticker.volume += bar.volume
        ticker.price = price
        ticker.day_high = max([ticker.day_open] + [b.high for b in ticker.minute_bars])
        ticker.day_low = min([ticker.day_open] + [b.low for b in ticker.minute_bars])

    # ------------------------------------------------------------------ tape

    def advance(self) -> None:
        """One step of the tape: a correlated random walk of every underlying."""
        self.step += 1
        dt = self.tick_interval / TRADING_SECONDS_PER_YEAR
        sqrt_dt = math.sqrt(dt)
        scale = self.volatility_scale
        market_z = self._rng.gauss(0.0, 1.0)
        market_vol = BY_SYMBOL["SPY"].vol * scale
        now = self.clock.now()
        for symbol, ticker in self._tickers.items():
            spec = ticker.spec
            vol = spec.vol * scale
            if symbol in ("SPY", "SPX"):
                ret = market_vol * sqrt_dt * market_z
            else:
                systematic = spec.beta * market_vol
                idio = math.sqrt(max(vol * vol - systematic * systematic, (0.3 * vol) ** 2))
                ret = sqrt_dt * (systematic * market_z + idio * self._rng.gauss(0.0, 1.0))
            price = max(0.05, ticker.price * math.exp(ret - 0.5 * vol * vol * dt))
            ticker.price = price
            ticker.day_high = max(ticker.day_high, price)
            ticker.day_low = min(ticker.day_low, price)
            size = int(1 + 400 * ticker.rng.random() * spec.liquidity)
            ticker.volume += size
            ticker.last_size = size
            self._record_minute(ticker, now, price, size)

    @staticmethod
    def _record_minute(ticker: _Ticker, now: datetime, price: float, size: int) -> None:
        start = now.replace(second=0, microsecond=0)
        bars = ticker.minute_bars
        if bars and bars[-1].start == start:
            bars[-1].update(price, size)
        elif not bars or bars[-1].start < start:
            bars.append(MinuteBar(start, price, price, price, price, size))
            if len(bars) > 2_000:
                del bars[:-2_000]

    def prices(self) -> dict[str, float]:
        """Every underlying's current price (persisted so a restart resumes the tape)."""
        return {symbol: t.price for symbol, t in self._tickers.items()}

    # --------------------------------------------------------------- lookups

    def symbols(self) -> list[str]:
        return list(self._tickers)

    def spec(self, symbol: str) -> UnderlyingSpec | None:
        return BY_SYMBOL.get(symbol) or self._extra.get(symbol)

    def underlying_of_root(self, root: str) -> UnderlyingSpec | None:
        underlying = ROOT_TO_UNDERLYING.get(root) or self._extra_roots.get(root)
        return self.spec(underlying) if underlying else None

    def spot(self, symbol: str) -> float:
        return self._tickers[symbol].price

    def today(self) -> date:
        return self.clock.now().astimezone(NEW_YORK).date()

    def expiry_instant(self, option: OptionSymbol) -> datetime:
        """When the contract stops trading: 16:00 New York (AM-settled: the open)."""
        at = REGULAR_OPEN if option.root in _AM_SETTLED_ROOTS else REGULAR_CLOSE
        return datetime.combine(option.expiration, at, NEW_YORK).astimezone(UTC)

    def years_to_expiry(self, option: OptionSymbol, now: datetime | None = None) -> float:
        now = now or self.clock.now()
        seconds = (self.expiry_instant(option) - now).total_seconds()
        return max(0.0, seconds / SECONDS_PER_YEAR)

    # --------------------------------------------------------------- quotes

    def equity_quote(self, symbol: str) -> EquityQuote:
        cached = self._equity_cache.get(symbol)
        if cached is not None and cached[0] == self.step:
            return cached[1]
        ticker = self._tickers[symbol]
        spec = ticker.spec
        price = ticker.price
        width = _CENT * (1 + 2 * (5 - spec.liquidity))
        if spec.is_index:
            bid = ask = round(price, 2)
        else:
            bid = round(_round_down(price - width / 2.0, _CENT), 2)
            ask = round(max(bid + _CENT, _round_up(price + width / 2.0, _CENT)), 2)
        rng_u = _unit(f"{symbol}:{self.step}")
        quote = EquityQuote(
            symbol=symbol,
            bid=bid,
            ask=ask,
            bid_size=int(100 + 900 * rng_u) * spec.liquidity,
            ask_size=int(100 + 900 * (1 - rng_u)) * spec.liquidity,
            last=round(price, 2),
            last_size=ticker.last_size,
            day_open=ticker.day_open,
            day_high=round(ticker.day_high, 2),
            day_low=round(ticker.day_low, 2),
            prev_close=ticker.prev_close,
            volume=ticker.volume,
        )
        self._equity_cache[symbol] = (self.step, quote)
        return quote

    def _iv_multiplier(self, ticker: _Ticker) -> float:
        """Today's level from the IV history, raised when the price falls (leverage effect)."""
        level = ticker.iv_history[-1] / ticker.spec.vol
        move = ticker.price / ticker.prev_close - 1.0
        return level * min(1.5, max(0.7, 1.0 - 2.5 * move))

    def atm_vol(self, spec: UnderlyingSpec, t: float, expiration: date | None = None) -> float:
        """The volatility term structure, with earnings variance added when an event is inside."""
        ticker = self._tickers[spec.symbol]
        base = spec.vol * self._iv_multiplier(ticker)
        term = 0.88 + 0.17 * (1.0 - math.exp(-t / 0.35))
        vol = base * term
        earnings = self.earnings_date(spec)
        if earnings is not None and expiration is not None and expiration >= earnings and t > 0:
            vol = math.sqrt(vol * vol + spec.earnings_move**2 / max(t, 1.0 / 365.0))
        return vol

    def implied_vol(
        self, option: OptionSymbol, spot: float, t: float, spec: UnderlyingSpec
    ) -> float:
        atm = self.atm_vol(spec, t, option.expiration)
        if t <= 0:
            return atm
        forward = spot * math.exp((RISK_FREE_RATE - spec.dividend_yield) * t)
        x = math.log(float(option.strike) / forward) / (math.sqrt(t) * atm)
        x = max(-4.0, min(4.0, x))
        skew, curve = (-0.10, 0.025) if spec.kind is not Kind.STOCK else (-0.05, 0.04)
        return max(0.3 * atm, min(3.0 * atm, atm * (1.0 + skew * x + curve * x * x)))

    def option_quote(self, option: OptionSymbol) -> OptionQuote:
        """The contract's market now; cached for the current step."""
        cached = self._option_cache.get(option)
        if cached is not None and cached[0] == self.step:
            return cached[1]
        spec = self.underlying_of_root(option.root)
        if spec is None:
            raise SymbolError(f"unknown option root {option.root}")
        ticker = self._tickers[spec.symbol]
        spot = ticker.price
        t = self.years_to_expiry(option)
        iv = self.implied_vol(option, spot, t, spec)
        strike = float(option.strike)
        g = bs.greeks(spot, strike, t, iv, option.is_call, RISK_FREE_RATE, spec.dividend_yield)
        theo = g.price
        tick = float(spec.option_ticks.increment_at(Decimal(str(round(theo, 2)))))
        moneyness = abs(math.log(strike / spot)) / max(0.05, iv * math.sqrt(max(t, 1e-4)))
        pct = {5: 0.004, 4: 0.008, 3: 0.015, 2: 0.03, 1: 0.05}[spec.liquidity]
        width = tick * (1 + (5 - spec.liquidity)) + theo * pct * (1.0 + 0.5 * moneyness)
        if theo < tick / 2.0:
            bid, ask = 0.0, tick
        else:
            bid = max(0.0, _round_down(theo - width / 2.0, tick))
            ask = max(bid + tick, _round_up(theo + width / 2.0, tick))
        key = option.occ
        u = _unit(key)
        oi_base = {5: 40_000, 4: 8_000, 3: 2_000, 2: 600, 1: 150}[spec.liquidity]
        open_interest = int(oi_base * math.exp(-0.5 * moneyness * moneyness) * (0.2 + u))
        volume = int(open_interest * (0.02 + 0.15 * _unit(key + "v")) * (1 + self.step / 50_000))
        prev_t = t + 1.0 / 365.0
        prev_close = bs.price(
            ticker.prev_close,
            strike,
            prev_t,
            iv,
            option.is_call,
            RISK_FREE_RATE,
            spec.dividend_yield,
        )
        quote = OptionQuote(
            symbol=option,
            underlying_price=spot,
            bid=round(bid, 2),
            ask=round(ask, 2),
            bid_size=int(5 + 95 * u) * spec.liquidity,
            ask_size=int(5 + 95 * (1 - u)) * spec.liquidity,
            theo=theo,
            iv=iv,
            delta=g.delta,
            gamma=g.gamma,
            theta=g.theta,
            vega=g.vega,
            rho=g.rho,
            volume=volume,
            open_interest=open_interest,
            prev_close=prev_close,
        )
        self._option_cache[option] = (self.step, quote)
        return quote

    def mark(self, symbol: str) -> float:
        """Mid price of an equity, index or option symbol (OCC or streamer form)."""
        if symbol in self._tickers:
            return self.equity_quote(symbol).mid
        return self.option_quote(parse_option(symbol)).mid

    def prev_close_of(self, symbol: str) -> float:
        if symbol in self._tickers:
            return self._tickers[symbol].prev_close
        return self.option_quote(parse_option(symbol)).prev_close

    # ---------------------------------------------------------------- chains

    def tick_schedule(self, symbol: str) -> TickSchedule:
        spec = self.spec(symbol)
        return spec.option_ticks if spec else STOCK

    def chain(self, symbol: str) -> OptionChain:
        """Today's listed expirations and strikes (stable through the day)."""
        today = self.today()
        key = (symbol, today)
        chain = self._chains.get(key)
        if chain is None:
            spec = BY_SYMBOL.get(symbol) or self._extra[symbol]
            expirations = [
                self._listing(spec, root, day, kind)
                for root, day, kind in _expiration_dates(spec, today, self.calendar)
            ]
            expirations.sort(key=lambda e: (e.expiration, e.root))
            chain = OptionChain(symbol, tuple(expirations), spec.option_ticks, 100)
            self._chains[key] = chain
        return chain

    def _listing(self, spec: UnderlyingSpec, root: str, day: date, kind: str) -> ChainExpiration:
        # Strikes are listed around the reference price so they do not move with the tape.
        reference = self._tickers[spec.symbol].prev_close
        t = max(1.0, (day - self._anchor_day).days) / 365.0
        span = max(0.05, 4.0 * spec.vol * math.sqrt(t))
        step = spec.strike_step
        count = 2 * span * reference / step
        for widen in (1, 2, 5, 10, 20, 50):
            if count / widen <= spec.max_strikes:
                step = spec.strike_step * widen
                break
        half = max(spec.min_strikes // 2, int(span * reference / step))
        half = min(half, spec.max_strikes // 2)
        centre = round(reference / step) * step
        strikes: list[ChainStrike] = []
        for i in range(-half, half + 1):
            price = centre + i * step
            if price <= 0:
                continue
            strike = Decimal(str(round(price, 3))).normalize()
            if strike == strike.to_integral():
                strike = strike.quantize(Decimal(1))
            call = OptionSymbol(root, day, OptionType.CALL, strike)
            put = OptionSymbol(root, day, OptionType.PUT, strike)
            strikes.append(ChainStrike(strike, call, put))
        settlement = "AM" if root in _AM_SETTLED_ROOTS else "PM"
        return ChainExpiration(root, day, kind, settlement, tuple(strikes))

    def is_listed(self, option: OptionSymbol) -> bool:
        spec = self.underlying_of_root(option.root)
        return spec is not None and self.chain(spec.symbol).contains(option)

    # --------------------------------------------------------------- metrics

    def earnings_date(self, spec: UnderlyingSpec) -> date | None:
        if spec.earnings_in_days is None:
            return None
        return self._anchor_day + timedelta(days=spec.earnings_in_days)

    def metrics(self, symbol: str) -> Metrics:
        ticker = self._tickers[symbol]
        spec = ticker.spec
        iv_now = self.atm_vol(spec, 30 / 365.0)
        history = ticker.iv_history
        lo, hi = min([*history, iv_now]), max([*history, iv_now])
        rank = 0.0 if hi == lo else (iv_now - lo) / (hi - lo)
        percentile = sum(1 for v in history if v < iv_now) / len(history)
        closes = ticker.daily_closes
        chain = self.chain(symbol)
        exp_ivs = [
            (
                e.expiration,
                e.settlement,
                self.atm_vol(spec, max(1, e.dte(self.today())) / 365.0, e.expiration),
            )
            for e in chain.expirations
        ]
        return Metrics(
            symbol=symbol,
            iv_index=iv_now,
            iv_index_5d_change=iv_now - history[-5],
            iv_rank=rank,
            iv_percentile=percentile,
            hv30=_historical_vol(closes, 30),
            hv60=_historical_vol(closes, 60),
            hv90=_historical_vol(closes, 90),
            beta=spec.beta,
            corr_spy=min(0.99, max(-0.5, spec.beta / 1.6)),
            liquidity_rating=spec.liquidity,
            market_cap=spec.market_cap_billions * 1e9,
            earnings_date=self.earnings_date(spec),
            dividend_yield=spec.dividend_yield,
            expiration_ivs=exp_ivs,
        )

    # --------------------------------------------------------------- candles

    def candles(
        self, symbol: str, period: timedelta, since: datetime, limit: int = 1000
    ) -> list[MinuteBar]:
        """OHLC bars of ``period`` from ``since`` on, at most ``limit`` (the newest)."""
        ticker = self._tickers[symbol]
        if period >= timedelta(days=1):
            return self._daily_bars(ticker, since)[-limit:]
        minutes = max(1, int(period.total_seconds() // 60))
        out: list[MinuteBar] = []
        for bar in ticker.minute_bars:
            if bar.start < since:
                continue
            bucket = bar.start - timedelta(
                minutes=(bar.start.hour * 60 + bar.start.minute) % minutes
            )
            if out and out[-1].start == bucket:
                merged = out[-1]
                merged.high = max(merged.high, bar.high)
                merged.low = min(merged.low, bar.low)
                merged.close = bar.close
                merged.volume += bar.volume
            else:
                out.append(MinuteBar(bucket, bar.open, bar.high, bar.low, bar.close, bar.volume))
        return out[-limit:]

    def _daily_bars(self, ticker: _Ticker, since: datetime) -> list[MinuteBar]:
        bars: list[MinuteBar] = []
        day = self.today()
        days: list[date] = []
        probe = day
        while len(days) < len(ticker.daily_closes):
            probe = self.calendar.previous_trading_day(probe)
            days.append(probe)
        days.reverse()
        previous = ticker.daily_closes[0]
        for when, close in zip(days, ticker.daily_closes, strict=False):
            start = datetime.combine(when, time(9, 30), NEW_YORK).astimezone(UTC)
            if start >= since:
                high = max(previous, close) * (1 + 0.004 * _unit(f"{ticker.spec.symbol}{when}"))
                low = min(previous, close) * (1 - 0.004 * _unit(f"{when}{ticker.spec.symbol}"))
                bars.append(MinuteBar(start, previous, high, low, close, 1_000_000))
            previous = close
        return bars


def _historical_vol(closes: list[float], days: int) -> float:
    window = closes[-(days + 1) :]
    returns = [math.log(b / a) for a, b in itertools.pairwise(window)]
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(var * 252.0)


def _third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + timedelta(days=offset + 14)


@lru_cache(maxsize=256)
def _monthlies(today: date, months: int) -> tuple[date, ...]:
    out = []
    year, month = today.year, today.month
    for _ in range(months + 1):
        out.append(_third_friday(year, month))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return tuple(out)


def _expiration_dates(
    spec: UnderlyingSpec, today: date, calendar: TradingCalendar
) -> list[tuple[str, date, str]]:
    """(root, date, expiration-type) for every listed expiration of an underlying."""
    monthly_root = spec.option_roots[0]
    weekly_root = spec.option_roots[-1]
    listed: dict[tuple[str, date], str] = {}
    months = 14 if spec.listing is not Listing.MONTHLY else 8
    for friday in _monthlies(today, months):
        day = calendar.adjust_back(friday)
        if day >= today:
            listed[(monthly_root, day)] = "Regular"
    # LEAPS: the January monthly of the next two years.
    for year in (today.year + 1, today.year + 2):
        day = calendar.adjust_back(_third_friday(year, 1))
        if day >= today:
            listed.setdefault((monthly_root, day), "Regular")
    if spec.listing is Listing.MONTHLY:
        return [(root, day, kind) for (root, day), kind in listed.items()]
    # Weekly Fridays for the next ~10 weeks (daily listers go further out).
    weeks = 26 if spec.is_index else (12 if spec.listing is Listing.DAILY else 8)
    probe = today + timedelta(days=(4 - today.weekday()) % 7)
    for _ in range(weeks):
        day = calendar.adjust_back(probe)
        if day >= today:
            listed.setdefault((weekly_root, day), "Weekly")
        probe += timedelta(days=7)
    if spec.listing is Listing.DAILY:
        trading_days = 40 if spec.is_index else 15
        day = today if calendar.is_trading_day(today) else calendar.next_trading_day(today)
        for _ in range(trading_days):
            listed.setdefault((weekly_root, day), "Weekly")
            day = calendar.next_trading_day(day)
    return [(root, day, kind) for (root, day), kind in listed.items()]
