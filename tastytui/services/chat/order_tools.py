"""Order tools: they prepare and stage; they never place, replace or cancel anything.

``prepare_order`` builds a ticket (from legs or a strategy template), runs the order service's
review with ``source="chat"`` (validation, pricing, the broker's dry run, the risk guard) and
hands it to the UI's stager, which loads it into the order builder.  ``replace_order`` reviews a
new price and ``cancel_order`` checks the order; both hand a pending change to the stager.  Only
the user's confirm key sends anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tastytui.domain import strategies
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.strategies import StrategyKind
from tastytui.domain.symbols import OptionSymbol, OptionType, SymbolError, normalize_equity
from tastytui.domain.ticket import PriceMode, Ticket
from tastytui.services.chat.args import (
    ToolInputError,
    date_arg,
    decimal_arg,
    int_arg,
    parse_option_text,
    text_arg,
)
from tastytui.services.chat.market_tools import spot
from tastytui.services.chat.results import TERMINAL, order_row, review_summary
from tastytui.services.chat.specs import TEMPLATES

if TYPE_CHECKING:
    from tastytui.services.chat.tools import ChatTools
    from tastytui.services.orders import Review


ACTIONS = {
    "buy to open": OrderAction.BUY_TO_OPEN,
    "bto": OrderAction.BUY_TO_OPEN,
    "sell to open": OrderAction.SELL_TO_OPEN,
    "sto": OrderAction.SELL_TO_OPEN,
    "buy to close": OrderAction.BUY_TO_CLOSE,
    "btc": OrderAction.BUY_TO_CLOSE,
    "sell to close": OrderAction.SELL_TO_CLOSE,
    "stc": OrderAction.SELL_TO_CLOSE,
}


def legs_from(raw: Any) -> list[Leg]:
    """Order legs from the model's list (OCC or streamer options, or tickers)."""
    if not isinstance(raw, list) or not raw:
        raise ToolInputError("'legs' must be a non-empty list")
    legs = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ToolInputError(f"leg {i + 1} must be an object with symbol/action/quantity")
        text = text_arg(item, "symbol", required=True, limit=30)
        action = ACTIONS.get(text_arg(item, "action", required=True, limit=20).lower())
        if action is None:
            raise ToolInputError(
                f"leg {i + 1}: action must be Buy to Open, Sell to Open, Buy to Close or "
                "Sell to Close"
            )
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
            raise ToolInputError(f"leg {i + 1}: quantity must be a whole number")
        option = parse_option_text(text)
        if option is not None:
            legs.append(
                Leg(InstrumentType.EQUITY_OPTION, option.occ, action, Decimal(str(quantity)))
            )
        else:
            try:
                ticker = normalize_equity(text)
            except SymbolError as exc:
                raise ToolInputError(f"leg {i + 1}: {exc}") from None
            legs.append(Leg(InstrumentType.EQUITY, ticker, action, Decimal(str(quantity))))
    return legs


async def template_legs(tools: ChatTools, raw: Any) -> list[Leg]:
    """Order legs from a strategy template on the live chain."""
    if not isinstance(raw, Mapping):
        raise ToolInputError("'strategy' must be an object")
    accounts = tools.services.accounts
    store = tools.services.store
    kind = TEMPLATES.get(text_arg(raw, "kind", required=True, limit=20).lower())
    if kind is None:
        raise ToolInputError(f"strategy kind must be one of {', '.join(sorted(TEMPLATES))}")
    try:
        underlying = normalize_equity(text_arg(raw, "underlying", required=True, limit=12))
    except SymbolError as exc:
        raise ToolInputError(str(exc)) from None
    chain = await accounts.chain(underlying)
    today = accounts.today()
    when = date_arg(raw, "expiration")
    if when is not None:
        expiration = chain.expiration(when)
        if expiration is None:
            raise ToolInputError(f"{underlying} has no {when} expiration")
    else:
        expiration = chain.nearest_dte(today, int_arg(raw, "dte", 30, 0, 4000))
        if expiration is None:
            raise ToolInputError(f"{underlying} has no upcoming expirations")
    back = None
    if kind is StrategyKind.CALENDAR:
        back_when = date_arg(raw, "back_expiration")
        if back_when is not None:
            back = chain.expiration(back_when)
        else:
            back = chain.nearest_dte(today, expiration.dte(today) + 30)
    width = decimal_arg(raw["width"], "width") if raw.get("width") is not None else None
    target = raw.get("target_delta")
    target_delta = None
    if target is not None:
        target_delta = float(decimal_arg(target, "target_delta"))
        if 1 <= target_delta < 100:  # "30" means a 30-delta strike
            target_delta /= 100
    direction_text = text_arg(raw, "direction", limit=10).lower() or None
    if direction_text not in (None, "credit", "debit"):
        raise ToolInputError("direction must be credit or debit")
    type_text = text_arg(raw, "option_type", limit=10).lower()
    option_type = {"put": OptionType.PUT, "call": OptionType.CALL}.get(type_text)
    delta_of = None
    if target_delta is not None:
        keys = [c.streamer for r in expiration.strikes for c in (r.call, r.put)]
        tools.subscribe(["Greeks"], keys)
        await tools.wait_stream(
            lambda: sum(store.greeks(k) is not None for k in keys) >= 0.9 * len(keys)
        )

        def delta_of(option: OptionSymbol) -> float | None:
            greeks = store.greeks(option.streamer)
            return None if greeks is None or greeks.delta is None else float(greeks.delta)

    return list(
        strategies.build_template(
            kind,
            chain,
            expiration,
            await spot(tools, underlying),
            width=width,
            target_delta=target_delta,
            delta_of=delta_of,
            quantity=int_arg(raw, "quantity", 1, 1, 10_000),
            direction="credit"
            if direction_text == "credit"
            else ("debit" if direction_text == "debit" else None),
            option_type=option_type,
            back_expiration=back,
        )
    )


