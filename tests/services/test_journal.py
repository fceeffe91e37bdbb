"""The order journal: private file, intents before sends, forward-only states, restart."""

from __future__ import annotations

import re
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tastytui.domain.clock import ManualClock
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.ticket import Ticket
from tastytui.services.journal import (
    Journal,
    JournalError,
    JournalState,
    state_for_status,
    ticket_from_json,
    ticket_to_json,
)

START = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
S = JournalState
D = Decimal


def vertical(price: str = "1.25") -> Ticket:
    return Ticket(
        legs=(
            Leg(
                InstrumentType.EQUITY_OPTION,
                "SPY   261218P00670000",
                OrderAction.SELL_TO_OPEN,
                Decimal(2),
            ),
            Leg(
                InstrumentType.EQUITY_OPTION,
                "SPY   261218P00665000",
                OrderAction.BUY_TO_OPEN,
                Decimal(2),
            ),
        ),
        price=Decimal(price),
    )


def record(journal: Journal, profile: str = "sim", source: str = "keys") -> str:
    entry = journal.record_intent(
        profile=profile,
        account="5WT00001",
        source=source,
        ticket=vertical(),
        fingerprint="f" * 64,
        description="2× SPY Short put vertical 670/665",
        underlying="SPY",
    )
    return entry.intent_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def journal(tmp_path: Path, clock: ManualClock) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", clock=clock) as j:
        yield j


def test_default_file_lives_in_a_private_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASTYTUI_DATA_DIR", str(tmp_path / "data"))
    with Journal() as journal:
        record(journal)
        assert journal.path == tmp_path / "data" / "journal.sqlite3"
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    for file in (tmp_path / "data").iterdir():
        # The database and any WAL/SHM side files: owner only.
        assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, file.name
    assert stat.S_IMODE((tmp_path / "data" / "journal.sqlite3").stat().st_mode) == 0o600


def test_an_existing_world_readable_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    Journal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_intent_ids_fit_the_external_identifier_and_are_unique(journal: Journal) -> None:
    ids = {journal.new_intent_id() for _ in range(200)}
    assert len(ids) == 200
    for intent in ids:
        assert re.fullmatch(r"tt-20261118150000-[0-9a-f]{8}", intent)
        assert len(intent) <= 36


def test_intent_stores_the_reviewed_ticket_and_who_sent_it(journal: Journal) -> None:
    intent = record(journal, source="chat")
    entry = journal.by_intent(intent)
    assert entry is not None
    assert entry.state is S.INTENT
    assert entry.ticket == vertical()
    assert (entry.account, entry.profile, entry.source) == ("5WT00001", "sim", "chat")
    assert entry.quantity == 2
    assert entry.created_at == START


def test_unknown_source_is_refused(journal: Journal) -> None:
    with pytest.raises(JournalError, match="keys, chat, cli"):
        record(journal, source="robot")


def test_ticket_json_round_trips_every_field() -> None:
    ticket = Ticket(
        legs=(Leg(InstrumentType.EQUITY, "AAPL", OrderAction.BUY_TO_OPEN, Decimal(100)),),
        order_type=OrderType.LIMIT,
        price=Decimal("-190.05"),
        time_in_force=TimeInForce.GTD,
        gtd_date=date(2026, 12, 1),
    )
    assert ticket_from_json(ticket_to_json(ticket)) == ticket


def test_pipeline_states_and_events_in_order(journal: Journal, clock: ManualClock) -> None:
    intent = record(journal)
    journal.mark_sent(intent)
    clock.advance(1)
    journal.mark_accepted(intent, 4242, "Received")
    journal.apply_broker_status(intent, "Live")
    journal.apply_broker_status(intent, "Live", filled_quantity=Decimal(1))
    journal.apply_broker_status(intent, "Filled", filled_quantity=Decimal(2))
    entry = journal.by_intent(intent)
    assert entry is not None
    assert entry.state is S.FILLED
    assert (entry.broker_id, entry.broker_status, entry.filled_quantity) == (4242, "Filled", D(2))
    assert journal.states(intent) == [S.INTENT, S.SENT, S.ACCEPTED, S.WORKING, S.FILLED]
    fills = [e.filled_quantity for e in journal.events(intent) if e.broker_status == "Live"]
    assert fills == [Decimal(0), Decimal(1)], "the partial fill is its own event"
    assert journal.by_broker_id(4242) == entry


