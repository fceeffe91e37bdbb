"""The nested-chain decoder and the chain's expirations built on first use.

The decoder reads tastytrade's ``/option-chains/{symbol}/nested`` answer without the SDK's
models: unknown fields are ignored, a malformed row or expiration is left out without hiding
the rest, and what the chain cannot do without fails with a ``BrokerUnavailable`` that says
what is wrong.  An expiration's contracts are built once, when first used.
"""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tastytui.domain.chain import ChainExpiration, ChainStrike, OptionChain
from tastytui.domain.symbols import OptionType, parse_occ
from tastytui.domain.ticks import TickSchedule
from tastytui.services.chain_wire import decode_nested_chain, decode_strikes, nested_chain_path
from tastytui.services.errors import BrokerRejected, BrokerUnavailable


def row(strike: str, day: str = "261218", root: str = "SPX") -> dict[str, Any]:
    millis = f"{int(Decimal(strike) * 1000):08d}"
    return {
        "strike-price": strike,
        "call": f"{root:<6}{day}C{millis}",
        "put": f"{root:<6}{day}P{millis}",
        "call-streamer-symbol": "ignored",
        "put-streamer-symbol": "ignored",
    }


def body() -> dict[str, Any]:
    """Two roots, out of order, as the API sends them (strikes not sorted either)."""
    return {
        "items": [
            {
                "underlying-symbol": "SPX",
                "root-symbol": "SPXW",
                "option-chain-type": "Standard",
                "shares-per-contract": 100,
                "tick-sizes": [{"value": "0.05", "threshold": "3"}, {"value": "0.1"}],
                "deliverables": [{"id": 1}],
                "expirations": [
                    {
                        "expiration-type": "Weekly",
                        "expiration-date": "2026-12-11",
                        "days-to-expiration": 23,
                        "settlement-type": "PM",
                        "strikes": [row(k, "261211", "SPXW") for k in ("6810", "6800", "6805")],
                    }
                ],
            },
            {
                "underlying-symbol": "SPX",
                "root-symbol": "SPX",
                "shares-per-contract": 100,
                "tick-sizes": [{"value": "0.05", "threshold": "3"}, {"value": "0.1"}],
                "expirations": [
                    {
                        "expiration-type": "Regular",
                        "expiration-date": "2026-12-18",
                        "settlement-type": "AM",
                        "x-new-field": {"nested": [1, "two"]},
                        "strikes": [row(k) for k in ("6900", "6700", "6800.5")],
                    }
                ],
            },
        ]
    }


def test_decodes_every_root_sorted_by_date_with_strikes_built_on_first_use() -> None:
    chain = decode_nested_chain("SPX", body())
    assert chain.underlying == "SPX" and chain.shares_per_contract == 100
    assert chain.tick_schedule == TickSchedule.from_wire(
        [{"value": "0.05", "threshold": "3"}, {"value": "0.1"}]
    )
    weekly, monthly = chain.expirations
    assert (weekly.root, weekly.expiration, weekly.expiration_type, weekly.settlement) == (
        "SPXW",
        date(2026, 12, 11),
        "Weekly",
        "PM",
    )
    assert monthly.is_monthly and monthly.settlement == "AM"
    assert not weekly.loaded and not monthly.loaded, "nothing is parsed before it is used"
    assert monthly.strike_prices() == (Decimal("6700"), Decimal("6800.5"), Decimal("6900"))
    assert monthly.loaded and not weekly.loaded, "only the expiration that was used"
    middle = monthly.strikes[1]
    assert middle.call == parse_occ("SPX   261218C06800500")
    assert middle.contract(OptionType.PUT).occ == "SPX   261218P06800500"
    assert monthly.nearest_index(6801) == 1 and monthly.find(Decimal("6900")) is monthly.strikes[2]
    assert chain.contains(parse_occ("SPXW  261211C06805000"))
    assert not chain.contains(parse_occ("SPXW  261211C06806000"))