def signed_price(args: Mapping[str, Any], fallback: Decimal | None) -> Decimal | None:
    """The model's price (positive + debit/credit) as our signed price."""
    if args.get("price") is None:
        return None
    price = decimal_arg(args["price"], "price")
    if price <= 0:
        raise ToolInputError("price must be positive; say debit or credit with price_effect")
    effect = text_arg(args, "price_effect", limit=10).lower()
    if not effect and fallback is not None:
        effect = "credit" if fallback > 0 else "debit"
    if effect not in ("debit", "credit"):
        raise ToolInputError("give price_effect (debit or credit) with the price")
    return price if effect == "credit" else -price


async def prepare_order(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Review a new ticket and stage it in the order builder; never send it."""
    stager = tools.require_orders()
    services = tools.services
    if bool(args.get("legs")) == bool(args.get("strategy")):
        raise ToolInputError("give either legs or strategy (one of them)")
    legs = (
        legs_from(args["legs"])
        if args.get("legs")
        else await template_legs(tools, args["strategy"])
    )
    market = text_arg(args, "order_type", limit=10).lower() == "market"
    price = None if market else signed_price(args, None)
    if market and args.get("price") is not None:
        raise ToolInputError("a market order takes no price: drop the price or use a limit")
    mode_text = text_arg(args, "price_mode", limit=10).lower() or "mid"
    if price is not None:
        mode = PriceMode.CUSTOM
    elif mode_text in ("mid", "natural"):
        mode = PriceMode(mode_text)
    else:
        raise ToolInputError("price_mode must be mid or natural")
    tif_text = text_arg(args, "time_in_force", limit=5) or "Day"
    try:
        tif = TimeInForce(tif_text if tif_text != "gtc" else "GTC")
    except ValueError:
        raise ToolInputError("time_in_force must be Day, GTC, GTD or IOC") from None
    ticket = Ticket(
        legs=tuple(legs),
        order_type=OrderType.MARKET if market else OrderType.LIMIT,
        price=price,
        time_in_force=tif,
        gtd_date=date_arg(args, "gtd_date"),
    )
    account = services.accounts.current
    review = await services.orders.review(ticket, account, price_mode=mode, source="chat")
    stager.stage_ticket(review, text_arg(args, "note", limit=160))
    return staged(review, "order builder"), f"staged: {review.description}"


async def replace_order(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Review a new price for a working order and stage it; never send it."""
    stager = tools.require_orders()
    services = tools.services
    order_id = int_arg(args, "order_id", 0, 0, 2**62)
    account = services.accounts.current
    current = services.accounts.order(order_id, account)
    if current is None:
        await services.accounts.refresh_orders(account)
        current = services.accounts.order(order_id, account)
    re_mid = bool(args.get("re_mid"))
    price = signed_price(args, current.price if current is not None else None)
    if (price is None) == (not re_mid):
        raise ToolInputError("give either a new price (with price_effect) or re_mid, not both")
    review = await services.orders.replace(
        account, order_id, price=price, re_mid=re_mid, source="chat"
    )
    stager.stage_replace(review, text_arg(args, "note", limit=160))
    return staged(review, "assistant pane"), f"replace staged: #{order_id}"


async def cancel_order(tools: ChatTools, args: Mapping[str, Any]) -> tuple[Any, str]:
    """Check a working order and stage its cancel; never cancel it."""
    stager = tools.require_orders()
    accounts = tools.services.accounts
    order_id = int_arg(args, "order_id", 0, 0, 2**62)
    account = accounts.current
    orders = await accounts.refresh_orders(account)
    order = next((o for o in orders if o.id == order_id), None)
    if order is None:
        raise ToolInputError(
            f"order #{order_id} is not among today's orders of account {account}: "
            "check get_live_orders"
        )
    if order.status.value in TERMINAL or not order.cancellable:
        raise ToolInputError(f"order #{order_id} is {order.status.value}: nothing to cancel")
    row = order_row(order)
    legs = "; ".join(leg if isinstance(leg, str) else "leg" for leg in row["legs"])
    stager.stage_cancel(account, order_id, legs, text_arg(args, "note", limit=160))
    result = {
        "status": "cancel staged, awaiting the user's confirmation (yes/no in the assistant "
        "pane); nothing was cancelled yet",
        "order": row,
    }
    return result, f"cancel staged: #{order_id}"


def staged(review: Review, where: str) -> dict[str, Any]:
    """What the model is told about a staged change: status, figures, verdict."""
    if review.sendable:
        status = (
            f"staged in the {where}, awaiting the user's confirmation; nothing was sent. "
            "Only the user can send it, with the confirm key after reviewing it."
        )
    else:
        reasons = []
        if not review.verdict.allowed:
            reasons.append("refused by the user's risk limits (see risk_check)")
        if review.errors:
            reasons.append("the broker's dry run reported errors (see errors)")
        status = (
            f"staged in the {where}, but it cannot be sent as it is: "
            + " and ".join(reasons)
            + ". Nothing was sent; the user may adjust it."
        )
    return {"status": status, "review": review_summary(review)}
