"""The market model on its own (no server): universe, volatility surface, spreads, metrics.

These are the properties a trader notices in the chain — puts richer than calls below the money,
wider markets in the wings and in thin names, open interest that fades away from the money, an
IV rank that agrees with the model's own IV history — and the tape's basic behaviour.
"""

from __future__ import annotations

import itertools
import math

import pytest

from tastytui.domain.clock import OffsetClock
from tastytui.domain.symbols import OptionSymbol
from tastytui.sim.market import MarketModel
from tastytui.sim.universe import BY_SYMBOL, Kind
from tests.conftest import SIM_START


@pytest.fixture(scope="module")
def model() -> MarketModel:
    # Read-only tests share one model: building it backfills a session for every underlying.
    return MarketModel(7, OffsetClock(SIM_START))


def _row(model: MarketModel, symbol: str, dte: int, offset: int) -> tuple[OptionSymbol, ...]:
    exp = model.chain(symbol).nearest_dte(model.today(), dte)
    assert exp is not None
    atm = exp.nearest_index(model.spot(symbol))
    row = exp.strikes[atm + offset]
    return row.call, row.put


def test_universe_has_twenty_underlyings_with_index_etfs_and_an_index(model: MarketModel) -> None:
    symbols = set(model.symbols())
    assert len(symbols) >= 20
    etfs = {s for s in symbols if BY_SYMBOL[s].kind is Kind.ETF}
    assert {"SPY", "QQQ", "IWM"} <= etfs
    assert any(BY_SYMBOL[s].kind is Kind.INDEX for s in symbols)
    for symbol in symbols:  # plausible prices: a few dollars to a few thousand
        assert 1.0 < model.spot(symbol) < 20_000.0, symbol


def test_put_skew_below_the_money_and_a_smile_above(model: MarketModel) -> None:
    _, atm_put = _row(model, "SPY", 30, 0)
    _, otm_put = _row(model, "SPY", 30, -15)
    otm_call, _ = _row(model, "SPY", 30, 15)
    atm = model.option_quote(atm_put).iv
    assert model.option_quote(otm_put).iv > atm * 1.02, "downside puts carry skew"
    assert model.option_quote(otm_call).iv < model.option_quote(otm_put).iv


def test_term_structure_rises_with_time_for_a_name_without_earnings(model: MarketModel) -> None:
    spec = BY_SYMBOL["SPY"]
    vols = [model.atm_vol(spec, days / 365.0) for days in (7, 30, 90, 365)]
    assert vols == sorted(vols) and vols[-1] > vols[0] * 1.05


def test_an_earnings_event_lifts_the_expirations_after_it(model: MarketModel) -> None:
    spec = next(s for s in BY_SYMBOL.values() if s.earnings_in_days and s.earnings_move > 0)
    event = model.earnings_date(spec)
    assert event is not None
    exps = model.chain(spec.symbol).upcoming(model.today())
    before = next(e for e in reversed(exps) if e.expiration < event)
    after = next(e for e in exps if e.expiration >= event)
    t_before = max(1, before.dte(model.today())) / 365.0
    t_after = max(1, after.dte(model.today())) / 365.0
    plain_after = model.atm_vol(spec, t_after)  # same maturity, no event inside
    assert model.atm_vol(spec, t_after, after.expiration) > plain_after
    assert model.atm_vol(spec, t_before, before.expiration) == model.atm_vol(spec, t_before)


def test_spreads_widen_away_from_the_money(model: MarketModel) -> None:
    def relative_width(offset: int) -> float:
        call, _ = _row(model, "AAPL", 30, offset)
        quote = model.option_quote(call)
        return (quote.ask - quote.bid) / max(quote.mid, 0.01)

    assert relative_width(12) > relative_width(0)


def test_thin_names_have_wider_markets_and_less_open_interest(model: MarketModel) -> None:
    liquid = max(BY_SYMBOL.values(), key=lambda s: s.liquidity)
    thin = min(BY_SYMBOL.values(), key=lambda s: s.liquidity)
    assert thin.liquidity < liquid.liquidity

    def atm(symbol: str) -> tuple[float, int]:
        call, _ = _row(model, symbol, 30, 0)
        quote = model.option_quote(call)
        return (quote.ask - quote.bid) / quote.mid, quote.open_interest

    liquid_width, liquid_oi = atm(liquid.symbol)
    thin_width, thin_oi = atm(thin.symbol)
    assert thin_width > liquid_width
    assert thin_oi < liquid_oi


def test_markets_are_sane_and_open_interest_fades_in_the_wings(model: MarketModel) -> None:
    exp = model.chain("SPY").nearest_dte(model.today(), 45)
    assert exp is not None
    atm = exp.nearest_index(model.spot("SPY"))
    near = far = 0
    for i, row in enumerate(exp.strikes):
        for option in (row.call, row.put):
            q = model.option_quote(option)
            assert 0 <= q.bid < q.ask, option.occ
            assert q.volume >= 0 and q.open_interest >= 0
            assert (q.delta > 0) == option.is_call or q.delta == 0
            if abs(i - atm) <= 3:
                near += q.open_interest
            elif abs(i - atm) >= len(exp.strikes) // 3:
                far += q.open_interest
    assert near > 0 and far < near


def test_iv_rank_and_percentile_agree_with_the_models_history() -> None:
    model = MarketModel(7, OffsetClock(SIM_START))
    ticker = model._tickers["AAPL"]
    before = model.metrics("AAPL")
    assert 0.0 <= before.iv_rank <= 1.0 and 0.0 <= before.iv_percentile <= 1.0
    # A sell-off raises implied volatility (leverage effect): rank and percentile follow.
    ticker.price *= 0.9
    after = model.metrics("AAPL")
    assert after.iv_index > before.iv_index
    assert after.iv_rank >= before.iv_rank and after.iv_percentile >= before.iv_percentile
    # Above every earlier value in the history, the rank is 1 and the percentile 100 %
    # (today's level comes from the latest value, which the sell-off lifts further).
    ticker.iv_history[:-1] = [v * 0.5 for v in ticker.iv_history[:-1]]
    top = model.metrics("AAPL")
    assert top.iv_rank == 1.0 and top.iv_percentile == 1.0


def test_the_tape_walks_with_intraday_volatility_and_the_scale_flag() -> None:
    calm = MarketModel(3, OffsetClock(SIM_START), tick_interval=1.0)
    wild = MarketModel(3, OffsetClock(SIM_START), tick_interval=1.0, volatility_scale=4.0)
    start = calm.prices()
    assert start == wild.prices()

    def realised(model: MarketModel) -> float:
        path = [model.spot("SPY")]
        for _ in range(400):
            model.advance()
            path.append(model.spot("SPY"))
        rets = [math.log(b / a) for a, b in itertools.pairwise(path)]
        return math.sqrt(sum(r * r for r in rets) / len(rets))

    calm_vol, wild_vol = realised(calm), realised(wild)
    assert calm_vol > 0 and calm.prices() != start
    assert 3.0 < wild_vol / calm_vol < 5.0
