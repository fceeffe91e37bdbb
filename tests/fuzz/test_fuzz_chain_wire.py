"""Fuzzing the nested-chain decoder (services/chain_wire.py) with drifted and hostile answers.

Whatever tastytrade sends for ``/option-chains/{symbol}/nested``, decoding either gives a chain
or raises a :class:`ServiceError` with a message — and a chain it gives never fails later:
every expiration's contracts build (on first use) without raising, lowest strike first, with
finite positive strikes and calls and puts where they belong.

Volume: see ``EXAMPLES`` (examples per target).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.chain import OptionChain
from tastytui.domain.symbols import OptionType
from tastytui.services.chain_wire import decode_nested_chain
from tastytui.services.errors import ServiceError

EXAMPLES = {"drifted chains": 600, "arbitrary json": 300}

JUNK: list[Any] = [
    "NaN",
    "Infinity",
    "-Infinity",
    "sNaN",
    "1e999999",
    None,
    [],
    {},
    True,
    -1,
    0,
    "",
    "Exploded",
    "9" * 400,
    10**400,
    1.5e308,
    "2026-13-45",
    "SPX   261218C0680000",
    "SPX   261218P06800000",
    "[bold]x[/]\x1b]52;c;x\x07",
]


def _row(strike: str, day: str, root: str) -> dict[str, Any]:
    millis = f"{int(Decimal(strike) * 1000):08d}"
    return {
        "strike-price": strike,
        "call": f"{root:<6}{day}C{millis}",
        "put": f"{root:<6}{day}P{millis}",
    }


def _valid() -> dict[str, Any]:
    items = []
    for root, days in (("SPX", ("261218", "270115")), ("SPXW", ("261211",))):
        items.append(
            {
                "underlying-symbol": "SPX",
                "root-symbol": root,
                "shares-per-contract": 100,
                "tick-sizes": [{"value": "0.05", "threshold": "3"}, {"value": "0.1"}],
                "expirations": [
                    {
                        "expiration-type": "Regular" if root == "SPX" else "Weekly",
                        "expiration-date": f"20{d[:2]}-{d[2:4]}-{d[4:]}",
                        "settlement-type": "AM" if root == "SPX" else "PM",
                        "strikes": [_row(k, d, root) for k in ("6790", "6800", "6805.5", "6810")],
                    }
                    for d in days
                ],
            }
        )
    return {"items": items}


def _spots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _spots(value, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((node, i))
            _spots(value, out)
    return out


def _check(chain: OptionChain) -> None:
    """A decoded chain is usable all the way down: nothing surfaces on first use."""
    assert chain.shares_per_contract > 0
    dates = [(e.expiration, e.root) for e in chain.expirations]
    assert dates == sorted(dates)
    for expiration in chain.expirations:
        prices = expiration.strike_prices()
        assert list(prices) == sorted(prices)
        assert all(p.is_finite() and p > 0 for p in prices)
        assert len(expiration.strikes) == len(prices)
        for strike in expiration.strikes:
            assert strike.call.option_type is OptionType.CALL
            assert strike.put.option_type is OptionType.PUT
        if prices:
            expiration.nearest_index(prices[len(prices) // 2])
            assert expiration.find(prices[0]) is expiration.strikes[0]


@settings(max_examples=EXAMPLES["drifted chains"], deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["drop", "junk", "extra", "duplicate"]),
            st.integers(0, 10_000),
            st.sampled_from(JUNK),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_drifted_chain_decodes_or_fails_with_a_clear_error(
    edits: list[tuple[str, int, Any]],
) -> None:
    data = _valid()
    for how, pick, junk in edits:
        spots = _spots(data, [])
        if not spots:  # everything was dropped already
            break
        node, key = spots[pick % len(spots)]
        if how == "drop" and isinstance(node, dict):
            del node[key]
        elif how == "junk":
            node[key] = copy.deepcopy(junk)
        elif how == "extra" and isinstance(node, dict):
            node[f"x-new-field-{pick}"] = {"nested": [1, "two"]}
        elif how == "duplicate" and isinstance(node, list):
            node.append(copy.deepcopy(node[key]))
    try:
        chain = decode_nested_chain("SPX", data)
    except ServiceError as exc:
        assert str(exc).strip()
        return
    _check(chain)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


@settings(max_examples=EXAMPLES["arbitrary json"], deadline=None)
@given(data=JSON)
def test_arbitrary_json_never_escapes_as_anything_but_a_service_error(data: Any) -> None:
    try:
        chain = decode_nested_chain("SPX", data)
    except ServiceError as exc:
        assert str(exc).strip()
        return
    _check(chain)
