"""Black-Scholes-Merton prices, greeks, implied volatility and probabilities.

Floats, not Decimals: these feed models and displays, never money that is sent to the broker.
Greeks follow the platform's conventions: theta per calendar day, vega per one volatility point,
rho per one percentage point of rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_MIN_T = 1e-9


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT_2))


def norm_pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


@dataclass(frozen=True, slots=True)
class Greeks:
    price: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float


def _d1_d2(
    spot: float, strike: float, t: float, rate: float, div: float, vol: float
) -> tuple[float, float]:
    sqrt_t = math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate - div + 0.5 * vol * vol) * t) / (vol * sqrt_t)
    return d1, d1 - vol * sqrt_t


def price(
    spot: float,
    strike: float,
    t: float,
    vol: float,
    is_call: bool,
    rate: float = 0.0,
    div: float = 0.0,
) -> float:
    """Option value; at or past expiry (t <= 0) or with zero volatility, the intrinsic value."""
    if t <= _MIN_T or vol <= 0.0:
        return max(0.0, spot - strike) if is_call else max(0.0, strike - spot)
    d1, d2 = _d1_d2(spot, strike, t, rate, div, vol)
    disc_q = math.exp(-div * t)
    disc_r = math.exp(-rate * t)
    if is_call:
        return spot * disc_q * norm_cdf(d1) - strike * disc_r * norm_cdf(d2)
    return strike * disc_r * norm_cdf(-d2) - spot * disc_q * norm_cdf(-d1)


def greeks(
    spot: float,
    strike: float,
    t: float,
    vol: float,
    is_call: bool,
    rate: float = 0.0,
    div: float = 0.0,
) -> Greeks:
    """Price and greeks in one pass (the hot path of the simulator's option quotes)."""
    if t <= _MIN_T or vol <= 0.0:
        intrinsic = max(0.0, spot - strike) if is_call else max(0.0, strike - spot)
        itm = (spot > strike) if is_call else (spot < strike)
        delta = (1.0 if is_call else -1.0) if itm else 0.0
        return Greeks(intrinsic, delta, 0.0, 0.0, 0.0, 0.0)
    sqrt_t = math.sqrt(t)
    d1, d2 = _d1_d2(spot, strike, t, rate, div, vol)
    disc_q = math.exp(-div * t)
    disc_r = math.exp(-rate * t)
    pdf_d1 = norm_pdf(d1)
    gamma = disc_q * pdf_d1 / (spot * vol * sqrt_t)
    vega = spot * disc_q * pdf_d1 * sqrt_t / 100.0
    common_theta = -spot * disc_q * pdf_d1 * vol / (2.0 * sqrt_t)
    if is_call:
        nd1, nd2 = norm_cdf(d1), norm_cdf(d2)
        value = spot * disc_q * nd1 - strike * disc_r * nd2
        delta = disc_q * nd1
        theta = common_theta - rate * strike * disc_r * nd2 + div * spot * disc_q * nd1
        rho = strike * t * disc_r * nd2 / 100.0
    else:
        nmd1, nmd2 = norm_cdf(-d1), norm_cdf(-d2)
        value = strike * disc_r * nmd2 - spot * disc_q * nmd1
        delta = -disc_q * nmd1
        theta = common_theta + rate * strike * disc_r * nmd2 - div * spot * disc_q * nmd1
        rho = -strike * t * disc_r * nmd2 / 100.0
    return Greeks(value, delta, gamma, theta / 365.0, vega, rho)


def prob_itm(
    spot: float,
    strike: float,
    t: float,
    vol: float,
    is_call: bool,
    rate: float = 0.0,
    div: float = 0.0,
) -> float:
    """Risk-neutral probability of finishing in the money (N(d2) for a call)."""
    if t <= _MIN_T or vol <= 0.0:
        return float(spot > strike) if is_call else float(spot < strike)
    _, d2 = _d1_d2(spot, strike, t, rate, div, vol)
    return norm_cdf(d2) if is_call else norm_cdf(-d2)


def implied_vol(
    target: float,
    spot: float,
    strike: float,
    t: float,
    is_call: bool,
    rate: float = 0.0,
    div: float = 0.0,
) -> float | None:
    """The volatility that reproduces ``target``; None when no volatility can (below intrinsic)."""
    if t <= _MIN_T or target <= 0.0:
        return None
    lo, hi = 1e-4, 5.0
    if price(spot, strike, t, hi, is_call, rate, div) < target:
        return None
    if price(spot, strike, t, lo, is_call, rate, div) > target:
        return None
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if price(spot, strike, t, mid, is_call, rate, div) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-7:
            break
    return 0.5 * (lo + hi)


def expected_move(spot: float, vol: float, t: float) -> float:
    """One standard deviation of the underlying's price over ``t`` years (spot × σ × √t)."""
    if t <= 0.0 or vol <= 0.0:
        return 0.0
    return spot * vol * math.sqrt(t)
