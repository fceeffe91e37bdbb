"""The matching engine: order validation, buying power, fills, expirations and notifications.

Invariants this module keeps (and tests check):
- a multi-leg order fills atomically: every leg fills the same number of spread units in one
  in-memory update and one SQLite transaction, never one leg alone;
- a rejected order changes nothing but its own status;
- every change to an order, position or balance is pushed to the account streamer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.orders import (
    InstrumentType,
    OrderAction,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tastytui.domain.symbols import OptionSymbol, SymbolError, parse_occ
from tastytui.domain.ticks import STOCK, Rounding, TickSchedule
from tastytui.sim.accounting import CENT, Valuation, money, to_decimal, value_account
from tastytui.sim.config import FillModel
from tastytui.sim.ledger import Account, Fill, Order, OrderLeg, Position, Transaction
from tastytui.sim.schemas_account import balance_json, order_json, position_json
from tastytui.sim.wire import JSON, ApiError, dec
from tastytui.sim.wire import money as put_money

if TYPE_CHECKING:
    from tastytui.sim.exchange import Exchange

log = logging.getLogger(__name__)

_OPTION_COMMISSION = Decimal("1.00")
_OPTION_COMMISSION_CAP = Decimal("10.00")
_OPTION_CLEARING = Decimal("0.10")
_OPTION_REGULATORY = Decimal("0.02")
_INDEX_OPTION_FEE = Decimal("0.65")
_EQUITY_CLEARING = Decimal("0.0008")
_SEC_FEE_RATE = Decimal("0.0000278")
_INDEX_ROOTS = frozenset({"SPX", "SPXW"})
_NET_LIQ_SAMPLE = timedelta(minutes=5)
_HOUSEKEEPING = timedelta(seconds=1)


def _preflight(code: str, message: str) -> ApiError:
    return ApiError(
        422,
        "preflight_check_failure",
        "One or more preflight checks failed",
        errors=[(code, message)],
    )


def _invalid(message: str) -> ApiError:
    return ApiError(400, "validation_error", message)


@dataclass(frozen=True, slots=True)
class LegQuote:
    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class Fees:
    commission: Decimal
    clearing: Decimal
    regulatory: Decimal
    index: Decimal

    @property
    def total(self) -> Decimal:
        return self.commission + self.clearing + self.regulatory + self.index

    def __add__(self, other: Fees) -> Fees:
        return Fees(
            self.commission + other.commission,
            self.clearing + other.clearing,
            self.regulatory + other.regulatory,
            self.index + other.index,
        )


NO_FEES = Fees(Decimal(0), Decimal(0), Decimal(0), Decimal(0))


def _parse_decimal(value: Any, field: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _invalid(f"{field} {value!r} is not a number") from exc
    if not result.is_finite():
        raise _invalid(f"{field} must be a finite number")
    return result


#: The paper API's ``behavior`` values (the SDK sends ``immediate`` unless told otherwise).
_BEHAVIORS = frozenset({"immediate", "delayed", "never", "scheduled", "reject", "partial"})


def _parse_schedule(value: Any) -> datetime | None:
    """The SDK sends ``schedule`` as ISO-8601 (``Z`` or an offset)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid(f"schedule {value!r} is not an ISO-8601 datetime") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_delay(value: Any) -> float | None:
    """The SDK sends ``delay`` as an int or an ISO-8601 duration such as ``PT5S``."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(
        r"P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?", str(value)
    )
    if not match:
        raise _invalid(f"delay {value!r} is not an ISO-8601 duration")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class Engine:
    """Accepts, prices, fills and expires orders against the simulated market."""

    def __init__(self, exchange: Exchange) -> None:
        self.x = exchange
        self.ledger = exchange.ledger
        self.market = exchange.market
        self.clock = exchange.clock
        # Fill ids are ``<order>-<sequence>``: carry on after the stored ones across restarts.
        self._fill_seq = self.ledger.last_fill_sequence()
        self._last_housekeeping = self.clock.now()
        self._last_net_liq: datetime | None = None
        self._day = self.market.today()
        if self.ledger.fresh:
            from tastytui.sim.seed_book import seed_book

            seed_book(self)
            self.ledger.fresh = False
        # Orders accepted just before a stop were never routed: route them now.
        for order in list(self.ledger.orders.values()):
            if order.status is OrderStatus.RECEIVED:
                self._schedule_routing(order.id)

    # ================================================================ lookups

    def account(self, number: str) -> Account:
        account = self.ledger.accounts.get(number)
        if account is None:
            raise ApiError(404, "record_not_found", f"account {number} not found")
        return account

    def positions(self, number: str) -> list[Position]:
        return self.ledger.account_positions(number)

    def valuation(
        self,
        account: Account,
        positions: Sequence[Position] | None = None,
        cash: Decimal | None = None,
    ) -> Valuation:
        held = self.positions(account.number) if positions is None else positions
        return value_account(self.market, account, held, cash)

    def leg_quote(self, instrument_type: InstrumentType, symbol: str) -> LegQuote:
        if instrument_type is InstrumentType.EQUITY_OPTION:
            q = self.market.option_quote(parse_occ(symbol))
        else:
            q = self.market.equity_quote(symbol)  # type: ignore[assignment]
        return LegQuote(to_decimal(q.bid, 2), to_decimal(q.ask, 2))

    def _now(self) -> datetime:
        return self.clock.now()

    # ================================================================ parsing

    def parse(self, account: Account, body: JSON, *, legs_from: Order | None = None) -> Order:
        """Turn a request body into an unsaved order, or raise a 400 naming the bad field."""
        try:
            order_type = OrderType(str(body.get("order-type")))
        except ValueError as exc:
            raise _invalid(f"order-type {body.get('order-type')!r} is not valid") from exc
        if order_type in (OrderType.NOTIONAL_MARKET, OrderType.MARKETABLE_LIMIT):
            raise _invalid(f"order-type {order_type.value} is not supported by the simulator")
        try:
            tif = TimeInForce(body.get("time-in-force", "Day"))
        except ValueError as exc:
            raise _invalid(f"time-in-force {body.get('time-in-force')!r} is not valid") from exc
        if tif not in (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD, TimeInForce.IOC):
            raise _invalid(f"time-in-force {tif.value} is not supported by the simulator")
        gtc_date = None
        if body.get("gtc-date"):
            try:
                gtc_date = date.fromisoformat(str(body["gtc-date"]))
            except ValueError as exc:
                raise _invalid(f"gtc-date {body['gtc-date']!r} is not YYYY-MM-DD") from exc
        if tif is TimeInForce.GTD and gtc_date is None:
            raise _invalid("a GTD order needs a gtc-date")
        price: Decimal | None = None
        if body.get("price") is not None:
            price = abs(_parse_decimal(body["price"], "price"))
            effect = body.get("price-effect")
            if effect not in ("Debit", "Credit", None, "None"):
                raise _invalid(f"price-effect {effect!r} must be Debit or Credit")
            if effect == "Debit":
                price = -price
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
            raise _invalid(f"a {order_type.value} order needs a price")
        if order_type is OrderType.MARKET and price is not None:
            raise _invalid("a Market order must not carry a price")
        stop = None
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            if body.get("stop-trigger") is None:
                raise _invalid(f"a {order_type.value} order needs a stop-trigger")
            stop = _parse_decimal(body["stop-trigger"], "stop-trigger")
            if stop <= 0:
                raise _invalid("stop-trigger must be positive")
        if legs_from is not None:
            legs = [
                OrderLeg(leg.instrument_type, leg.symbol, leg.action, leg.remaining, leg.remaining)
                for leg in legs_from.legs
            ]
        else:
            legs = self._parse_legs(body.get("legs"))
        underlying, underlying_type = self._underlying(legs)
        size = Decimal(math.gcd(*(int(leg.quantity) for leg in legs)))
        now = self._now()
        behavior = body.get("behavior")
        if behavior is not None and behavior not in _BEHAVIORS:
            raise _invalid(f"behavior {behavior!r} must be one of {', '.join(sorted(_BEHAVIORS))}")
        return Order(
            id=0,
            account=account.number,
            order_type=order_type,
            time_in_force=tif,
            status=OrderStatus.RECEIVED,
            legs=legs,
            underlying=underlying,
            underlying_instrument_type=underlying_type,
            size=size,
            received_at=now,
            updated_at=now,
            price=price,
            stop_trigger=stop,
            gtc_date=gtc_date,
            external_identifier=(
                str(body["external-identifier"]) if body.get("external-identifier") else None
            ),
            source=str(body["source"]) if body.get("source") else None,
            behavior=str(behavior) if behavior else None,
            behavior_delay=_parse_delay(body.get("delay")),
            behavior_at=_parse_schedule(body.get("schedule")),
            trading_day=self.market.today(),
        )

    def _parse_legs(self, raw: Any) -> list[OrderLeg]:
        if not isinstance(raw, list) or not raw:
            raise _invalid("an order needs at least one leg")
        if len(raw) > 4:
            raise _invalid("an order may have at most 4 legs")
        legs: list[OrderLeg] = []
        seen: set[str] = set()
        for i, item in enumerate(raw, start=1):
            if not isinstance(item, dict):
                raise _invalid(f"leg {i} must be an object")
            try:
                itype = InstrumentType(str(item.get("instrument-type")))
            except ValueError as exc:
                raise _invalid(
                    f"leg {i}: instrument-type {item.get('instrument-type')!r} is not supported"
                ) from exc
            if itype is InstrumentType.INDEX:
                raise _invalid(f"leg {i}: an index cannot be traded; trade its options")
            symbol = str(item.get("symbol", ""))
            try:
                action = OrderAction(str(item.get("action")))
            except ValueError as exc:
                raise _invalid(f"leg {i}: action {item.get('action')!r} is not valid") from exc
            quantity = _parse_decimal(item.get("quantity"), f"leg {i} quantity")
            if quantity <= 0 or quantity != quantity.to_integral_value():
                raise _invalid(f"leg {i}: quantity {quantity} must be a positive whole number")
            self._check_symbol(itype, symbol, i)
            if symbol in seen:
                raise _invalid(f"leg {i}: {symbol} appears in more than one leg")
            seen.add(symbol)
            quantity = quantity.quantize(Decimal(1))
            legs.append(OrderLeg(itype, symbol, action, quantity, quantity))
        return legs

    def _check_symbol(self, itype: InstrumentType, symbol: str, i: int) -> None:
        if itype is InstrumentType.EQUITY:
            spec = self.market.spec(symbol)
            if spec is None:
                raise _invalid(f"leg {i}: unknown symbol {symbol!r}")
            if spec.is_index:
                raise _invalid(f"leg {i}: {symbol} is an index and cannot be traded directly")
            return
        try:
            option = parse_occ(symbol)
        except SymbolError as exc:
            raise _invalid(f"leg {i}: {exc}") from exc
        if self.market.underlying_of_root(option.root) is None:
            raise _invalid(f"leg {i}: unknown option root {option.root}")
        if self.market.expiry_instant(option) <= self._now():
            raise _invalid(f"leg {i}: {symbol.strip()} has expired")
        if not self.market.is_listed(option):
            raise _invalid(f"leg {i}: {symbol} is not a listed contract")

    def _underlying(self, legs: Sequence[OrderLeg]) -> tuple[str, InstrumentType]:
        underlyings: set[str] = set()
        for leg in legs:
            if leg.instrument_type is InstrumentType.EQUITY_OPTION:
                spec = self.market.underlying_of_root(parse_occ(leg.symbol).root)
                assert spec is not None
                underlyings.add(spec.symbol)
            else:
                underlyings.add(leg.symbol)
        if len(underlyings) != 1:
            raise _invalid(
                f"all legs must share one underlying (got {', '.join(sorted(underlyings))})"
            )
        underlying = underlyings.pop()
        spec = self.market.spec(underlying)
        kind = InstrumentType.INDEX if spec is not None and spec.is_index else InstrumentType.EQUITY
        return underlying, kind

    # ================================================================ pricing

    def unit_multiplier(self, order: Order) -> int:
        """Dollars per 1.00 of order price per unit: 100 with any option leg, else 1."""
        return 100 if _has_option(order) else 1

    def _leg_multiplier(self, leg: OrderLeg) -> int:
        return 100 if leg.instrument_type is InstrumentType.EQUITY_OPTION else 1

    def _weight(self, order: Order, leg: OrderLeg) -> Decimal:
        """Per-unit contribution of a leg's price to the order's net price (credit positive)."""
        side = -1 if leg.action.is_buy else 1
        ratio = leg.quantity / order.size
        return side * ratio * self._leg_multiplier(leg) / self.unit_multiplier(order)

    def nets(self, order: Order) -> tuple[Decimal, Decimal, list[LegQuote]]:
        """(natural, mid) net prices per unit, credit positive, and the legs' quotes."""
        quotes = [self.leg_quote(leg.instrument_type, leg.symbol) for leg in order.legs]
        natural = mid = Decimal(0)
        for leg, quote in zip(order.legs, quotes, strict=True):
            w = self._weight(order, leg)
            natural += w * (quote.ask if leg.action.is_buy else quote.bid)
            mid += w * quote.mid
        return natural, mid, quotes

    def tick_schedule(self, order: Order) -> TickSchedule:
        if _has_option(order):
            return self.market.tick_schedule(order.underlying)
        return STOCK

    def fees(self, order: Order, units: Decimal | None = None) -> list[Fees]:
        """Fees per leg for ``units`` of the order (all of it by default)."""
        units = order.size if units is None else units
        out: list[Fees] = []
        for leg in order.legs:
            qty = leg.quantity / order.size * units
            if leg.instrument_type is InstrumentType.EQUITY_OPTION:
                root = parse_occ(leg.symbol).root
                commission = (
                    min(_OPTION_COMMISSION * qty, _OPTION_COMMISSION_CAP)
                    if leg.action.is_opening
                    else Decimal(0)
                )
                index = _INDEX_OPTION_FEE * qty if root in _INDEX_ROOTS else Decimal(0)
                out.append(
                    Fees(commission, _OPTION_CLEARING * qty, _OPTION_REGULATORY * qty, index)
                )
            else:
                notional = qty * self.leg_quote(leg.instrument_type, leg.symbol).mid
                regulatory = (
                    money(_SEC_FEE_RATE * notional) if not leg.action.is_buy else Decimal(0)
                )
                out.append(Fees(Decimal(0), money(_EQUITY_CLEARING * qty), regulatory, Decimal(0)))
        return out

    # ================================================================ what-if

    def _apply(
        self,
        book: dict[str, Position],
        account: str,
        leg: OrderLeg,
        qty: Decimal,
        price: Decimal,
        when: datetime,
    ) -> tuple[Position, Decimal]:
        """Apply a fill of ``qty`` (positive) to a copy-on-write book; returns realized P&L."""
        existing = book.get(leg.symbol)
        delta = qty * leg.action.sign
        mult = self._leg_multiplier(leg)
        if existing is None:
            underlying = self._underlying([leg])[0]
            existing = Position(
                account,
                leg.symbol,
                leg.instrument_type,
                underlying,
                Decimal(0),
                Decimal(0),
                mult,
                when,
                when,
            )
        position = replace(existing)
        old = position.quantity
        new = old + delta
        realized = Decimal(0)
        if old == 0 or (old > 0) == (delta > 0):
            position.average_open_price = (
                (position.average_open_price * abs(old) + price * abs(delta)) / abs(new)
            ).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            if old == 0:
                position.created_at = when
        else:
            closing = min(abs(delta), abs(old))
            direction = 1 if old > 0 else -1
            realized = money((price - position.average_open_price) * closing * mult * direction)
            position.realized_day_gain += realized
            position.realized_today += realized
            if abs(delta) > abs(old):  # flipped through zero: the rest opens at the fill
                position.average_open_price = price
                position.created_at = when
        position.quantity = new
        position.updated_at = when
        book[leg.symbol] = position
        return position, realized

    def _after_fill(self, order: Order, net_price: Decimal) -> tuple[list[Position], Decimal]:
        """Positions and cash if the whole order filled at ``net_price``."""
        account = self.account(order.account)
        book = {p.symbol: p for p in self.positions(order.account)}
        prices = self._leg_prices(order, net_price)
        now = self._now()
        for leg, price in zip(order.legs, prices, strict=True):
            self._apply(book, order.account, leg, leg.quantity, price, now)
        fees = sum((f.total for f in self.fees(order)), Decimal(0))
        cash = account.cash + net_price * self.unit_multiplier(order) * order.size - fees
        return [p for p in book.values() if p.quantity != 0], cash

    def _leg_prices(self, order: Order, net_price: Decimal) -> list[Decimal]:
        """Per-leg fill prices that add up exactly to the order's net price."""
        _, _, quotes = self.nets(order)
        prices = [q.mid.quantize(CENT, rounding=ROUND_HALF_UP) for q in quotes]
        weights = [self._weight(order, leg) for leg in order.legs]
        for _ in range(2):
            current = sum((w * p for w, p in zip(weights, prices, strict=True)), Decimal(0))
            diff = net_price - current
            if diff == 0:
                break
            # Push the residual onto the leg with the largest weight×price (room to move).
            i = max(range(len(prices)), key=lambda k: (abs(weights[k]), prices[k]))
            adjusted = prices[i] + diff / weights[i]
            prices[i] = max(
                Decimal("0.0001"), adjusted.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            )
        return prices

    def buying_power_effect(self, order: Order) -> tuple[JSON, Valuation, Valuation]:
        account = self.account(order.account)
        natural, _, _ = self.nets(order)
        price = order.price if order.price is not None else natural
        before = self.valuation(account)
        after_positions, after_cash = self._after_fill(order, price)
        after = self.valuation(account, after_positions, after_cash)
        isolated_book: dict[str, Position] = {}
        for leg in order.legs:
            self._apply(isolated_book, order.account, leg, leg.quantity, Decimal(0), self._now())
        isolated = self.valuation(account, list(isolated_book.values()), Decimal(0)).requirement
        change_bp = money(after.derivative_buying_power - before.derivative_buying_power)
        change_req = money(after.requirement - before.requirement)
        body: JSON = {"is-spread": len(order.legs) > 1}
        put_money(body, "change-in-margin-requirement", -change_req)
        put_money(body, "change-in-buying-power", change_bp)
        put_money(body, "current-buying-power", money(before.derivative_buying_power))
        put_money(body, "new-buying-power", money(after.derivative_buying_power))
        put_money(body, "isolated-order-margin-requirement", -isolated)
        body["impact"] = dec(abs(change_bp), 2)
        body["effect"] = "Debit" if change_bp < 0 else ("Credit" if change_bp > 0 else "None")
        return body, before, after

    def fee_json(self, order: Order) -> JSON:
        total = sum(self.fees(order), NO_FEES)
        body: JSON = {}
        put_money(body, "regulatory-fees", -money(total.regulatory))
        put_money(body, "clearing-fees", -money(total.clearing))
        put_money(body, "commission", -money(total.commission))
        put_money(body, "proprietary-index-option-fees", -money(total.index))
        put_money(body, "total-fees", -money(total.total))
        return body

    # ================================================================ checks

    def _business_checks(
        self, order: Order
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], JSON]:
        """(errors, warnings, buying-power-effect) for an order as it would be placed."""
        errors: list[tuple[str, str]] = []
        warnings: list[tuple[str, str]] = []
        account = self.account(order.account)
        if order.price is not None:
            schedule = self.tick_schedule(order)
            if not schedule.is_on_grid(order.price):
                low = schedule.round(abs(order.price), how=Rounding.DOWN)
                high = schedule.round(abs(order.price), how=Rounding.UP)
                tick = schedule.increment_at(abs(order.price))
                errors.append(
                    (
                        "invalid_price_increment",
                        f"Price {abs(order.price)} is not a valid increment: this instrument "
                        f"trades in {tick} steps here (try {low} or {high})",
                    )
                )
        if not self.x.is_market_open() and (
            order.order_type is OrderType.MARKET or order.time_in_force is TimeInForce.IOC
        ):
            errors.append(
                (
                    "market_closed",
                    "The market is closed: market and IOC orders "
                    "cannot be accepted until the next session",
                )
            )
        held = {p.symbol: p.quantity for p in self.positions(order.account)}
        for leg in order.legs:
            have = held.get(leg.symbol, Decimal(0))
            if not leg.action.is_opening:
                needs_long = not leg.action.is_buy
                if (needs_long and have < leg.quantity) or (
                    not needs_long and -have < leg.quantity
                ):
                    errors.append(
                        (
                            "invalid_position_effect",
                            f"{leg.action.value} {leg.quantity} {leg.symbol.strip()}: the account "
                            f"holds {have} — a closing order cannot exceed the position",
                        )
                    )
            if (
                not account.margin
                and leg.instrument_type is InstrumentType.EQUITY
                and leg.action is OrderAction.SELL_TO_OPEN
            ):
                errors.append(("cash_account_short", "Short selling needs a margin account"))
        if (
            order.time_in_force is TimeInForce.GTD
            and order.gtc_date is not None
            and order.gtc_date < self.market.today()
        ):
            errors.append(("invalid_gtc_date", "gtc-date is in the past"))
        effect, before, after = self.buying_power_effect(order)
        if after.requirement >= Decimal("1e12"):
            errors.append(
                (
                    "option_level_restriction",
                    "This account's option level does not allow this position "
                    "(naked calls need a margin account)",
                )
            )
        elif after.derivative_buying_power <= 0 and after.requirement > before.requirement:
            need = money(after.requirement - before.requirement)
            errors.append(
                (
                    "insufficient_buying_power",
                    f"This order needs ${need} of buying power; "
                    f"${money(before.derivative_buying_power)} is available",
                )
            )
        _, mid, _ = self.nets(order)
        if order.price is not None and order.price > mid + abs(mid) / 4 + Decimal("0.10"):
            warnings.append(
                (
                    "price_far_from_market",
                    f"The limit {abs(order.price)} is far from the mid {abs(mid):.2f}: "
                    "it may not fill",
                )
            )
        return errors, warnings, effect

    # ================================================================ actions

    def dry_run(self, number: str, body: JSON) -> JSON:
        account = self.account(number)
        order = self.parse(account, body)
        errors, warnings, effect = self._business_checks(order)
        order_body = order_json(order)
        order_body.pop("id", None)
        result: JSON = {
            "order": order_body,
            "buying-power-effect": effect,
            "fee-calculation": self.fee_json(order),
            "warnings": [{"code": c, "message": m} for c, m in warnings],
        }
        if errors:
            result["errors"] = [{"code": c, "message": m} for c, m in errors]
        return result

    def place(self, number: str, body: JSON) -> JSON:
        """Accept an order (status Received) or raise 4xx; routing and fills follow."""
        account = self.account(number)
        order = self.parse(account, body)
        errors, warnings, effect = self._business_checks(order)
        if errors:
            raise ApiError(
                422, "preflight_check_failure", "One or more preflight checks failed", errors=errors
            )
        order.id = self.ledger.next_order_id()
        self.ledger.save_order(order)
        self._notify_order(order)
        self._schedule_routing(order.id)
        return {
            "order": order_json(order),
            "buying-power-effect": effect,
            "fee-calculation": self.fee_json(order),
            "warnings": [{"code": c, "message": m} for c, m in warnings],
        }

    def replace(self, number: str, order_id: int, body: JSON) -> JSON:
        """Cancel-replace a working order with new terms; the legs are kept."""
        account = self.account(number)
        old = self._order(number, order_id)
        if old.status.is_terminal:
            raise ApiError(
                422,
                "order_not_editable",
                f"Order {order_id} is {old.status.value} and can no longer be replaced",
            )
        new = self.parse(account, body, legs_from=old)
        errors, _, _ = self._business_checks(new)
        if errors:
            raise ApiError(
                422, "preflight_check_failure", "One or more preflight checks failed", errors=errors
            )
        new.id = self.ledger.next_order_id()
        new.replaces_order_id = old.id
        new.external_identifier = new.external_identifier or old.external_identifier
        old.replacing_order_id = new.id
        self._set_status(old, OrderStatus.CANCELLED)
        self.ledger.save_order(new)
        self._notify_order(new)
        self._schedule_routing(new.id)
        return order_json(new)

    def cancel(self, number: str, order_id: int) -> Order:
        order = self._order(number, order_id)
        if order.status.is_terminal:
            raise ApiError(
                422,
                "order_not_cancellable",
                f"Order {order_id} is {order.status.value} and cannot be cancelled",
            )
        self._set_status(order, OrderStatus.CANCELLED)
        return order

    def _order(self, number: str, order_id: int) -> Order:
        order = self.ledger.orders.get(order_id)
        if order is None or order.account != number:
            raise ApiError(404, "record_not_found", f"order {order_id} not found")
        return order

    # ================================================================ lifecycle

    def _schedule_routing(self, order_id: int) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop (unit tests): route synchronously
            self._route(order_id)
            return
        loop.call_later(0.005, self._route, order_id)

    def _route(self, order_id: int) -> None:
        order = self.ledger.orders.get(order_id)
        if order is None or order.status is not OrderStatus.RECEIVED:
            return
        reason = None
        if self.x.faults.reject_next:
            reason = self.x.faults.reject_next.popleft()
            self.x.faults.count("order_rejected")
        elif self.x.config.fill_model is FillModel.REJECT or order.behavior == "reject":
            reason = "Order rejected by the exchange (simulator reject model)"
        if reason is not None:
            self._set_status(order, OrderStatus.REJECTED, reason=reason)
            return
        self._set_status(order, OrderStatus.ROUTED)
        order.live_at = self._now()
        self._set_status(order, OrderStatus.LIVE)
        self._try_fill(order)

    def _set_status(self, order: Order, status: OrderStatus, reason: str | None = None) -> None:
        now = self._now()
        order.status = status
        order.updated_at = now
        if status.is_terminal:
            order.terminal_at = now
        if status is OrderStatus.CANCELLED:
            order.cancelled_at = now
        if reason is not None:
            order.reject_reason = reason
        self.ledger.save_order(order)
        self._notify_order(order)

    def _notify_order(self, order: Order) -> None:
        self.x.publish(order.account, "Order", order_json(order))

    def notify_position(self, position: Position) -> None:
        mark = to_decimal(self.market.mark(position.symbol)) if position.quantity else None
        self.x.publish(
            position.account, "CurrentPosition", position_json(self.market, position, mark)
        )

    def notify_balance(self, account: Account) -> None:
        self.x.publish(
            account.number,
            "AccountBalance",
            balance_json(account, self.valuation(account), self._now()),
        )

    # ================================================================ fills

    def _fill_model(self, order: Order) -> tuple[FillModel, datetime | None]:
        """The order's fill model (its ``behavior`` wins) and the instant it may fill from."""
        behaviors = {
            "never": FillModel.NEVER,
            "partial": FillModel.PARTIAL,
            "delayed": FillModel.DELAYED,
            "scheduled": FillModel.DELAYED,
        }
        model = behaviors.get(order.behavior or "", FillModel(self.x.config.fill_model))
        if model is not FillModel.DELAYED:
            return model, None
        if order.behavior == "scheduled" and order.behavior_at is not None:
            return model, order.behavior_at
        delay = order.behavior_delay
        if delay is None:
            delay = self.x.config.fill_delay
        live_at = order.live_at or order.received_at
        return model, live_at + timedelta(seconds=delay)

    def _try_fill(self, order: Order) -> None:
        if order.status is not OrderStatus.LIVE or not self.x.is_market_open():
            return
        model, not_before = self._fill_model(order)
        price = self._fill_price(order, model, not_before)
        if price is None:
            # Immediate-or-cancel: whatever cannot fill on arrival is cancelled.
            if order.time_in_force is TimeInForce.IOC:
                self._set_status(order, OrderStatus.CANCELLED)
            return
        units = order.remaining_units
        if model is FillModel.PARTIAL and order.filled_units == 0 and units > 1:
            units = Decimal(int(units) // 2)
        self._fill(order, units, price)
        if order.time_in_force is TimeInForce.IOC and order.remaining_units > 0:
            self._set_status(order, OrderStatus.CANCELLED)

    def _fill_price(
        self, order: Order, model: FillModel, not_before: datetime | None
    ) -> Decimal | None:
        """The net price the order fills at now, or None when it does not fill this step."""
        if model is FillModel.NEVER:
            return None
        if not_before is not None and self._now() < not_before:
            return None
        if order.stop_trigger is not None and not order.stop_triggered:
            if not self._stop_triggered(order):
                return None
            # Once touched, a stop rests as a market (or limit) order even if the price
            # moves back through the trigger.
            order.stop_triggered = True
            self.ledger.save_order(order)
        natural, mid, _ = self.nets(order)
        if order.order_type in (OrderType.MARKET, OrderType.STOP) or order.price is None:
            return natural
        if model is FillModel.CROSS:
            fillable = order.price <= natural
        elif model is FillModel.TOUCH:
            fillable = order.price <= natural or (
                order.price <= mid and self.x.faults.random() < self.x.config.touch_probability
            )
        else:
            fillable = order.price <= mid
        if not fillable:
            return None
        # A limit that is marketable on arrival gets the market's price (improvement).
        return natural if order.price <= natural else order.price

    def _stop_triggered(self, order: Order) -> bool:
        assert order.stop_trigger is not None
        leg = order.legs[0]
        last = to_decimal(self.market.mark(leg.symbol), 2)
        return last >= order.stop_trigger if leg.action.is_buy else last <= order.stop_trigger

    def _fill(
        self,
        order: Order,
        units: Decimal,
        net_price: Decimal,
        when: datetime | None = None,
        notify: bool = True,
    ) -> None:
        """Fill ``units`` of every leg at once (atomic: one update, one SQLite transaction)."""
        now = when or self._now()
        account = self.account(order.account)
        prices = self._leg_prices(order, net_price)
        fees = self.fees(order, units)
        book = dict(self.ledger.positions.get(order.account, {}))
        changed: list[Position] = []
        txns: list[Transaction] = []
        next_txn = self.ledger.next_transaction_id()
        cash_delta = Decimal(0)
        group = f"{order.id}-{self._fill_seq + 1}"  # one execution: every leg shares it
        for i, (leg, price, fee) in enumerate(zip(order.legs, prices, fees, strict=True)):
            qty = leg.quantity / order.size * units
            position, _ = self._apply(book, order.account, leg, qty, price, now)
            changed.append(position)
            self._fill_seq += 1
            leg.fills.append(Fill(f"{order.id}-{self._fill_seq}", qty, price, now, group))
            leg.remaining -= qty
            mult = self._leg_multiplier(leg)
            value = money(-leg.action.sign * price * qty * mult)
            net = value - money(fee.total)
            cash_delta += net
            txns.append(
                Transaction(
                    id=next_txn + i,
                    account=order.account,
                    transaction_type="Trade",
                    transaction_sub_type=leg.action.value,
                    description=_describe(leg, qty, price),
                    executed_at=now,
                    transaction_date=now.astimezone(NEW_YORK).date(),
                    value=value,
                    net_value=net,
                    symbol=leg.symbol,
                    instrument_type=leg.instrument_type,
                    underlying=order.underlying,
                    action=leg.action,
                    quantity=qty,
                    price=price,
                    commission=-money(fee.commission),
                    clearing_fees=-money(fee.clearing),
                    regulatory_fees=-money(fee.regulatory),
                    proprietary_index_option_fees=-money(fee.index),
                    order_id=order.id,
                    leg_count=len(order.legs),
                )
            )
        order.filled_units += units
        account.cash += cash_delta
        if order.remaining_units == 0:
            order.status = OrderStatus.FILLED
            order.terminal_at = now
        order.updated_at = now
        with self.ledger.atomic():
            for position in changed:
                self.ledger.save_position(position)
            for txn in txns:
                self.ledger.save_transaction(txn)
            self.ledger.save_account(account)
            self.ledger.save_order(order)
        if notify:
            self._notify_order(order)
            for position in changed:
                self.notify_position(position)
            self.notify_balance(account)

    # ================================================================ time

    def on_step(self) -> None:
        """Called on every market step: try to fill working orders, then housekeeping."""
        for order in list(self.ledger.orders.values()):
            if order.status is OrderStatus.LIVE:
                try:
                    self._try_fill(order)
                except Exception:
                    log.exception("fill attempt failed for order %s", order.id)
        now = self._now()
        if now - self._last_housekeeping >= _HOUSEKEEPING:
            self._last_housekeeping = now
            self.housekeeping(now)

    def housekeeping(self, now: datetime) -> None:
        self._expire_orders(now)
        self._expire_options(now)
        today = now.astimezone(NEW_YORK).date()
        if today != self._day:
            self._day = today
            for book in self.ledger.positions.values():
                for position in list(book.values()):
                    position.realized_day_gain = Decimal(0)
                    position.realized_today = Decimal(0)
                    self.ledger.save_position(position)
        if self._last_net_liq is None or now - self._last_net_liq >= _NET_LIQ_SAMPLE:
            self._last_net_liq = now
            for account in self.ledger.accounts.values():
                self.ledger.record_net_liq(
                    account.number, now, money(self.valuation(account).net_liq)
                )

    def _session_over(self, day: date, now: datetime) -> bool:
        session = self.x.calendar.session(day)
        if self.x.config.market_hours.value == "always" or session is None:
            return now.astimezone(NEW_YORK).date() > day
        return now >= session[1]

    def _expire_orders(self, now: datetime) -> None:
        for order in list(self.ledger.orders.values()):
            if order.status.is_terminal:
                continue
            expired = False
            if order.time_in_force is TimeInForce.DAY and order.trading_day is not None:
                expired = self._session_over(order.trading_day, now)
            elif order.time_in_force is TimeInForce.GTD and order.gtc_date is not None:
                expired = self._session_over(order.gtc_date, now)
            for leg in order.legs:
                if (
                    leg.instrument_type is InstrumentType.EQUITY_OPTION
                    and self.market.expiry_instant(parse_occ(leg.symbol)) <= now
                ):
                    expired = True
            if expired:
                self._set_status(order, OrderStatus.EXPIRED)

    def _expire_options(self, now: datetime) -> None:
        """Settle every option past its expiry: worthless, cash-settled or exercised."""
        for number, book in list(self.ledger.positions.items()):
            for position in list(book.values()):
                if position.instrument_type is not InstrumentType.EQUITY_OPTION:
                    continue
                option = parse_occ(position.symbol)
                if self.market.expiry_instant(option) > now:
                    continue
                self._settle(self.ledger.accounts[number], position, option, now)

    def _settle(
        self, account: Account, position: Position, option: OptionSymbol, now: datetime
    ) -> None:
        spot = to_decimal(self.market.spot(position.underlying), 2)
        intrinsic = (
            max(Decimal(0), spot - option.strike)
            if option.is_call
            else max(Decimal(0), option.strike - spot)
        )
        qty = position.quantity
        txn_id = self.ledger.next_transaction_id()
        txns: list[Transaction] = []
        changed: list[Position] = []
        today = now.astimezone(NEW_YORK).date()
        cash_delta = Decimal(0)
        spec = self.market.underlying_of_root(option.root)
        cash_settled = spec is not None and spec.is_index
        if intrinsic == 0:
            sub, desc, value = (
                "Expiration",
                f"Removal of {abs(qty)} {option.occ.strip()} due to expiration",
                Decimal(0),
            )
        elif cash_settled:
            value = money(intrinsic * qty * position.multiplier)
            sub = "Cash Settled Exercise" if qty > 0 else "Cash Settled Assignment"
            desc = f"{sub} of {abs(qty)} {option.occ.strip()} at {intrinsic}"
            cash_delta += value
        else:
            # Physical delivery: long calls buy and short puts receive shares at the strike.
            shares = qty * position.multiplier * (1 if option.is_call else -1)
            sub = "Exercise" if qty > 0 else "Assignment"
            desc = f"{sub} of {abs(qty)} {option.occ.strip()}: {shares:+} shares at {option.strike}"
            value = Decimal(0)
            cash_delta -= money(shares * option.strike)
            stock_book = {p.symbol: p for p in self.positions(account.number)}
            action = OrderAction.BUY_TO_OPEN if shares > 0 else OrderAction.SELL_TO_OPEN
            stock_leg = OrderLeg(
                InstrumentType.EQUITY, position.underlying, action, abs(shares), Decimal(0)
            )
            stock, _ = self._apply(
                stock_book, account.number, stock_leg, abs(shares), option.strike, now
            )
            changed.append(stock)
            txns.append(
                Transaction(
                    id=txn_id + 1,
                    account=account.number,
                    transaction_type="Receive Deliver",
                    transaction_sub_type="Buy to Open" if shares > 0 else "Sell to Open",
                    description=(
                        f"{'Bought' if shares > 0 else 'Sold'} {abs(shares)} "
                        f"{position.underlying} @ {option.strike} ({sub.lower()})"
                    ),
                    executed_at=now,
                    transaction_date=today,
                    value=money(-shares * option.strike),
                    net_value=money(-shares * option.strike),
                    symbol=position.underlying,
                    instrument_type=InstrumentType.EQUITY,
                    underlying=position.underlying,
                    quantity=abs(shares),
                    price=option.strike,
                )
            )
        txns.append(
            Transaction(
                id=txn_id,
                account=account.number,
                transaction_type="Receive Deliver",
                transaction_sub_type=sub,
                description=desc,
                executed_at=now,
                transaction_date=today,
                value=value,
                net_value=value,
                symbol=position.symbol,
                instrument_type=InstrumentType.EQUITY_OPTION,
                underlying=position.underlying,
                quantity=abs(qty),
                price=intrinsic,
            )
        )
        closed = replace(position, quantity=Decimal(0), updated_at=now)
        changed.append(closed)
        account.cash += cash_delta
        with self.ledger.atomic():
            for p in changed:
                self.ledger.save_position(p)
            for t in txns:
                self.ledger.save_transaction(t)
            self.ledger.save_account(account)
        for p in changed:
            self.notify_position(p)
        self.notify_balance(account)

    # ================================================================ faults

    def close_silently(self, number: str, symbol: str) -> Position:
        """Close a position at its mark without any notification (a broker-side closure)."""
        account = self.account(number)
        position = self.ledger.positions.get(number, {}).get(symbol)
        if position is None:
            raise ApiError(404, "record_not_found", f"{number} holds no {symbol}")
        # At the same mark the balances use, so net liq does not jump.
        mark = to_decimal(self.market.mark(symbol))
        value = money(mark * position.quantity * position.multiplier)
        now = self._now()
        account.cash += value
        with self.ledger.atomic():
            self.ledger.save_account(account)
            self.ledger.save_transaction(
                Transaction(
                    id=self.ledger.next_transaction_id(),
                    account=number,
                    transaction_type="Receive Deliver",
                    transaction_sub_type="Forced Disposition",
                    description=f"Position in {symbol.strip()} closed by the broker at {mark}",
                    executed_at=now,
                    transaction_date=now.astimezone(NEW_YORK).date(),
                    value=value,
                    net_value=value,
                    symbol=symbol,
                    instrument_type=position.instrument_type,
                    underlying=position.underlying,
                    quantity=abs(position.quantity),
                    price=mark,
                )
            )
            self.ledger.save_position(replace(position, quantity=Decimal(0), updated_at=now))
        self.x.faults.count("silent_close")
        return position


def _has_option(order: Order) -> bool:
    return any(leg.instrument_type is InstrumentType.EQUITY_OPTION for leg in order.legs)


def _describe(leg: OrderLeg, qty: Decimal, price: Decimal) -> str:
    verb = "Bought" if leg.action.is_buy else "Sold"
    if leg.instrument_type is InstrumentType.EQUITY_OPTION:
        option = parse_occ(leg.symbol)
        kind = "Call" if option.is_call else "Put"
        return (
            f"{verb} {qty} {option.root} {option.expiration:%m/%d/%y} {kind} "
            f"{option.strike:.2f} @ {price:.2f}"
        )
    return f"{verb} {qty} {leg.symbol} @ {price:.2f}"
