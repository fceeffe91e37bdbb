"""Market tools: quotes, greeks, metrics, market status, symbol search, chains, the time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tastytui.domain.symbols import OptionSymbol, SymbolError, normalize_equity
from tastytui.services.chat.args import (
    ToolInputError,
    date_arg,
    instrument,
    int_arg,
    parse_option_text,
    symbol_list,
    text_arg,
)
from tastytui.services.chat.results import num, ny_time, option_text
from tastytui.services.chat.sanitize import symbol, untrusted

if TYPE_CHECKING:
    from tastytui.services.chat.tools import ChatTools


async def snapshot(
    tools: ChatTools, symbols: Sequence[tuple[str, OptionSymbol | None]]
) -> dict[str, Any]:
    """REST market data keyed by streamer/ticker key (one request for all)."""
    from tastytrade.market_data import get_market_data_by_type

    from tastytui.services.broker import guarded

    equities = [key for key, option in symbols if option is None]
    options = [option.occ for _, option in symbols if option is not None]
    if not equities and not options:
        return {}
    rows = await guarded(
        get_market_data_by_type(
            tools.services.accounts.session,
            equities=equities or None,
            options=options or None,
        ),
        "read quotes",
    )
    out: dict[str, Any] = {}
    for row in rows:
        option = parse_option_text(row.symbol)
        out[option.streamer if option is not None else row.symbol] = row
    return out


async def quotes(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Quotes from the stream when fresh, else a REST snapshot."""
    store = tools.services.store
    stale_after = tools.services.accounts.stale_after
    wanted = [instrument(s) for s in symbol_list(args, "symbols", 20)]
    tools.subscribe(["Quote", "Trade", "Summary"], [key for key, _ in wanted])
    missing = []
    for key, option in wanted:
        quote = store.quote(key)
        age = store.age(key)
        if quote is None or quote.bid is None or age is None or age > stale_after:
            missing.append((key, option))
    snap = await snapshot(tools, missing) if missing else {}
    out: list[dict[str, Any]] = []
    for key, option in wanted:
        row = snap.get(key)
        name = option.occ if option is not None else key
        if row is not None:
            bid, ask, last = row.bid, row.ask, row.last
            prev = row.prev_close
            source, age_s = "snapshot", None
        else:
            quote = store.quote(key)
            if quote is None:
                out.append({"symbol": name, "note": "no quote"})
                continue
            bid, ask, last = quote.bid, quote.ask, store.last(key)
            summary = store.summary(key)
            prev = summary.prev_close if summary is not None else None
            source, age_s = "stream", store.age(key)
        mid = (float(bid) + float(ask)) / 2 if bid is not None and ask is not None else None
        change = float(last) - float(prev) if last is not None and prev else None
        out.append(
            {
                "symbol": name,
                "contract": option_text(option) if option is not None else None,
                "bid": num(bid),
                "ask": num(ask),
                "mid": num(mid, 3),
                "last": num(last),
                "change": num(change),
                "change_pct": num(change / float(prev) * 100 if change is not None else None),
                "source": source,
                "age_s": num(age_s, 1),
            }
        )
    return {"quotes": out}, f"quotes: {', '.join(k for k, _ in wanted)}"


