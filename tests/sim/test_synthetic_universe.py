"""Synthetic stocks for load tests (``--extra-underlyings``): only when asked, and complete.

The storm benchmark (issue 6) needs a 500-symbol quote board; the simulator's own universe has
26 underlyings.  Extra ones must quote, stream, list options and never appear by default.
"""

from __future__ import annotations

import pytest

from tastytui.cli import main
from tastytui.domain.clock import OffsetClock
from tastytui.domain.symbols import normalize_equity
from tastytui.sim.config import SimConfig
from tastytui.sim.exchange import Exchange
from tastytui.sim.universe import BY_SYMBOL, synthetic_underlyings
from tests.conftest import SIM_START


def test_the_default_simulator_lists_only_its_own_universe() -> None:
    exchange = Exchange(SimConfig(seed=7, clock=OffsetClock(SIM_START)))
    assert sorted(exchange.market.symbols()) == sorted(BY_SYMBOL)
    assert exchange.market.spec("Z0001") is None


def test_extra_underlyings_quote_list_options_and_are_deterministic() -> None:
    exchange = Exchange(SimConfig(seed=7, clock=OffsetClock(SIM_START), extra_underlyings=3))
    market = exchange.market
    assert {"Z0001", "Z0002", "Z0003"} <= set(market.symbols())
    assert len(market.symbols()) == len(BY_SYMBOL) + 3
    spec = market.spec("Z0002")
    assert spec is not None and normalize_equity(spec.symbol) == "Z0002"
    quote = market.equity_quote("Z0002")
    assert 0 < quote.bid < quote.ask
    chain = market.chain("Z0002")
    assert chain.expirations and all(e.strikes for e in chain.expirations)
    option = chain.expirations[0].strikes[0].call
    assert market.underlying_of_root(option.root) is spec and market.is_listed(option)
    assert synthetic_underlyings(3) == synthetic_underlyings(3)  # same stocks every run


@pytest.mark.parametrize("count", ["-1", "10000"])
def test_the_sim_command_refuses_an_impossible_count(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--extra-underlyings", count]) == 2
    assert "--extra-underlyings must be between 0 and 9999" in capsys.readouterr().err
