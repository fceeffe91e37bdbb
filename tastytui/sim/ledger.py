"""The paper ledger: accounts, positions, orders, transactions and net-liq history in SQLite.

In-memory objects are the working copy; every change is written through to SQLite (stdlib) in
the same call, so a paper account survives restarts.  ``state_path=None`` keeps the database in
memory (tests).  The ledger knows nothing about prices: balances are derived by the engine.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from tastytui.domain.clock import Clock
from tastytui.domain.orders import (
    InstrumentType,
    OrderAction,
    OrderStatus,
    OrderType,
    TimeInForce,
)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (number TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    account TEXT NOT NULL, symbol TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (account, symbol));
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS netliq (
    account TEXT NOT NULL, ts TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (account, ts));
"""


@dataclass
class Account:
    number: str
    nickname: str
    margin: bool
    opened_at: datetime
    cash: Decimal
    #: Cash at the start of the trading day (for day P&L of the account).
    day_start_cash: Decimal = Decimal(0)


@dataclass
class Position:
    account: str
    symbol: str  # OCC for options, the ticker for equities
    instrument_type: InstrumentType
    underlying: str
    quantity: Decimal  # signed: + long, − short
    average_open_price: Decimal
    multiplier: int
    created_at: datetime
    updated_at: datetime
    realized_day_gain: Decimal = Decimal(0)
    realized_today: Decimal = Decimal(0)
    #: The mark when the position entered today (prev close, or the fill price if opened today).
    day_cost_basis: Decimal | None = None


@dataclass
class Fill:
    fill_id: str
    quantity: Decimal
    price: Decimal
    filled_at: datetime
    #: One execution of a multi-leg order fills every leg; they share this group id.
    group: str = ""


@dataclass
class OrderLeg:
    instrument_type: InstrumentType
    symbol: str
    action: OrderAction
    quantity: Decimal
    remaining: Decimal
    fills: list[Fill] = field(default_factory=list)


@dataclass
class Order:
    id: int
    account: str
    order_type: OrderType
    time_in_force: TimeInForce
    status: OrderStatus
    legs: list[OrderLeg]
    underlying: str
    underlying_instrument_type: InstrumentType
    size: Decimal
    received_at: datetime
    updated_at: datetime
    price: Decimal | None = None  # signed: negative = debit
    stop_trigger: Decimal | None = None
    gtc_date: date | None = None
    external_identifier: str | None = None
    source: str | None = None
    behavior: str | None = None
    behavior_delay: float | None = None
    #: The paper API's ``schedule``: fill no earlier than this instant.
    behavior_at: datetime | None = None
    #: A stop order whose trigger was touched rests as a market/limit order from then on.
    stop_triggered: bool = False
    live_at: datetime | None = None
    terminal_at: datetime | None = None
    cancelled_at: datetime | None = None
    reject_reason: str | None = None
    replaces_order_id: int | None = None
    replacing_order_id: int | None = None
    filled_units: Decimal = Decimal(0)
    trading_day: date | None = None

    @property
    def remaining_units(self) -> Decimal:
        return self.size - self.filled_units


@dataclass
class Transaction:
    id: int
    account: str
    transaction_type: str
    transaction_sub_type: str
    description: str
    executed_at: datetime
    transaction_date: date
    value: Decimal  # signed: negative = debit
    net_value: Decimal
    symbol: str | None = None
    instrument_type: InstrumentType | None = None
    underlying: str | None = None
    action: OrderAction | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    commission: Decimal = Decimal(0)
    clearing_fees: Decimal = Decimal(0)
    regulatory_fees: Decimal = Decimal(0)
    proprietary_index_option_fees: Decimal = Decimal(0)
    order_id: int | None = None
    leg_count: int = 1


