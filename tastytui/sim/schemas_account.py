"""Wire JSON for accounts, balances, positions, orders and transactions (protocol §2.3, §3.3)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.orders import InstrumentType, OrderStatus
from tastytui.domain.symbols import parse_occ
from tastytui.sim.accounting import Valuation, money
from tastytui.sim.ledger import Account, Order, Position, Transaction
from tastytui.sim.market import MarketModel
from tastytui.sim.wire import JSON, dec, iso
from tastytui.sim.wire import money as put_money


def account_json(account: Account) -> JSON:
    return {
        "account-number": account.number,
        "external-id": f"A{account.number}",
        "opened-at": iso(account.opened_at),
        "nickname": account.nickname,
        "account-type-name": "Individual",
        "day-trader-status": False,
        "is-closed": False,
        "is-firm-error": False,
        "is-firm-proprietary": False,
        "is-futures-approved": False,
        "is-test-drive": False,
        "margin-or-cash": "Margin" if account.margin else "Cash",
        "is-foreign": False,
        "funding-date": account.opened_at.date().isoformat(),
        "investment-objective": "SPECULATION",
        "suitable-options-level": "No Restrictions" if account.margin else "Defined Risk",
        "created-at": iso(account.opened_at),
    }


_ZERO_BALANCE_FIELDS = (
    "long-futures-value",
    "short-futures-value",
    "long-futures-derivative-value",
    "short-futures-derivative-value",
    "futures-margin-requirement",
    "maintenance-call-value",
    "reg-t-call-value",
    "day-trading-call-value",
    "day-equity-call-value",
    "day-trade-excess",
    "long-cryptocurrency-value",
    "short-cryptocurrency-value",
    "cryptocurrency-margin-requirement",
    "closed-loop-available-balance",
    "equity-offering-margin-requirement",
    "long-bond-value",
    "bond-margin-requirement",
    "futures-overnight-margin-requirement",
    "futures-intraday-margin-requirement",
    "pending-margin-interest",
    "effective-cryptocurrency-buying-power",
)


def balance_json(account: Account, v: Valuation, now: datetime) -> JSON:
    dbp = money(v.derivative_buying_power)
    body: JSON = {
        "account-number": account.number,
        "cash-balance": dec(v.cash, 2),
        "long-equity-value": dec(v.long_equity, 2),
        "short-equity-value": dec(v.short_equity, 2),
        "long-derivative-value": dec(v.long_derivative, 2),
        "short-derivative-value": dec(v.short_derivative, 2),
        "long-margineable-value": dec(v.long_equity, 2),
        "short-margineable-value": dec(v.short_equity, 2),
        "margin-equity": dec(money(v.net_liq), 2),
        "equity-buying-power": dec(money(v.equity_buying_power), 2),
        "derivative-buying-power": dec(dbp, 2),
        "day-trading-buying-power": dec(dbp * (4 if account.margin else 1), 2),
        "available-trading-funds": dec(dbp, 2),
        "maintenance-requirement": dec(v.requirement, 2),
        "net-liquidating-value": dec(money(v.net_liq), 2),
        "cash-available-to-withdraw": dec(money(max(Decimal(0), min(v.cash, dbp))), 2),
        "used-derivative-buying-power": dec(v.requirement, 2),
        "reg-t-margin-requirement": dec(v.requirement, 2),
        "maintenance-excess": dec(money(max(Decimal(0), v.net_liq - v.requirement)), 2),
        "snapshot-date": now.astimezone(NEW_YORK).date().isoformat(),
        "time-of-day": "EOD",
        "updated-at": iso(now),
    }
    for key in _ZERO_BALANCE_FIELDS:
        body[key] = "0.0"
    put_money(body, "pending-cash", Decimal(0))
    body["unsettled-cryptocurrency-fiat-amount"] = "0.0"
    body["unsettled-cryptocurrency-fiat-effect"] = "None"
    put_money(body, "buying-power-adjustment", Decimal(0))
    return body


def position_json(market: MarketModel, position: Position, mark: Decimal | None) -> JSON:
    is_option = position.instrument_type is InstrumentType.EQUITY_OPTION
    quantity = abs(position.quantity)
    direction = "Long" if position.quantity > 0 else ("Short" if position.quantity < 0 else "Zero")
    close_price = market.prev_close_of(position.symbol) if position.quantity else 0.0
    body: JSON = {
        "account-number": position.account,
        "symbol": position.symbol,
        "instrument-type": position.instrument_type.value,
        "underlying-symbol": position.underlying,
        "quantity": dec(quantity),
        "quantity-direction": direction,
        "close-price": dec(round(close_price, 4)),
        "average-open-price": dec(position.average_open_price),
        "average-yearly-market-close-price": dec(position.average_open_price),
        "average-daily-market-close-price": dec(round(close_price, 4)),
        "multiplier": str(position.multiplier),
        "cost-effect": "Debit" if position.quantity > 0 else "Credit",
        "is-suppressed": False,
        "is-frozen": False,
        "restricted-quantity": "0",
        "created-at": iso(position.created_at),
        "updated-at": iso(position.updated_at),
    }
    if mark is not None:
        body["mark"] = dec(mark * position.multiplier)
        body["mark-price"] = dec(mark)
    if is_option:
        body["expires-at"] = iso(market.expiry_instant(parse_occ(position.symbol)))
        body["streamer-symbol"] = parse_occ(position.symbol).streamer
    put_money(body, "realized-day-gain", position.realized_day_gain)
    put_money(body, "realized-today", position.realized_today)
    body["realized-day-gain-date"] = position.updated_at.date().isoformat()
    body["realized-today-date"] = position.updated_at.date().isoformat()
    return body


def order_json(order: Order) -> JSON:
    status = order.status
    body: JSON = {
        "id": order.id,
        "account-number": order.account,
        "time-in-force": order.time_in_force.value,
        "order-type": order.order_type.value,
        "size": dec(order.size),
        "underlying-symbol": order.underlying,
        "underlying-instrument-type": order.underlying_instrument_type.value,
        "status": status.value,
        "cancellable": status in (OrderStatus.RECEIVED, OrderStatus.ROUTED, OrderStatus.LIVE),
        "editable": status in (OrderStatus.RECEIVED, OrderStatus.ROUTED, OrderStatus.LIVE),
        "edited": order.replaces_order_id is not None,
        "received-at": iso(order.received_at),
        "updated-at": iso(order.updated_at),
        "legs": [
            {
                "instrument-type": leg.instrument_type.value,
                "symbol": leg.symbol,
                "quantity": dec(leg.quantity),
                "remaining-quantity": dec(leg.remaining),
                "action": leg.action.value,
                "fills": [
                    {
                        "ext-group-fill-id": fill.group or fill.fill_id,
                        "ext-exec-id": fill.fill_id,
                        "fill-id": fill.fill_id,
                        "quantity": dec(fill.quantity),
                        "fill-price": dec(fill.price),
                        "filled-at": iso(fill.filled_at),
                        "destination-venue": "SIM_EXCHANGE",
                    }
                    for fill in leg.fills
                ],
            }
            for leg in order.legs
        ],
    }
    if order.price is not None:
        put_money(body, "price", order.price, places=2)
    if order.stop_trigger is not None:
        body["stop-trigger"] = dec(order.stop_trigger)
    if order.gtc_date is not None:
        body["gtc-date"] = order.gtc_date.isoformat()
    if order.external_identifier is not None:
        body["external-identifier"] = order.external_identifier
    if order.source is not None:
        body["source"] = order.source
    for key, value in (
        ("live-at", order.live_at),
        ("terminal-at", order.terminal_at),
        ("cancelled-at", order.cancelled_at),
    ):
        if value is not None:
            body[key] = iso(value)
    if order.reject_reason is not None:
        body["reject-reason"] = order.reject_reason
    if order.replaces_order_id is not None:
        body["replaces-order-id"] = order.replaces_order_id
    if order.replacing_order_id is not None:
        body["replacing-order-id"] = order.replacing_order_id
    if order.status is OrderStatus.CANCELLED:
        body["cancel-user-id"] = "sim"
        body["cancel-username"] = "paper"
    return body


def transaction_json(txn: Transaction) -> JSON:
    body: JSON = {
        "id": txn.id,
        "account-number": txn.account,
        "transaction-type": txn.transaction_type,
        "transaction-sub-type": txn.transaction_sub_type,
        "description": txn.description,
        "executed-at": iso(txn.executed_at),
        "transaction-date": txn.transaction_date.isoformat(),
        "is-estimated-fee": False,
        "leg-count": txn.leg_count,
    }
    put_money(body, "value", txn.value)
    put_money(body, "net-value", txn.net_value)
    put_money(body, "commission", txn.commission)
    put_money(body, "clearing-fees", txn.clearing_fees)
    put_money(body, "regulatory-fees", txn.regulatory_fees)
    put_money(body, "proprietary-index-option-fees", txn.proprietary_index_option_fees)
    if txn.symbol is not None:
        body["symbol"] = txn.symbol
    if txn.instrument_type is not None:
        body["instrument-type"] = txn.instrument_type.value
    if txn.underlying is not None:
        body["underlying-symbol"] = txn.underlying
    if txn.action is not None:
        body["action"] = txn.action.value
    if txn.quantity is not None:
        body["quantity"] = dec(txn.quantity)
    if txn.price is not None:
        body["price"] = dec(txn.price)
    if txn.order_id is not None:
        body["order-id"] = txn.order_id
        body["exchange"] = "SIM"
        body["destination-venue"] = "SIM_EXCHANGE"
    return body


def trading_status_json(account: Account, now: datetime) -> JSON:
    return {
        "account-number": account.number,
        "equities-margin-calculation-type": "Reg T",
        "fee-schedule-name": "default",
        "futures-margin-rate-multiplier": "0.0",
        "has-intraday-equities-margin": False,
        "id": int(account.number[-5:]),
        "is-aggregated-at-clearing": False,
        "is-closed": False,
        "is-closing-only": False,
        "is-cryptocurrency-enabled": False,
        "is-frozen": False,
        "is-full-equity-margin-required": False,
        "is-futures-closing-only": False,
        "is-futures-intra-day-enabled": False,
        "is-futures-enabled": False,
        "is-in-day-trade-equity-maintenance-call": False,
        "is-in-margin-call": False,
        "is-pattern-day-trader": False,
        "is-small-notional-futures-intra-day-enabled": False,
        "is-roll-the-day-forward-enabled": False,
        "are-far-otm-net-options-restricted": False,
        "options-level": "No Restrictions" if account.margin else "Defined Risk Spreads",
        "short-calls-enabled": account.margin,
        "small-notional-futures-margin-rate-multiplier": "0.0",
        "is-equity-offering-enabled": False,
        "is-equity-offering-closing-only": False,
        "is-portfolio-margin-enabled": False,
        "is-risk-reducing-only": False,
        "day-trade-count": 0,
        "updated-at": iso(now),
    }
