"""The order journal: every order intent, written before it is sent, and everything after.

A SQLite file in the data dir (mode 0600) survives crashes: an intent is durable *before* its
POST goes out, so an order whose answer never arrived (timeout, 5xx, the process died) is found
at the next start-up as SENT/UNKNOWN and resolved from the broker by its external identifier.

One row per intent in ``orders`` (the latest state) and an append-only ``events`` table (every
change, in order).  States only move forward: a late or duplicate broker status never takes an
order back (Live after Filled is ignored).  The journal is shared by all profiles; every row
carries its profile and queries filter by it, because broker order ids are per-broker.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from tastytui.domain.clock import Clock, SystemClock
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.ticket import Ticket
from tastytui.paths import data_dir

JOURNAL_FILE = "journal.sqlite3"
#: Sources an order may come from (the same pipeline serves all three).
SOURCES = ("keys", "chat", "cli")
_MAX_INTENT_ID = 36  # tastytrade's external-identifier limit


class JournalState(StrEnum):
    INTENT = "INTENT"  # written, not yet sent
    SENT = "SENT"  # the POST is going out; no answer yet
    ACCEPTED = "ACCEPTED"  # the broker answered with an order id
    WORKING = "WORKING"  # routed / live at the exchange
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"  # the answer was lost: the order may or may not exist
    NOT_SENT = "NOT_SENT"  # refused before the POST (breaker open, orders halted, not found)

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_unresolved(self) -> bool:
        return self in (JournalState.SENT, JournalState.UNKNOWN)


_TERMINAL = frozenset(
    {
        JournalState.FILLED,
        JournalState.CANCELLED,
        JournalState.REJECTED,
        JournalState.EXPIRED,
        JournalState.NOT_SENT,
    }
)
_RANK = {
    JournalState.INTENT: 0,
    JournalState.SENT: 1,
    JournalState.UNKNOWN: 1,
    JournalState.ACCEPTED: 2,
    JournalState.WORKING: 3,
    **{state: 4 for state in _TERMINAL},
}

#: tastytrade order status → journal state.
_STATUS_STATE = {
    "Received": JournalState.ACCEPTED,
    "Routed": JournalState.WORKING,
    "In Flight": JournalState.WORKING,
    "Live": JournalState.WORKING,
    "Contingent": JournalState.WORKING,
    "Cancel Requested": JournalState.WORKING,
    "Replace Requested": JournalState.WORKING,
    "Filled": JournalState.FILLED,
    "Cancelled": JournalState.CANCELLED,
    "Expired": JournalState.EXPIRED,
    "Rejected": JournalState.REJECTED,
    # Removed by the exchange/broker; "Partially" keeps its fills (filled_quantity says so).
    "Removed": JournalState.CANCELLED,
    "Partially Removed": JournalState.CANCELLED,
}


def state_for_status(status: str) -> JournalState:
    """The journal state for a tastytrade order status (unknown statuses count as working)."""
    return _STATUS_STATE.get(status, JournalState.WORKING)


class JournalError(RuntimeError):
    """A journal operation on an intent that does not exist, or a malformed input."""


# ----------------------------------------------------------------------------- tickets as JSON


def ticket_to_json(ticket: Ticket) -> str:
    """The ticket as canonical JSON (wire spellings, Decimals as strings)."""
    body = {
        "legs": [
            {
                "instrument-type": leg.instrument_type.value,
                "symbol": leg.symbol,
                "action": leg.action.value,
                "quantity": str(leg.quantity),
            }
            for leg in ticket.legs
        ],
        "order-type": ticket.order_type.value,
        "price": None if ticket.price is None else str(ticket.price),
        "time-in-force": ticket.time_in_force.value,
        "gtd-date": None if ticket.gtd_date is None else ticket.gtd_date.isoformat(),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def ticket_from_json(text: str) -> Ticket:
    body: dict[str, Any] = json.loads(text)
    legs = tuple(
        Leg(
            InstrumentType(leg["instrument-type"]),
            leg["symbol"],
            OrderAction(leg["action"]),
            Decimal(leg["quantity"]),
        )
        for leg in body["legs"]
    )
    price = body.get("price")
    gtd = body.get("gtd-date")
    return Ticket(
        legs=legs,
        order_type=OrderType(body["order-type"]),
        price=None if price is None else Decimal(price),
        time_in_force=TimeInForce(body["time-in-force"]),
        gtd_date=None if gtd is None else date.fromisoformat(gtd),
    )


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One order intent and its latest known state."""

    intent_id: str
    profile: str
    account: str
    source: str
    state: JournalState
    ticket_json: str
    fingerprint: str
    description: str
    underlying: str
    created_at: datetime
    updated_at: datetime
    broker_id: int | None
    broker_status: str | None
    filled_quantity: Decimal
    quantity: Decimal
    reject_reason: str | None
    replaces_order_id: int | None
    detail: str | None

    @property
    def ticket(self) -> Ticket:
        return ticket_from_json(self.ticket_json)


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One change to an intent, in the order it happened."""

    seq: int
    intent_id: str
    at: datetime
    state: JournalState
    broker_status: str | None
    filled_quantity: Decimal | None
    detail: str | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    intent_id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    account TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    ticket TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    description TEXT NOT NULL,
    underlying TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    broker_id INTEGER,
    broker_status TEXT,
    filled_quantity TEXT NOT NULL DEFAULT '0',
    quantity TEXT NOT NULL,
    reject_reason TEXT,
    replaces_order_id INTEGER,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS orders_broker ON orders (profile, broker_id);
CREATE INDEX IF NOT EXISTS orders_state ON orders (profile, state);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_id TEXT NOT NULL REFERENCES orders (intent_id),
    at TEXT NOT NULL,
    state TEXT NOT NULL,
    broker_status TEXT,
    filled_quantity TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_intent ON events (intent_id, seq);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the order journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the order journal is append-only'); END;
"""