T = TypeVar("T")


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$day": value.isoformat()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$d" in value:
            return Decimal(value["$d"])
        if "$t" in value:
            return datetime.fromisoformat(value["$t"])
        if "$day" in value:
            return date.fromisoformat(value["$day"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _dump(obj: Any) -> str:
    return json.dumps(_encode(asdict(obj)), separators=(",", ":"))


def _load_account(text: str) -> Account:
    return Account(**_decode(json.loads(text)))


def _load_position(text: str) -> Position:
    raw = _decode(json.loads(text))
    raw["instrument_type"] = InstrumentType(raw["instrument_type"])
    return Position(**raw)


def _load_order(text: str) -> Order:
    raw = _decode(json.loads(text))
    raw["order_type"] = OrderType(raw["order_type"])
    raw["time_in_force"] = TimeInForce(raw["time_in_force"])
    raw["status"] = OrderStatus(raw["status"])
    raw["underlying_instrument_type"] = InstrumentType(raw["underlying_instrument_type"])
    legs = []
    for leg in raw["legs"]:
        leg["instrument_type"] = InstrumentType(leg["instrument_type"])
        leg["action"] = OrderAction(leg["action"])
        leg["fills"] = [Fill(**f) for f in leg["fills"]]
        legs.append(OrderLeg(**leg))
    raw["legs"] = legs
    return Order(**raw)


def _load_transaction(text: str) -> Transaction:
    raw = _decode(json.loads(text))
    if raw.get("instrument_type"):
        raw["instrument_type"] = InstrumentType(raw["instrument_type"])
    if raw.get("action"):
        raw["action"] = OrderAction(raw["action"])
    known = {f.name for f in fields(Transaction)}
    return Transaction(**{k: v for k, v in raw.items() if k in known})


class Ledger:
    """Accounts, positions, orders and transactions, persisted in SQLite."""

    def __init__(self, path: str | None, seed: int, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        if path:
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, mode=0o700, exist_ok=True)
        self.db = sqlite3.connect(path or ":memory:", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self.db.executescript(_SCHEMA)
        self._depth = 0  # nesting of atomic() blocks
        if self.meta("seed") is None:
            self.set_meta("seed", str(seed))
            self.set_meta("schema", str(SCHEMA_VERSION))
        self.accounts: dict[str, Account] = {}
        self.positions: dict[str, dict[str, Position]] = {}
        self.orders: dict[int, Order] = {}
        self.transactions: dict[int, Transaction] = {}
        self._load()
        #: True when the ledger holds no accounts and must be seeded with a starting book.
        #: (The starting book is written in one transaction, so it is all there or absent.)
        self.fresh = not self.accounts

    # ------------------------------------------------------------------ meta

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def saved_prices(self) -> dict[str, float]:
        raw = self.meta("prices")
        return {} if raw is None else {k: float(v) for k, v in json.loads(raw).items()}

    def save_prices(self, prices: dict[str, float]) -> None:
        self.set_meta("prices", json.dumps({k: round(v, 4) for k, v in prices.items()}))

    # ------------------------------------------------------------------ load

    def _load(self) -> None:
        for (body,) in self.db.execute("SELECT body FROM accounts ORDER BY number"):
            account = _load_account(body)
            self.accounts[account.number] = account
            self.positions.setdefault(account.number, {})
        for (body,) in self.db.execute("SELECT body FROM positions"):
            position = _load_position(body)
            self.positions.setdefault(position.account, {})[position.symbol] = position
        for (body,) in self.db.execute("SELECT body FROM orders ORDER BY id"):
            order = _load_order(body)
            self.orders[order.id] = order
        for (body,) in self.db.execute("SELECT body FROM transactions ORDER BY id"):
            txn = _load_transaction(body)
            self.transactions[txn.id] = txn

    # ------------------------------------------------------------------ writes

    def save_account(self, account: Account) -> None:
        self.accounts[account.number] = account
        self.positions.setdefault(account.number, {})
        self.db.execute(
            "INSERT OR REPLACE INTO accounts (number, body) VALUES (?, ?)",
            (account.number, _dump(account)),
        )

    def save_position(self, position: Position) -> None:
        """Store a position; a zero quantity removes it."""
        book = self.positions.setdefault(position.account, {})
        if position.quantity == 0:
            book.pop(position.symbol, None)
            self.db.execute(
                "DELETE FROM positions WHERE account = ? AND symbol = ?",
                (position.account, position.symbol),
            )
            return
        book[position.symbol] = position
        self.db.execute(
            "INSERT OR REPLACE INTO positions (account, symbol, body) VALUES (?, ?, ?)",
            (position.account, position.symbol, _dump(position)),
        )

    def save_order(self, order: Order) -> None:
        self.orders[order.id] = order
        self.db.execute(
            "INSERT OR REPLACE INTO orders (id, account, body) VALUES (?, ?, ?)",
            (order.id, order.account, _dump(order)),
        )

    def save_transaction(self, txn: Transaction) -> None:
        self.transactions[txn.id] = txn
        self.db.execute(
            "INSERT OR REPLACE INTO transactions (id, account, body) VALUES (?, ?, ?)",
            (txn.id, txn.account, _dump(txn)),
        )

    def next_order_id(self) -> int:
        """Ids never repeat, not even after a reset (the app keys its caches by id)."""
        return max(max(self.orders, default=100_000), self._floor("order-id-floor")) + 1

    def next_transaction_id(self) -> int:
        floor = self._floor("transaction-id-floor")
        return max(max(self.transactions, default=500_000), floor) + 1

    def _floor(self, key: str) -> int:
        raw = self.meta(key)
        return 0 if raw is None else int(raw)

    def last_fill_sequence(self) -> int:
        """The highest fill sequence number stored (fill ids are ``<order>-<sequence>``)."""
        highest = 0
        for order in self.orders.values():
            for leg in order.legs:
                for fill in leg.fills:
                    tail = fill.fill_id.rsplit("-", 1)[-1]
                    if tail.isdigit():
                        highest = max(highest, int(tail))
        return highest

    def record_net_liq(self, account: str, when: datetime, value: Decimal) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO netliq (account, ts, value) VALUES (?, ?, ?)",
            (account, when.isoformat(), str(value)),
        )

    def record_net_liq_many(self, rows: Iterable[tuple[str, datetime, Decimal]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO netliq (account, ts, value) VALUES (?, ?, ?)",
            [(a, w.isoformat(), str(v)) for a, w, v in rows],
        )

    def net_liq_since(self, account: str, since: datetime) -> list[tuple[datetime, Decimal]]:
        rows = self.db.execute(
            "SELECT ts, value FROM netliq WHERE account = ? AND ts >= ? ORDER BY ts",
            (account, since.isoformat()),
        )
        return [(datetime.fromisoformat(ts), Decimal(v)) for ts, v in rows]

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """``with ledger.atomic(): ...`` writes everything inside or nothing.

        The connection is otherwise in autocommit mode; the outermost block is one SQLite
        transaction and nested blocks are savepoints.  On failure the in-memory working copy
        (which callers mutate before writing) is reloaded from the database.
        """
        savepoint = f"sp{self._depth}"
        self.db.execute("BEGIN" if self._depth == 0 else f"SAVEPOINT {savepoint}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("ROLLBACK")
            else:
                self.db.execute(f"ROLLBACK TO {savepoint}")
                self.db.execute(f"RELEASE {savepoint}")
            self.reload()
            raise
        self._depth -= 1
        self.db.execute("COMMIT" if self._depth == 0 else f"RELEASE {savepoint}")

    def reload(self) -> None:
        """Rebuild the in-memory working copy from SQLite."""
        self.accounts.clear()
        self.positions.clear()
        self.orders.clear()
        self.transactions.clear()
        self._load()

    # ------------------------------------------------------------------ reset

    def wipe(self) -> None:
        """Delete everything except the seed (the reset command re-seeds afterwards)."""
        floors = {
            "order-id-floor": self.next_order_id() - 1,
            "transaction-id-floor": self.next_transaction_id() - 1,
        }
        with self.atomic():
            for table in ("accounts", "positions", "orders", "transactions", "netliq"):
                self.db.execute(f"DELETE FROM {table}")  # fixed table names
            self.db.execute("DELETE FROM meta WHERE key NOT IN ('seed', 'schema')")
            for key, value in floors.items():
                self.set_meta(key, str(value))
        self.accounts.clear()
        self.positions.clear()
        self.orders.clear()
        self.transactions.clear()
        self.fresh = True

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ reads

    def account_positions(self, account: str) -> list[Position]:
        return sorted(self.positions.get(account, {}).values(), key=lambda p: p.symbol)

    def account_orders(self, account: str) -> list[Order]:
        return [o for o in self.orders.values() if o.account == account]

    def account_transactions(self, account: str) -> list[Transaction]:
        return [t for t in self.transactions.values() if t.account == account]


def as_dict(obj: Any) -> dict[str, Any]:
    """A ledger record as a plain dict (decimals and datetimes kept as objects)."""
    result: dict[str, Any] = asdict(obj)
    return result
