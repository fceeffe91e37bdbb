"""Reconciliation: the broker is the source of truth; our book is checked against it.

Runs on start-up, after every reconnect and every few minutes.  Differences become findings:

- a position the broker has and we did not know → adopted ("changed without notification");
- a position we hold and the broker does not → **new orders halted** and a risk error, because
  something closed it without telling us (until the user acknowledges);
- a quantity difference → the broker's quantity is taken and reported;
- journal orders with an unknown outcome → resolved from live orders and order history.

The last reconciled book is persisted, so changes made while tastytui was not running are found
at the next start-up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from tastytui.domain.clock import Clock
from tastytui.services.accounts import AccountService
from tastytui.services.events import EventBus, Level, Notice, ReconcileEvent
from tastytui.services.health import Health

log = logging.getLogger(__name__)


class FindingKind(StrEnum):
    ADOPTED = "adopted"  # the broker has it, we did not
    VANISHED = "vanished"  # we had it, the broker does not
    QUANTITY = "quantity"  # both have it, quantities differ
    ORDER_RESOLVED = "order-resolved"
    ORDER_UNRESOLVED = "order-unresolved"


@dataclass(frozen=True, slots=True)
class Finding:
    at: datetime
    account: str
    kind: FindingKind
    symbol: str
    ours: Decimal | None
    broker: Decimal | None
    detail: str

    @property
    def is_risk(self) -> bool:
        return self.kind is FindingKind.VANISHED


class BookStore:
    """The last reconciled positions per account, in a small SQLite file (0600)."""

    def __init__(self, path: Path | None) -> None:
        self._db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None)
        if path is not None:
            os.chmod(path, 0o600)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS book (profile TEXT, account TEXT, body TEXT, "
            "PRIMARY KEY (profile, account))"
        )

    def load(self, profile: str, account: str) -> dict[str, Decimal] | None:
        row = self._db.execute(
            "SELECT body FROM book WHERE profile = ? AND account = ?", (profile, account)
        ).fetchone()
        if row is None:
            return None
        return {k: Decimal(v) for k, v in json.loads(row[0]).items()}

    def save(self, profile: str, account: str, book: dict[str, Decimal]) -> None:
        body = json.dumps({k: str(v) for k, v in sorted(book.items())})
        self._db.execute(
            "INSERT OR REPLACE INTO book (profile, account, body) VALUES (?, ?, ?)",
            (profile, account, body),
        )

    def close(self) -> None:
        self._db.close()


class Reconciler:
    def __init__(
        self,
        accounts: AccountService,
        events: EventBus,
        health: Health,
        clock: Clock,
        *,
        profile: str,
        store: BookStore,
        resolve_orders: Callable[[], Awaitable[Sequence[str]]] | None = None,
        interval: float = 300.0,
    ) -> None:
        self.accounts = accounts
        self.events = events
        self.health = health
        self.clock = clock
        self.profile = profile
        self.store = store
        self.resolve_orders = resolve_orders
        self.interval = interval
        self.findings: list[Finding] = []
        self.halted: str | None = None
        self.runs = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._last_run: dict[str, datetime] = {}

    def _known_book(self, account: str) -> dict[str, Decimal] | None:
        """What we believe: the live cache if loaded, else the persisted last reconciliation."""
        if self.accounts.positions_loaded(account):
            return {p.symbol: p.quantity for p in self.accounts.held(account)}
        return self.store.load(self.profile, account)

    def _explained(self, account: str) -> set[str]:
        """Symbols traded by orders that filled since the last run (pushes may be missed)."""
        since = self._last_run.get(account)
        symbols: set[str] = set()
        for order in self.accounts.live_orders(account):
            filled = any(leg.fills for leg in order.legs)
            if filled and (since is None or order.updated_at >= since):
                symbols.update(leg.symbol for leg in order.legs)
        return symbols

    async def reconcile(self, reason: str = "timer") -> list[Finding]:
        """Compare every account's book with the broker, adopt the broker's truth, report."""
        async with self._lock:
            found: list[Finding] = []
            for account in self.accounts.account_numbers():
                found.extend(await self._account(account))
            if self.resolve_orders is not None:
                for line in await self.resolve_orders():
                    found.append(
                        Finding(
                            self.clock.now(), "", FindingKind.ORDER_RESOLVED, "", None, None, line
                        )
                    )
            self.runs += 1
            self.findings.extend(found)
            del self.findings[:-500]
            self.health.update(
                last_reconcile_at=self.clock.now(),
                reconcile_findings=len(self.findings),
                orders_halted=self.halted,
            )
            log.info("reconciliation (%s): %d findings", reason, len(found))
            return found

    async def _account(self, account: str) -> list[Finding]:
        ours = self._known_book(account)
        broker_positions = await self.accounts.fetch_positions(account)
        # Balances and live orders are re-read too: pushes may have been missed.
        await self.accounts.refresh_balances(account)
        await self.accounts.refresh_orders(account)
        theirs = {p.symbol: p.quantity for p in broker_positions}
        found = [] if ours is None else self._diff(account, ours, theirs)
        # A difference our own filled orders explain is catching up, not a surprise.
        if self._last_run.get(account) is not None or ours is not None:
            explained = self._explained(account)
            found = [f for f in found if f.symbol not in explained]
        self._last_run[account] = self.clock.now()
        self.accounts.install_positions(account, broker_positions)
        self.store.save(self.profile, account, theirs)
        risky = [f for f in found if f.is_risk]
        if risky:
            self.halted = (
                f"New orders halted: {len(risky)} position(s) closed at the broker without "
                f"notice ({', '.join(f.symbol.strip() for f in risky[:3])}). Review the "
                "reconciliation findings, then resume orders."
            )
            self.events.publish(Notice(Level.ERROR, self.halted))
        for finding in found:
            if not finding.is_risk:
                self.events.publish(Notice(Level.WARNING, finding.detail))
        self.events.publish(
            ReconcileEvent(account, tuple(f.detail for f in found), self.halted is not None)
        )
        return found

    def _diff(
        self, account: str, ours: dict[str, Decimal], theirs: dict[str, Decimal]
    ) -> list[Finding]:
        now = self.clock.now()
        found: list[Finding] = []
        for symbol in sorted(set(ours) | set(theirs)):
            mine, broker = ours.get(symbol), theirs.get(symbol)
            label = symbol.strip()
            if mine is None and broker is not None:
                found.append(
                    Finding(
                        now,
                        account,
                        FindingKind.ADOPTED,
                        symbol,
                        None,
                        broker,
                        f"{account}: {label} ({broker:+}) changed without "
                        "notification — adopted from the broker",
                    )
                )
            elif mine is not None and broker is None:
                found.append(
                    Finding(
                        now,
                        account,
                        FindingKind.VANISHED,
                        symbol,
                        mine,
                        None,
                        f"{account}: {label} ({mine:+}) is gone at the broker "
                        "without notice — risk: check how it was closed",
                    )
                )
            elif mine != broker:
                found.append(
                    Finding(
                        now,
                        account,
                        FindingKind.QUANTITY,
                        symbol,
                        mine,
                        broker,
                        f"{account}: {label} is {broker:+} at the broker, we had "
                        f"{mine:+} — took the broker's quantity",
                    )
                )
        return found

    def resume_orders(self) -> None:
        """The user reviewed the findings: lift the halt on new orders."""
        self.halted = None
        self.health.update(orders_halted=None)

    async def after_reconnect(self) -> None:
        """Reconcile at once: pushes may have been missed while the account stream was down."""
        await self.reconcile("account stream connected")

    def trigger(self) -> None:
        """Ask the loop to reconcile now (after a reconnect)."""
        self._wake.set()

    async def run(self) -> None:
        """Reconcile now, then on every trigger and every ``interval`` seconds."""
        while True:
            try:
                await self.reconcile("start-up" if self.runs == 0 else "timer")
            except Exception as exc:  # a failed run is retried at the next tick
                log.warning("reconciliation failed: %s", exc)
                self.health.update(last_error=f"reconciliation: {exc}")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
