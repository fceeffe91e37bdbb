"""Order vocabulary shared by the app and the simulator, with tastytrade's exact wire values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class InstrumentType(StrEnum):
    EQUITY = "Equity"
    EQUITY_OPTION = "Equity Option"
    INDEX = "Index"


class OrderAction(StrEnum):
    BUY_TO_OPEN = "Buy to Open"
    BUY_TO_CLOSE = "Buy to Close"
    SELL_TO_OPEN = "Sell to Open"
    SELL_TO_CLOSE = "Sell to Close"

    @property
    def is_buy(self) -> bool:
        return self.value.startswith("Buy")

    @property
    def is_opening(self) -> bool:
        return self.value.endswith("Open")

    @property
    def sign(self) -> int:
        """+1 for buys (the position grows long), -1 for sells."""
        return 1 if self.is_buy else -1

    @classmethod
    def for_change(cls, buy: bool, opening: bool) -> OrderAction:
        if buy:
            return cls.BUY_TO_OPEN if opening else cls.BUY_TO_CLOSE
        return cls.SELL_TO_OPEN if opening else cls.SELL_TO_CLOSE


class OrderType(StrEnum):
    LIMIT = "Limit"
    MARKET = "Market"
    MARKETABLE_LIMIT = "Marketable Limit"
    STOP = "Stop"
    STOP_LIMIT = "Stop Limit"
    NOTIONAL_MARKET = "Notional Market"


class TimeInForce(StrEnum):
    DAY = "Day"
    GTC = "GTC"
    GTD = "GTD"
    IOC = "IOC"
    EXT = "Ext"
    EXT_OVERNIGHT = "Ext Overnight"
    GTC_EXT = "GTC Ext"
    GTC_EXT_OVERNIGHT = "GTC Ext Overnight"


class OrderStatus(StrEnum):
    RECEIVED = "Received"
    ROUTED = "Routed"
    IN_FLIGHT = "In Flight"
    LIVE = "Live"
    CONTINGENT = "Contingent"
    CANCEL_REQUESTED = "Cancel Requested"
    REPLACE_REQUESTED = "Replace Requested"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    REJECTED = "Rejected"
    REMOVED = "Removed"
    PARTIALLY_REMOVED = "Partially Removed"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_working(self) -> bool:
        return not self.is_terminal


_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
        OrderStatus.REMOVED,
        OrderStatus.PARTIALLY_REMOVED,
    }
)


class PriceEffect(StrEnum):
    CREDIT = "Credit"
    DEBIT = "Debit"
    NONE = "None"

    @classmethod
    def of(cls, signed: Decimal) -> PriceEffect:
        """Signed money → effect: negative is a debit (you pay), positive a credit."""
        if signed < 0:
            return cls.DEBIT
        if signed > 0:
            return cls.CREDIT
        return cls.NONE


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of an order: what, which way and how many (a positive whole quantity)."""

    instrument_type: InstrumentType
    symbol: str
    action: OrderAction
    quantity: Decimal

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity * self.action.sign
