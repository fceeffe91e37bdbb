"""The soak's trader: random valid orders through the order builder's path, seeded.

Every order goes through ``services.orders.review`` then ``services.orders.send`` (what the
builder's review/confirm screens call); replaces through ``services.orders.replace`` + ``send``
and cancels through ``services.orders.cancel``.  Shapes: long calls and puts, credit and debit
verticals, iron condors, butterflies and stock; priced at mid, natural, or a few ticks passive
so some orders rest and can be replaced or cancelled.  Positions the trader opened are closed
again now and then so buying power lasts for a long run.

Every outcome is counted.  A service call that raises anything but a ``TicketError`` or a
``ServiceError`` (the two documented, explained failures) is an unhandled exception.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from tastytui.domain.chain import ChainExpiration, OptionChain
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType
from tastytui.domain.ticket import PriceMode, Ticket, TicketError, mid_price
from tastytui.domain.ticks import STOCK, TickSchedule
from tastytui.services.errors import ServiceError
from tastytui.services.journal import JournalState
from tastytui.services.orders import Review

if TYPE_CHECKING:
    from tastytui.services.runtime import Services

D = Decimal
OPTION = InstrumentType.EQUITY_OPTION
EQUITY = InstrumentType.EQUITY
BTO, STO = OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN
BTC, STC = OrderAction.BUY_TO_CLOSE, OrderAction.SELL_TO_CLOSE

#: The underlyings the trader uses; silent closures prefer positions in anything else.
TRADED = ("SPY", "QQQ", "IWM")
SHAPES = (
    "long_call",
    "long_put",
    "credit_put_vertical",
    "debit_call_vertical",
    "iron_condor",
    "butterfly",
    "stock",
)
SHAPE_WEIGHTS = (2, 2, 3, 3, 1, 1, 1)


class SkipAction(Exception):
    """Nothing sensible to do this time (no working order to replace, no chain row …)."""


@dataclass
class DriverStats:
    #: Action → count of attempts ("open", "replace", "cancel", "close").
    actions: Counter[str] = field(default_factory=Counter)
    #: Outcome → count ("sent", "recovered", "ticket refused", "OrderNotPlaced" …).
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Shapes of the new orders reviewed.
    shapes: Counter[str] = field(default_factory=Counter)
    #: Legs per order that was sent: 1, 2, 4 …
    legs_sent: Counter[int] = field(default_factory=Counter)
    #: ``send`` calls made with a sendable review (orders intended).
    sends: int = 0
    #: Unexpected exception texts (with a short traceback) from the service API.
    unexpected: list[str] = field(default_factory=list)
    #: The first few messages of each failed outcome (what the user would have read).
    samples: dict[str, list[str]] = field(default_factory=dict)

    def failed(self, outcome: str, exc: BaseException) -> None:
        self.outcomes[outcome] += 1
        seen = self.samples.setdefault(outcome, [])
        if len(seen) < 3:
            seen.append(str(exc)[:300])


class Trader:
    """One seeded trader; ``services`` is swapped by the soak when the console restarts."""

    def __init__(
        self,
        rng: random.Random,
        account: str,
        stats: DriverStats,
        *,
        excluded: Callable[[], set[str]],
    ) -> None:
        self.rng = rng
        self.account = account
        self.stats = stats
        self.services: Services | None = None
        #: Symbols the trader must not touch (silent-closure targets being verified).
        self.excluded = excluded
        self._start_bp: Decimal | None = None

    # ------------------------------------------------------------------ the loop

    async def run(self, pause: tuple[float, float] = (0.2, 0.9)) -> None:
        """Trade until cancelled."""
        while True:
            services = self.services
            if services is not None:
                await self.step(services)
            await asyncio.sleep(self.rng.uniform(*pause))

    async def step(self, services: Services) -> None:
        action = self._choose_action(services)
        self.stats.actions[action] += 1
        try:
            if action == "open":
                await self._open(services)
            elif action == "replace":
                await self._replace(services)
            elif action == "cancel":
                await self._cancel(services)
            else:
                await self._close(services)
        except SkipAction as skip:
            self.stats.outcomes[f"skipped: {skip}"] += 1
        except TicketError as exc:
            self.stats.failed("ticket refused", exc)
        except ServiceError as exc:
            self.stats.failed(f"{action}: {type(exc).__name__}", exc)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # the service API promised a clear error: this is a defect
            text = "".join(traceback.format_exception(exc, limit=-4)).strip()
            self.stats.unexpected.append(f"{action}: {text}")

    def _choose_action(self, services: Services) -> str:
        weights = {"open": 6.0, "replace": 1.5, "cancel": 1.5, "close": 1.0}
        balance = services.accounts.balances(self.account)
        if balance is not None:
            bp = balance.derivative_buying_power
            if self._start_bp is None:
                self._start_bp = bp
            elif bp < self._start_bp * D("0.5"):
                weights["close"] = 6.0  # keep buying power for a long run
                weights["open"] = 2.0
        names = list(weights)
        return self.rng.choices(names, weights=[weights[n] for n in names])[0]

    # ------------------------------------------------------------------ sending

    async def _submit(self, review: Awaitable[Review]) -> None:
        services = self.services
        assert services is not None
        reviewed = await review
        if not reviewed.sendable:
            self.stats.outcomes["review refused"] += 1
            return
        self.stats.sends += 1
        try:
            sent = await services.orders.send(reviewed)
        except ServiceError as exc:
            self.stats.failed(f"send: {type(exc).__name__}", exc)
            return
        self.stats.outcomes["recovered after a lost answer" if sent.recovered else "sent"] += 1
        self.stats.legs_sent[len(reviewed.ticket.legs)] += 1

    # ------------------------------------------------------------------ new orders

    async def _open(self, services: Services) -> None:
        underlying = self.rng.choice(TRADED)
        shape = self.rng.choices(SHAPES, weights=SHAPE_WEIGHTS)[0]
        self.stats.shapes[shape] += 1
        ticket, schedule = await self._build(services, underlying, shape)
        if any(leg.symbol in self.excluded() for leg in ticket.legs):
            raise SkipAction("contract under a silent-closure check")
        mode = self.rng.choices(("mid", "natural", "passive"), weights=(4, 3, 3))[0]
        if shape == "stock" and self.rng.random() < 0.3:
            ticket = Ticket(ticket.legs, order_type=OrderType.MARKET)
            mode = "natural"
        if mode == "passive":
            ticket = await self._passive(services, ticket, schedule)
            price_mode = PriceMode.CUSTOM
        else:
            price_mode = PriceMode.MID if mode == "mid" else PriceMode.NATURAL
        await self._submit(services.orders.review(ticket, self.account, price_mode=price_mode))

    async def _build(
        self, services: Services, underlying: str, shape: str
    ) -> tuple[Ticket, TickSchedule]:
        quantity = D(self.rng.choice((1, 1, 1, 2)))
        if shape == "stock":
            shares = D(self.rng.randint(1, 3))
            return Ticket((Leg(EQUITY, underlying, BTO, shares),)), STOCK
        chain = await services.accounts.chain(underlying)
        exp = self._expiration(services, chain)
        spot = await self._spot(services, underlying)
        atm = exp.nearest_index(spot)
        width = self.rng.randint(1, 4)

        def contract(offset: int, call: bool) -> str:
            row = exp.strikes[atm + offset] if 0 <= atm + offset < len(exp.strikes) else None
            if row is None:
                raise SkipAction("strike off the chain")
            return (row.call if call else row.put).occ

        out = self.rng.randint(1, 6)
        legs: list[Leg]
        if shape == "long_call":
            legs = [Leg(OPTION, contract(out, True), BTO, quantity)]
        elif shape == "long_put":
            legs = [Leg(OPTION, contract(-out, False), BTO, quantity)]
        elif shape == "credit_put_vertical":
            legs = [
                Leg(OPTION, contract(-out, False), STO, quantity),
                Leg(OPTION, contract(-out - width, False), BTO, quantity),
            ]
        elif shape == "debit_call_vertical":
            legs = [
                Leg(OPTION, contract(out - 1, True), BTO, quantity),
                Leg(OPTION, contract(out - 1 + width, True), STO, quantity),
            ]
        elif shape == "iron_condor":
            legs = [
                Leg(OPTION, contract(-out - width, False), BTO, quantity),
                Leg(OPTION, contract(-out, False), STO, quantity),
                Leg(OPTION, contract(out, True), STO, quantity),
                Leg(OPTION, contract(out + width, True), BTO, quantity),
            ]
        else:  # a call butterfly, 1:2:1
            legs = [
                Leg(OPTION, contract(out - width, True), BTO, quantity),
                Leg(OPTION, contract(out, True), STO, quantity * 2),
                Leg(OPTION, contract(out + width, True), BTO, quantity),
            ]
        return Ticket(tuple(legs)), chain.tick_schedule

    def _expiration(self, services: Services, chain: OptionChain) -> ChainExpiration:
        exp = chain.nearest_dte(services.accounts.today(), self.rng.choice((10, 21, 30, 45)))
        if exp is None or not exp.strikes:
            raise SkipAction("no listed expiration")
        return exp

    async def _spot(self, services: Services, underlying: str) -> Decimal:
        quotes = await services.accounts.leg_quotes([underlying])
        quote = quotes.get(underlying)
        if quote is None or quote.ask <= 0:
            raise SkipAction(f"no quote for {underlying}")
        return (quote.bid + quote.ask) / 2

    async def _passive(self, services: Services, ticket: Ticket, schedule: TickSchedule) -> Ticket:
        """A price a few ticks better than mid for us: it rests instead of filling."""
        quotes = await services.accounts.leg_quotes([leg.symbol for leg in ticket.legs])
        mid = schedule.round(mid_price(ticket, quotes))
        if mid == 0:
            return ticket.with_price(None)  # validation explains a missing limit price
        ticks = self.rng.randint(2, 6)
        # Credit (+): ask for more; debit (−): offer less — never through zero.
        price = schedule.nudge(mid, ticks if mid > 0 else -ticks)
        return ticket.with_price(price)

    # ------------------------------------------------------------------ working orders

    def _working(self, services: Services) -> list[int]:
        entries = services.journal.working(services.profile_name)
        return [
            e.broker_id
            for e in entries
            if e.broker_id is not None
            and e.state in (JournalState.ACCEPTED, JournalState.WORKING)
            and e.account == self.account
        ]

    async def _replace(self, services: Services) -> None:
        working = self._working(services)
        if not working:
            raise SkipAction("no working order to replace")
        order_id = self.rng.choice(working)
        await self._submit(services.orders.replace(self.account, order_id, re_mid=True))

    async def _cancel(self, services: Services) -> None:
        working = self._working(services)
        if not working:
            raise SkipAction("no working order to cancel")
        await services.orders.cancel(self.account, self.rng.choice(working))
        self.stats.outcomes["cancel: done"] += 1

    # ------------------------------------------------------------------ closing

    async def _close(self, services: Services) -> None:
        held = [
            p
            for p in services.accounts.held(self.account)
            if p.underlying in TRADED and p.symbol not in self.excluded()
        ]
        if not held:
            raise SkipAction("nothing to close")
        position = self.rng.choice(held)
        is_option = position.option is not None
        action = STC if position.quantity > 0 else BTC
        size = min(abs(position.quantity), D(1) if is_option else abs(position.quantity))
        leg = Leg(OPTION if is_option else EQUITY, position.symbol, action, size)
        mode = self.rng.choice((PriceMode.MID, PriceMode.NATURAL))
        await self._submit(services.orders.review(Ticket((leg,)), self.account, price_mode=mode))