async def greeks(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Option greeks from the stream (subscribed on demand, waited for briefly)."""
    store = tools.services.store
    wanted = [instrument(s) for s in symbol_list(args, "symbols", 40)]
    bad = [key for key, option in wanted if option is None]
    if bad:
        raise ToolInputError(
            f"greeks are for option contracts, not {', '.join(bad)}: give OCC symbols "
            "(see get_option_chain)"
        )
    keys = [key for key, _ in wanted]
    tools.subscribe(["Quote", "Greeks"], keys)
    await tools.wait_stream(lambda: all(store.greeks(k) is not None for k in keys))
    out: list[dict[str, Any]] = []
    for key, option in wanted:
        assert option is not None
        greeks = store.greeks(key)
        quote = store.quote(key)
        row: dict[str, Any] = {"symbol": option.occ, "contract": option_text(option)}
        if greeks is None:
            row["note"] = "no greeks streamed yet; try again in a moment"
        else:
            row.update(
                delta=num(greeks.delta, 4),
                gamma=num(greeks.gamma, 4),
                theta=num(greeks.theta, 4),
                vega=num(greeks.vega, 4),
                iv=num(greeks.volatility, 4),
                theo=num(greeks.price),
                age_s=num(store.age(key), 1),
            )
        if quote is not None:
            row.update(bid=num(quote.bid), ask=num(quote.ask))
        out.append(row)
    return {"greeks": out}, f"greeks: {len(out)} contracts"


async def market_metrics(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """IV rank and percentile, vols, beta, liquidity, earnings."""
    symbols = []
    for text in symbol_list(args, "symbols", 20):
        try:
            symbols.append(normalize_equity(text))
        except SymbolError as exc:
            raise ToolInputError(str(exc)) from None
    found = await tools.services.accounts.metrics(symbols)
    out: list[dict[str, Any]] = []
    for name in symbols:
        info = found.get(name)
        if info is None:
            out.append({"symbol": name, "note": "no metrics"})
            continue
        rank = info.tw_implied_volatility_index_rank or info.tos_implied_volatility_index_rank
        earnings = info.earnings.expected_report_date if info.earnings else None
        out.append(
            {
                "symbol": name,
                "iv_rank_pct": num(float(rank) * 100 if rank is not None else None, 1),
                "iv_percentile_pct": num(
                    float(info.implied_volatility_percentile) * 100
                    if info.implied_volatility_percentile
                    else None,
                    1,
                ),
                "iv_index_pct": num(
                    float(info.implied_volatility_index) * 100
                    if info.implied_volatility_index is not None
                    else None,
                    1,
                ),
                "iv_30d": num(info.implied_volatility_30_day, 2),
                "hv_30d": num(info.historical_volatility_30_day, 2),
                "beta": num(info.beta),
                "liquidity_rating": info.liquidity_rating,
                "next_earnings": str(earnings) if earnings else None,
                "dividend_next": str(info.dividend_next_date) if info.dividend_next_date else None,
            }
        )
    return {"metrics": out}, f"metrics: {', '.join(symbols)}"


async def market_status(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """The equity market's session: status and hours in New York time."""
    sessions = await tools.services.accounts.market_status()
    out: list[dict[str, Any]] = []
    for s in sessions:
        nxt = s.next_session
        out.append(
            {
                "market": s.instrument_collection,
                "status": s.status.value,
                "opens": ny_time(s.open_at),
                "closes": ny_time(s.close_at),
                "extended_closes": ny_time(s.close_at_ext),
                "next_session": str(nxt.session_date) if nxt is not None else None,
                "next_opens": ny_time(nxt.open_at) if nxt is not None else None,
            }
        )
    status = out[0]["status"] if out else "unknown"
    return {"now": ny_time(tools.services.clock.now()), "sessions": out}, f"market: {status}"


async def search_symbols(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Ticker search; descriptions are broker text (untrusted)."""
    query = text_arg(args, "query", required=True, limit=40)
    rows = await tools.services.accounts.search(query)
    out = [{"symbol": symbol(r.symbol), "description": untrusted(r.description)} for r in rows]
    return {"results": out[:10], "count": len(out)}, f"search {query!r}: {len(out)} found"


async def option_chain(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Expirations and the strikes around the money of one expiration."""
    accounts = tools.services.accounts
    store = tools.services.store
    try:
        underlying = normalize_equity(text_arg(args, "underlying", required=True, limit=12))
    except SymbolError as exc:
        raise ToolInputError(str(exc)) from None
    width = int_arg(args, "strikes", 5, 1, 15)
    # The expected moves need the underlying's live price in the QuoteStore.
    tools.subscribe(["Quote", "Trade"], [underlying])
    await tools.wait_stream(lambda: store.quote(underlying) is not None)
    infos = await accounts.expirations(underlying)
    if not infos:
        raise ToolInputError(f"{underlying} has no upcoming expirations")
    today = accounts.today()
    when = date_arg(args, "expiration")
    if when is not None:
        chosen = next((i for i in infos if i.expiration.expiration == when), None)
        if chosen is None:
            nearby = ", ".join(str(i.expiration.expiration) for i in infos[:8])
            raise ToolInputError(f"{underlying} has no {when} expiration (next: {nearby})")
    else:
        target = int_arg(args, "dte", 30, 0, 4000)
        chosen = min(infos, key=lambda i: (abs(i.dte - target), i.expiration.expiration))
    price = await spot(tools, underlying)
    exp = chosen.expiration
    if not exp.strikes:
        raise ToolInputError(f"{exp.expiration} has no strikes: choose another expiration")
    center = exp.nearest_index(price)
    rows = exp.strikes[max(0, center - width) : center + width + 1]
    keys = [c.streamer for r in rows for c in (r.call, r.put)]
    tools.subscribe(["Quote", "Greeks"], keys)
    await tools.wait_stream(lambda: all(store.greeks(k) is not None for k in keys))
    missing = [
        (c.streamer, c) for r in rows for c in (r.call, r.put) if store.quote(c.streamer) is None
    ]
    snap = await snapshot(tools, missing) if missing else {}

    def side(option: OptionSymbol) -> dict[str, Any]:
        quote = store.quote(option.streamer)
        greeks = store.greeks(option.streamer)
        bid = ask = None
        if quote is not None:
            bid, ask = quote.bid, quote.ask
        elif option.streamer in snap:
            bid, ask = snap[option.streamer].bid, snap[option.streamer].ask
        return {
            "symbol": option.occ,
            "bid": num(bid),
            "ask": num(ask),
            "delta": num(greeks.delta, 3) if greeks is not None else None,
            "iv": num(greeks.volatility, 3) if greeks is not None else None,
        }

    # The next few expirations, then monthlies, and always the one shown in detail.
    shown = [i for n, i in enumerate(infos) if n < 8 or i.expiration.is_monthly or i is chosen][:16]
    if chosen not in shown:
        shown[-1] = chosen
    result = {
        "underlying": underlying,
        "price": num(price),
        "expirations": [
            {
                "date": str(i.expiration.expiration),
                "dte": i.dte,
                "root": i.expiration.root,
                "type": i.expiration.expiration_type,
                "expected_move": num(i.expected_move),
            }
            for i in shown
        ],
        "more_expirations": len(infos) - len(shown),
        "chain": {
            "expiration": str(exp.expiration),
            "dte": exp.dte(today),
            "root": exp.root,
            "settlement": exp.settlement,
            "expected_move": num(chosen.expected_move),
            "strikes": [
                {"strike": num(r.strike, 3), "call": side(r.call), "put": side(r.put)} for r in rows
            ],
        },
    }
    return result, f"chain {underlying} {exp.expiration}: {len(rows)} strikes"


async def spot(tools: ChatTools, underlying: str) -> Decimal:
    """The underlying's mid price now (stream when fresh, else REST)."""
    quotes = await tools.services.accounts.leg_quotes([underlying])
    quote = quotes.get(underlying)
    if quote is None:
        raise ToolInputError(f"no quote for {underlying}: try again in a moment")
    return ((quote.bid + quote.ask) / 2).quantize(Decimal("0.01"))


async def new_york_time(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """The clock's time in New York."""
    now = tools.services.accounts.new_york_time()
    result = {
        "new_york": now.strftime("%Y-%m-%d %H:%M:%S"),
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z"),
    }
    return result, f"time: {now:%H:%M} ET"
