"""Private, public and pairs watchlists through the SDK, including persistence in SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tastytrade import Session
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError
from tastytrade.watchlists import PairsWatchlist, PrivateWatchlist, PublicWatchlist

from tastytui.domain.clock import OffsetClock
from tastytui.sim.config import SimConfig
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory, sdk_session


def symbols(watchlist: PrivateWatchlist | PublicWatchlist) -> list[str]:
    return [entry["symbol"] for entry in watchlist.watchlist_entries or []]


async def raw_post(session: Session, body: Any) -> tuple[int, dict[str, Any]]:
    await session.refresh()
    response = await session._client.post("/watchlists", json=body)
    return response.status_code, response.json()


# ------------------------------------------------------------------- private


async def test_new_account_has_the_seeded_watchlist(session: Session) -> None:
    [seeded] = await PrivateWatchlist.get(session)
    assert seeded.name == "My Watchlist"
    assert symbols(seeded) == ["SPY", "QQQ", "IWM", "AAPL", "NVDA", "TSLA"]
    by_name = await PrivateWatchlist.get(session, "My Watchlist")  # a space in the path
    assert by_name == seeded


async def test_upload_update_remove_round_trip(session: Session) -> None:
    mine = PrivateWatchlist(name="Earnings Plays")
    mine.add_symbol("AAPL", InstrumentType.EQUITY)
    mine.add_symbol("BRK/B", InstrumentType.EQUITY)
    await mine.upload(session)
    fetched = await PrivateWatchlist.get(session, "Earnings Plays")
    assert symbols(fetched) == ["AAPL", "BRK/B"]
    assert fetched.watchlist_entries is not None
    assert fetched.watchlist_entries[0]["instrument-type"] == "Equity"

    fetched.add_symbol("NVDA", InstrumentType.EQUITY)
    fetched.remove_symbol("AAPL", InstrumentType.EQUITY)
    fetched.order_index = 3
    await fetched.update(session)
    again = await PrivateWatchlist.get(session, "Earnings Plays")
    assert symbols(again) == ["BRK/B", "NVDA"]
    assert again.order_index == 3

    names = [w.name for w in await PrivateWatchlist.get(session)]
    assert names == ["My Watchlist", "Earnings Plays"]  # ordered by order-index

    await PrivateWatchlist.remove(session, "Earnings Plays")
    with pytest.raises(TastytradeError, match=r"record_not_found: watchlist 'Earnings Plays'"):
        await PrivateWatchlist.get(session, "Earnings Plays")
    with pytest.raises(TastytradeError, match=r"not found"):
        await PrivateWatchlist.remove(session, "Earnings Plays")


async def test_update_without_entries_keeps_them(session: Session) -> None:
    await PrivateWatchlist(name="Keep", watchlist_entries=[{"symbol": "SPY"}]).upload(session)
    # The SDK sends "watchlist-entries": null when a watchlist was built without entries.
    await PrivateWatchlist(name="Keep", group_name="swing").update(session)
    kept = await PrivateWatchlist.get(session, "Keep")
    assert symbols(kept) == ["SPY"]
    assert kept.group_name == "swing"
    # An explicit empty list does clear it.
    await PrivateWatchlist(name="Keep", watchlist_entries=[]).update(session)
    assert (await PrivateWatchlist.get(session, "Keep")).watchlist_entries == []


async def test_entries_keep_unknown_keys_and_get_an_instrument_type(session: Session) -> None:
    entries = [
        {"symbol": "SPY", "note": "hedge", "instrument-type": "Equity"},
        {"symbol": "SPX"},
        {"symbol": "SPY   261218C00700000"},
    ]
    await PrivateWatchlist(name="Notes", watchlist_entries=entries).upload(session)
    stored = (await PrivateWatchlist.get(session, "Notes")).watchlist_entries
    assert stored == [
        {"symbol": "SPY", "note": "hedge", "instrument-type": "Equity"},
        {"symbol": "SPX", "instrument-type": "Index"},
        {"symbol": "SPY   261218C00700000", "instrument-type": "Equity Option"},
    ]


async def test_upload_echoes_the_created_watchlist(session: Session) -> None:
    status, body = await raw_post(session, {"name": "Echo", "watchlist-entries": [{"symbol": "F"}]})
    assert status == 201
    assert body["data"]["name"] == "Echo"
    assert body["data"]["watchlist-entries"] == [{"symbol": "F", "instrument-type": "Equity"}]
    assert body["data"]["group-name"] == "default" and body["data"]["order-index"] == 9999


async def test_duplicate_name_is_refused(session: Session) -> None:
    with pytest.raises(TastytradeError, match=r"watchlist_already_exists: .*'My Watchlist'"):
        await PrivateWatchlist(name="My Watchlist", watchlist_entries=[]).upload(session)
    assert len(await PrivateWatchlist.get(session)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"watchlist-entries": []}, "needs a non-empty string name"),
        ({"name": "  "}, "needs a non-empty string name"),
        ({"name": "a/b"}, "cannot contain '/'"),
        ({"name": "x", "watchlist-entries": "SPY"}, "must be a list of objects"),
        ({"name": "x", "watchlist-entries": [{"symbol": "SPY"}, {}]}, "entry 2 needs"),
        ({"name": "x", "watchlist-entries": ["SPY"]}, "entry 1 must be an object"),
        ({"name": "x", "order-index": "first"}, "order-index must be a whole number"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
async def test_bad_bodies_get_a_helpful_400(session: Session, body: Any, message: str) -> None:
    status, reply = await raw_post(session, body)
    assert status == 400
    assert message in reply["error"]["message"]
    assert len(await PrivateWatchlist.get(session)) == 1  # nothing was stored


async def test_bad_entry_through_the_sdk(session: Session) -> None:
    broken = PrivateWatchlist(name="Broken", watchlist_entries=[{"instrument-type": "Equity"}])
    with pytest.raises(TastytradeError, match=r"invalid_watchlist: .*symbol"):
        await broken.upload(session)


async def test_update_of_a_missing_watchlist_is_404(session: Session) -> None:
    with pytest.raises(TastytradeError, match=r"record_not_found: watchlist 'Ghost'"):
        await PrivateWatchlist(name="Ghost", watchlist_entries=[]).update(session)


async def test_watchlists_survive_a_restart(tmp_path: Path, make_sim: SimFactory) -> None:
    state = str(tmp_path / "sim.db")
    config = SimConfig(seed=7, clock=OffsetClock(SIM_START), state_path=state)
    async with SimServer(config) as first, sdk_session(first) as session:
        await PrivateWatchlist(name="Swing", watchlist_entries=[{"symbol": "AMD"}]).upload(session)
        await PrivateWatchlist.remove(session, "My Watchlist")

    second = await make_sim(state_path=state)
    async with sdk_session(second) as session:
        lists = await PrivateWatchlist.get(session)
    # The new list is back, and the deleted seed list is not re-created.
    assert [(w.name, symbols(w)) for w in lists] == [("Swing", ["AMD"])]


# ------------------------------------------------------------ public and pairs


async def test_public_watchlists_are_curated_from_the_universe(
    sim: SimServer, session: Session
) -> None:
    lists = {w.name: w for w in await PublicWatchlist.get(session)}
    assert {"tastytrade Default", "Liquid ETFs", "High IV", "Mega Caps"} <= set(lists)
    universe = set(sim.exchange.market.symbols())
    for watchlist in lists.values():
        assert symbols(watchlist) and set(symbols(watchlist)) <= universe
    high_iv = await PublicWatchlist.get(session, "High IV")
    vols = [sim.exchange.market.spec(s).vol for s in symbols(high_iv)]  # type: ignore[union-attr]
    assert vols == sorted(vols, reverse=True) and min(vols) >= 0.3
    assert "SPY" in symbols(lists["Liquid ETFs"]) and "AAPL" in symbols(lists["Mega Caps"])


async def test_public_watchlist_counts_only_and_404(session: Session) -> None:
    counts = await PublicWatchlist.get(session, counts_only=True)
    assert counts and all(w.watchlist_entries is None for w in counts)
    with pytest.raises(TastytradeError, match=r"public watchlist 'Nope' not found"):
        await PublicWatchlist.get(session, "Nope")


async def test_pairs_watchlists(session: Session) -> None:
    pairs = await PairsWatchlist.get(session)
    assert len(pairs) >= 2
    first = await PairsWatchlist.get(session, pairs[0].name)
    assert first == pairs[0]
    assert all(p.left_quantity > 0 and p.right_quantity > 0 for p in first.pairs_equations)