def test_a_late_push_never_moves_an_order_back(journal: Journal) -> None:
    intent = record(journal)
    journal.mark_sent(intent)
    journal.mark_accepted(intent, 7, "Received")
    journal.apply_broker_status(intent, "Filled", filled_quantity=Decimal(2))
    events = len(journal.events(intent))
    assert journal.apply_broker_status(intent, "Live") is None
    assert journal.apply_broker_status(intent, "Cancelled") is None
    assert journal.mark_accepted(intent, 7, "Received") is None
    entry = journal.by_intent(intent)
    assert entry is not None and entry.state is S.FILLED and entry.broker_status == "Filled"
    assert len(journal.events(intent)) == events


def test_a_push_before_the_post_answer_keeps_the_later_state(journal: Journal) -> None:
    intent = record(journal)
    journal.mark_sent(intent)
    journal.apply_broker_status(intent, "Live", broker_id=9)  # the push came first
    journal.mark_accepted(intent, 9, "Received")  # then the POST returned
    entry = journal.by_intent(intent)
    assert entry is not None and entry.state is S.WORKING and entry.broker_status == "Live"


def test_rejection_keeps_the_reason(journal: Journal) -> None:
    intent = record(journal)
    journal.mark_sent(intent)
    journal.mark_accepted(intent, 11, "Received")
    journal.apply_broker_status(intent, "Rejected", reject_reason="Exchange halted SPY options")
    entry = journal.by_intent(intent)
    assert entry is not None
    assert entry.state is S.REJECTED
    assert entry.reject_reason == "Exchange halted SPY options"
    assert "Exchange halted SPY options" in (journal.events(intent)[-1].detail or "")


def test_status_mapping_covers_every_tastytrade_status() -> None:
    assert state_for_status("Received") is S.ACCEPTED
    for working in ("Routed", "In Flight", "Live", "Contingent", "Cancel Requested"):
        assert state_for_status(working) is S.WORKING
    assert state_for_status("Filled") is S.FILLED
    assert state_for_status("Expired") is S.EXPIRED
    assert state_for_status("Rejected") is S.REJECTED
    assert state_for_status("Partially Removed") is S.CANCELLED


def test_queries_filter_by_state_and_profile(journal: Journal, clock: ManualClock) -> None:
    sent = record(journal)
    journal.mark_sent(sent)
    clock.advance(1)
    unknown = record(journal)
    journal.mark_sent(unknown)
    journal.mark_unknown(unknown, "502")
    clock.advance(1)
    working = record(journal)
    journal.mark_sent(working)
    journal.mark_accepted(working, 5, "Live")
    clock.advance(1)
    refused = record(journal)
    journal.mark_not_sent(refused, "breaker open")
    clock.advance(1)
    other = record(journal, profile="cert")
    journal.mark_sent(other)

    assert [e.intent_id for e in journal.unresolved("sim")] == [sent, unknown]
    assert [e.intent_id for e in journal.unresolved()] == [sent, unknown, other]
    assert [e.intent_id for e in journal.working("sim")] == [working]
    assert journal.by_broker_id(5, "cert") is None
    assert [e.intent_id for e in journal.recent(2, "sim")] == [refused, working]
    assert journal.by_intent("tt-nope") is None


def test_events_are_append_only(journal: Journal) -> None:
    intent = record(journal)
    db = sqlite3.connect(journal.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE events SET detail = 'edited' WHERE intent_id = ?", (intent,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events")
    finally:
        db.close()


def test_transition_of_an_unknown_intent_is_an_error(journal: Journal) -> None:
    with pytest.raises(JournalError, match="tt-missing"):
        journal.mark_sent("tt-missing")


def test_a_sent_intent_survives_a_crash(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal(path, clock=clock)
    intent = record(first)
    first.mark_sent(intent)
    # No close(): the process "dies" with the POST in flight.
    del first
    again = Journal(path, clock=clock)
    try:
        (entry,) = again.unresolved("sim")
        assert entry.intent_id == intent and entry.state is S.SENT
        assert entry.ticket == vertical()
    finally:
        again.close()