_ORDER_COLUMNS = (
    "intent_id, profile, account, source, state, ticket, fingerprint, description, underlying, "
    "created_at, updated_at, broker_id, broker_status, filled_quantity, quantity, reject_reason, "
    "replaces_order_id, detail"
)


def _private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (before SQLite opens it)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    # O_CREAT's mode is masked by the umask and ignored for an existing file: enforce it.
    os.chmod(path, 0o600)


class Journal:
    """The order journal (synchronous: each call is one small local transaction)."""

    def __init__(self, path: Path | str | None = None, *, clock: Clock | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / JOURNAL_FILE
        self.clock: Clock = clock or SystemClock()
        _private_file(self.path)
        # Autocommit; writes use explicit BEGIN IMMEDIATE so read-modify-write is atomic.
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        # WAL + FULL: a committed intent survives a crash or power loss before the POST.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # ------------------------------------------------------------------ writes

    def new_intent_id(self) -> str:
        """A fresh intent id, ``tt-<yyyymmddHHMMSS>-<8 hex>`` (sent as external-identifier)."""
        intent = f"tt-{self.clock.now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
        assert len(intent) <= _MAX_INTENT_ID
        return intent

    def record_intent(
        self,
        *,
        profile: str,
        account: str,
        source: str,
        ticket: Ticket,
        fingerprint: str,
        description: str,
        underlying: str,
        replaces_order_id: int | None = None,
        intent_id: str | None = None,
    ) -> JournalEntry:
        """Write a new intent (state INTENT) durably and return it."""
        if source not in SOURCES:
            raise JournalError(f"order source {source!r} is not one of {', '.join(SOURCES)}")
        intent = intent_id or self.new_intent_id()
        if len(intent) > _MAX_INTENT_ID:
            raise JournalError(f"intent id {intent!r} is longer than {_MAX_INTENT_ID} characters")
        now = self._now()
        with self._write() as db:
            db.execute(
                f"INSERT INTO orders ({_ORDER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '0', ?, NULL, ?, NULL)",
                (
                    intent,
                    profile,
                    account,
                    source,
                    JournalState.INTENT.value,
                    ticket_to_json(ticket),
                    fingerprint,
                    description,
                    underlying,
                    now,
                    now,
                    str(ticket.quantity),
                    replaces_order_id,
                ),
            )
            self._append(db, intent, now, JournalState.INTENT, None, None, "intent recorded")
        entry = self.by_intent(intent)
        assert entry is not None
        return entry

    def transition(
        self,
        intent_id: str,
        state: JournalState,
        *,
        broker_id: int | None = None,
        broker_status: str | None = None,
        filled_quantity: Decimal | None = None,
        reject_reason: str | None = None,
        detail: str | None = None,
    ) -> JournalEntry | None:
        """Move an intent forward; returns the new entry, or None when nothing changed.

        A state that would move the intent backwards (a stale or duplicate push) is ignored,
        except that a newly learnt broker id or a larger filled quantity is still recorded.
        """
        now = self._now()
        with self._write() as db:
            row = db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE intent_id = ?", (intent_id,)
            ).fetchone()
            if row is None:
                raise JournalError(f"no journalled order intent {intent_id!r}")
            old = _entry(row)
            forward = _RANK[state] > _RANK[old.state] or (
                # SENT → UNKNOWN is the one same-rank move (the answer was lost).
                old.state is JournalState.SENT and state is JournalState.UNKNOWN
            )
            same_state_news = (
                state is old.state
                and not old.state.is_terminal
                and broker_status is not None
                and broker_status != old.broker_status
            )
            new_state = state if forward else old.state
            new_status = broker_status if (forward or same_state_news) else old.broker_status
            new_broker_id = old.broker_id if old.broker_id is not None else broker_id
            new_filled = old.filled_quantity
            if filled_quantity is not None and filled_quantity > new_filled:
                new_filled = filled_quantity
            new_reason = reject_reason if (forward and reject_reason) else old.reject_reason
            changed = (
                new_state is not old.state
                or new_status != old.broker_status
                or new_broker_id != old.broker_id
                or new_filled != old.filled_quantity
            )
            if not changed:
                return None
            db.execute(
                "UPDATE orders SET state = ?, broker_status = ?, broker_id = ?, "
                "filled_quantity = ?, reject_reason = ?, detail = COALESCE(?, detail), "
                "updated_at = ? WHERE intent_id = ?",
                (
                    new_state.value,
                    new_status,
                    new_broker_id,
                    str(new_filled),
                    new_reason,
                    detail,
                    now,
                    intent_id,
                ),
            )
            note = detail
            if reject_reason and forward:
                note = f"{detail}: {reject_reason}" if detail else reject_reason
            self._append(db, intent_id, now, new_state, new_status, new_filled, note)
        return self.by_intent(intent_id)

    def note(self, intent_id: str, detail: str) -> None:
        """Append an event without changing the state (e.g. "cancel requested")."""
        now = self._now()
        with self._write() as db:
            row = db.execute(
                "SELECT state, broker_status FROM orders WHERE intent_id = ?", (intent_id,)
            ).fetchone()
            if row is None:
                raise JournalError(f"no journalled order intent {intent_id!r}")
            db.execute(
                "UPDATE orders SET detail = ?, updated_at = ? WHERE intent_id = ?",
                (detail, now, intent_id),
            )
            self._append(
                db, intent_id, now, JournalState(row["state"]), row["broker_status"], None, detail
            )

    def _append(
        self,
        db: sqlite3.Connection,
        intent_id: str,
        at: str,
        state: JournalState,
        broker_status: str | None,
        filled: Decimal | None,
        detail: str | None,
    ) -> None:
        db.execute(
            "INSERT INTO events (intent_id, at, state, broker_status, filled_quantity, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                intent_id,
                at,
                state.value,
                broker_status,
                None if filled is None else str(filled),
                detail,
            ),
        )

    # Named steps of the pipeline (thin wrappers that read well at the call sites).

    def mark_sent(self, intent_id: str) -> JournalEntry | None:
        return self.transition(intent_id, JournalState.SENT, detail="sending")

    def mark_accepted(
        self, intent_id: str, broker_id: int, broker_status: str, filled: Decimal | None = None
    ) -> JournalEntry | None:
        state = state_for_status(broker_status)
        if _RANK[state] < _RANK[JournalState.ACCEPTED]:
            state = JournalState.ACCEPTED
        return self.transition(
            intent_id,
            state,
            broker_id=broker_id,
            broker_status=broker_status,
            filled_quantity=filled,
            detail=f"accepted as order #{broker_id}",
        )

    def mark_unknown(self, intent_id: str, why: str) -> JournalEntry | None:
        return self.transition(intent_id, JournalState.UNKNOWN, detail=why)

    def mark_not_sent(self, intent_id: str, why: str) -> JournalEntry | None:
        return self.transition(intent_id, JournalState.NOT_SENT, detail=why)

    def mark_rejected(self, intent_id: str, reason: str) -> JournalEntry | None:
        return self.transition(
            intent_id, JournalState.REJECTED, reject_reason=reason, detail="rejected"
        )

    def apply_broker_status(
        self,
        intent_id: str,
        broker_status: str,
        *,
        broker_id: int | None = None,
        filled_quantity: Decimal | None = None,
        reject_reason: str | None = None,
        detail: str | None = None,
    ) -> JournalEntry | None:
        """Record a status the broker reported (push or poll)."""
        return self.transition(
            intent_id,
            state_for_status(broker_status),
            broker_id=broker_id,
            broker_status=broker_status,
            filled_quantity=filled_quantity,
            reject_reason=reject_reason,
            detail=detail,
        )

    # ------------------------------------------------------------------ queries

    def _select(self, where: str, params: tuple[Any, ...], tail: str = "") -> list[JournalEntry]:
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE {where} {tail}", params
        ).fetchall()
        return [_entry(row) for row in rows]

    def by_intent(self, intent_id: str) -> JournalEntry | None:
        found = self._select("intent_id = ?", (intent_id,))
        return found[0] if found else None

    def by_broker_id(self, broker_id: int, profile: str | None = None) -> JournalEntry | None:
        if profile is None:
            found = self._select("broker_id = ?", (broker_id,), "ORDER BY created_at DESC")
        else:
            found = self._select(
                "broker_id = ? AND profile = ?", (broker_id, profile), "ORDER BY created_at DESC"
            )
        return found[0] if found else None

    def _in_states(
        self, states: tuple[JournalState, ...], profile: str | None
    ) -> list[JournalEntry]:
        marks = ", ".join("?" for _ in states)
        values: tuple[Any, ...] = tuple(s.value for s in states)
        where = f"state IN ({marks})"
        if profile is not None:
            where += " AND profile = ?"
            values = (*values, profile)
        return self._select(where, values, "ORDER BY created_at, intent_id")

    def unresolved(self, profile: str | None = None) -> list[JournalEntry]:
        """Intents whose outcome is not known: SENT (no answer yet) or UNKNOWN (answer lost)."""
        return self._in_states((JournalState.SENT, JournalState.UNKNOWN), profile)

    def interrupted(self, profile: str | None = None) -> list[JournalEntry]:
        """Intents still in INTENT: the process stopped before their POST left (never sent)."""
        return self._in_states((JournalState.INTENT,), profile)

    def working(self, profile: str | None = None) -> list[JournalEntry]:
        """Orders the broker accepted that have not ended."""
        return self._in_states((JournalState.ACCEPTED, JournalState.WORKING), profile)

    def recent(self, limit: int = 50, profile: str | None = None) -> list[JournalEntry]:
        """The newest intents first."""
        if profile is None:
            return self._select(
                "1 = 1", (), f"ORDER BY created_at DESC, rowid DESC LIMIT {limit:d}"
            )
        return self._select(
            "profile = ?", (profile,), f"ORDER BY created_at DESC, rowid DESC LIMIT {limit:d}"
        )

    def events(self, intent_id: str) -> list[JournalEvent]:
        rows = self._db.execute(
            "SELECT seq, intent_id, at, state, broker_status, filled_quantity, detail "
            "FROM events WHERE intent_id = ? ORDER BY seq",
            (intent_id,),
        ).fetchall()
        return [
            JournalEvent(
                row["seq"],
                row["intent_id"],
                datetime.fromisoformat(row["at"]),
                JournalState(row["state"]),
                row["broker_status"],
                None if row["filled_quantity"] is None else Decimal(row["filled_quantity"]),
                row["detail"],
            )
            for row in rows
        ]

    def states(self, intent_id: str) -> list[JournalState]:
        """The distinct states an intent went through, in order (for display and tests)."""
        out: list[JournalState] = []
        for event in self.events(intent_id):
            if not out or out[-1] is not event.state:
                out.append(event.state)
        return out


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        intent_id=row["intent_id"],
        profile=row["profile"],
        account=row["account"],
        source=row["source"],
        state=JournalState(row["state"]),
        ticket_json=row["ticket"],
        fingerprint=row["fingerprint"],
        description=row["description"],
        underlying=row["underlying"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        broker_id=row["broker_id"],
        broker_status=row["broker_status"],
        filled_quantity=Decimal(row["filled_quantity"]),
        quantity=Decimal(row["quantity"]),
        reject_reason=row["reject_reason"],
        replaces_order_id=row["replaces_order_id"],
        detail=row["detail"],
    )