def test_malformed_rows_and_expirations_are_left_out_not_the_chain() -> None:
    data = body()
    rows = data["items"][1]["expirations"][0]["strikes"]
    rows.append({**row("7000"), "call": "not an OCC symbol"})  # unparsable
    rows.append({**row("7100"), "call": row("7100")["put"]})  # a put where the call belongs
    rows.append({**row("7200"), "strike-price": "NaN"})
    rows.append({**row("7300"), "strike-price": None})
    rows.append({**row("7400"), "put": 7})
    rows.append({**row("7500"), "strike-price": "-5"})
    rows.append("[bold]x[/]\x1b]52;c;x\x07")
    rows.append({**row("6750"), "strike-price": 6750})  # a JSON number is a price too
    extra = copy.deepcopy(data["items"][1]["expirations"][0])
    data["items"][1]["expirations"].append({**extra, "expiration-date": "2026-13-45"})
    data["items"][1]["expirations"].append({**extra, "strikes": None})
    data["items"][1]["expirations"].append(None)
    data["items"].append({"root-symbol": None, "expirations": []})
    chain = decode_nested_chain("SPX", data)
    assert [e.root for e in chain.expirations] == ["SPXW", "SPX"]
    prices = chain.expirations[1].strike_prices()
    assert prices == (Decimal("6700"), Decimal("6750"), Decimal("6800.5"), Decimal("6900"))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (None, "no list of option roots"),
        ({"items": "x"}, "no list of option roots"),
        ({"items": [7]}, "no option root is an object"),
        ({"items": [{**body()["items"][1], "tick-sizes": None}]}, "no list of tick sizes"),
        (
            {"items": [{**body()["items"][1], "tick-sizes": [{"value": "Infinity"}]}]},
            "tick sizes are not valid",
        ),
        ({"items": [{**body()["items"][1], "tick-sizes": []}]}, "tick sizes are not valid"),
        (
            {"items": [{**body()["items"][1], "shares-per-contract": "a hundred"}]},
            "no valid shares per contract",
        ),
        ({"items": [{**body()["items"][1], "shares-per-contract": True}]}, "shares per contract"),
        (
            {"items": [{**body()["items"][1], "expirations": [None, {"x": 1}]}]},
            "none of its 2 expirations is readable",
        ),
    ],
)
def test_an_unreadable_chain_is_a_clear_service_error(data: Any, why: str) -> None:
    with pytest.raises(BrokerUnavailable) as error:
        decode_nested_chain("SPX", data)
    message = str(error.value)
    assert "SPX option chain" in message and why in message and "try again" in message


def test_no_roots_means_no_listed_options() -> None:
    with pytest.raises(BrokerRejected, match="XYZ has no listed options"):
        decode_nested_chain("XYZ", {"items": []})


def test_futures_roots_are_escaped_in_the_path() -> None:
    assert nested_chain_path("SPY") == "/option-chains/SPY/nested"
    assert nested_chain_path("/ES") == "/option-chains/%2FES/nested"


def test_decode_strikes_sorts_by_strike() -> None:
    strikes = decode_strikes([row("10"), row("9.5"), row("11")])
    assert [s.strike for s in strikes] == [Decimal("9.5"), Decimal("10"), Decimal("11")]


def test_a_deferred_expiration_is_immutable_equal_and_loads_once() -> None:
    calls: list[int] = []
    rows = [row("6700"), row("6800")]

    def load() -> list[ChainStrike]:
        calls.append(1)
        return decode_strikes(rows)

    lazy = ChainExpiration.deferred("SPX", date(2026, 12, 18), "Regular", "AM", load)
    assert "not loaded" in repr(lazy) and not calls
    eager = ChainExpiration("SPX", date(2026, 12, 18), "Regular", "AM", decode_strikes(rows))
    assert lazy == eager and hash(lazy) == hash(eager)
    assert len(lazy.strikes) == 2 and lazy.strike_prices()[0] == Decimal(6700)
    assert calls == [1], "built once"
    assert "strikes: 2" in repr(lazy)
    with pytest.raises(FrozenInstanceError):
        lazy.root = "SPXW"  # type: ignore[misc]
    empty = ChainExpiration("SPX", date(2026, 12, 18), "Regular", "AM")
    assert empty.strikes == () and empty != eager
    with pytest.raises(ValueError, match="has no strikes"):
        empty.nearest_index(1)
    chain = OptionChain("SPX", (lazy,))
    assert chain.nearest_dte(date(2026, 12, 1), 30) is lazy
