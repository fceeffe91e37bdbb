"""Fill tracking: pushes and polling, partial fills, cancels, stale pushes, the poll schedule."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from pathlib import Path

import pytest
from tastytrade import AlertStreamer
from tastytrade.order import OrderStatus, PlacedOrder

from tastytui.domain.clock import ManualClock
from tastytui.domain.ticket import PriceMode
from tastytui.services.errors import BrokerRejected
from tastytui.services.events import EventBus, Level, OrderEvent
from tastytui.services.fills import FillTracker, poll_interval
from tastytui.services.journal import JournalState
from tests.conftest import SIM_START, SimFactory
from tests.services.test_orders import ACCOUNT, Rig, order_rig, until

S = JournalState


def statuses(rig: Rig, order_id: int) -> list[str]:
    return [e.status for e in rig.order_events if e.order_id == order_id]


# ------------------------------------------------------------------------------ the schedule


def test_poll_interval_is_5s_then_15s_then_60s() -> None:
    assert [poll_interval(t) for t in (0, 5, 29.9)] == [5, 5, 5]
    assert [poll_interval(t) for t in (30, 45, 59.9)] == [15, 15, 15]
    assert [poll_interval(t) for t in (60, 120, 3600)] == [60, 60, 60]


class CountingTracker(FillTracker):
    """Records when (on the tracker's clock) each REST poll happened."""

    polled_at: list[float]

    async def fetch(self, account: str, order_id: int) -> PlacedOrder:
        self.polled_at.append(self.clock.monotonic())
        return await super().fetch(account, order_id)


async def test_polling_runs_on_the_schedule_measured_from_tracking_start(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="never", polling=False) as rig:
        sent = await rig.service.send(await rig.service.review(rig.vertical(), ACCOUNT))
        clock = ManualClock(SIM_START)
        sleeps: list[float] = []
        reached = asyncio.Event()

        async def sleep(seconds: float) -> None:
            # Minutes of schedule in milliseconds: the clock jumps instead of waiting.
            sleeps.append(seconds)
            clock.advance(seconds)
            if sum(sleeps) >= 180:
                reached.set()
            await asyncio.sleep(0)

        events = EventBus()
        seen: list[OrderEvent] = []
        events.subscribe(seen.append, OrderEvent)
        tracker = CountingTracker(rig.broker, rig.journal, events, clock, sleep=sleep)
        tracker.polled_at = []
        start = clock.monotonic()
        tracker.track(sent.intent_id, sent.order)
        worker = asyncio.create_task(tracker.run_polling())
        try:
            await asyncio.wait_for(reached.wait(), 30)
        finally:
            worker.cancel()
            with suppress(asyncio.CancelledError):
                await worker
        assert sleeps[:10] == [5, 5, 5, 5, 5, 5, 15, 15, 60, 60]
        elapsed = [round(t - start) for t in tracker.polled_at]
        assert elapsed[:9] == [5, 10, 15, 20, 25, 30, 45, 60, 120]
        assert [(e.previous_status, e.status) for e in seen] == [
            (None, "Received"),
            ("Received", "Live"),
        ], "only changes are published, not every poll"
        assert tracker.is_tracking(sent.order_id)


# ------------------------------------------------------------------------------ outcomes


async def test_never_filled_then_cancelled_is_surfaced(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="never") as rig:
        sent = await rig.service.send(await rig.service.review(rig.vertical(), ACCOUNT))
        await until(lambda: rig.state(sent.intent_id) is S.WORKING)
        assert rig.fills.is_tracking(sent.order_id)

        after = await rig.service.cancel(ACCOUNT, sent.order_id)

        assert after.status == OrderStatus.CANCELLED
        assert rig.state(sent.intent_id) is S.CANCELLED
        assert statuses(rig, sent.order_id)[-1] == "Cancelled"
        cancelled = [e for e in rig.order_events if e.status == "Cancelled"]
        assert cancelled[0].previous_status == "Live" and cancelled[0].filled_quantity == 0
        assert any(t.startswith(f"Cancelled: #{sent.order_id}") for t in rig.texts(Level.INFO))
        details = [e.detail for e in rig.journal.events(sent.intent_id)]
        assert "cancel requested" in details
        assert not rig.fills.is_tracking(sent.order_id)
        with pytest.raises(BrokerRejected, match="cannot be cancelled"):
            await rig.service.cancel(ACCOUNT, sent.order_id)


async def test_partial_fill_is_surfaced_then_the_fill_from_pushes_alone(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="partial", polling=False) as rig:
        streamer: AlertStreamer = rig.broker.alert_streamer()

        async def pump() -> None:
            async for order in streamer.listen(PlacedOrder):
                rig.fills.on_order(order)  # what the account-stream service does

        async with streamer:
            await streamer.subscribe_accounts(rig.broker.accounts)
            task = asyncio.create_task(pump())
            try:
                review = await rig.service.review(
                    rig.vertical(2), ACCOUNT, price_mode=PriceMode.NATURAL
                )
                sent = await rig.service.send(review)
                await until(lambda: rig.state(sent.intent_id) is S.FILLED)
            finally:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        mine = [e for e in rig.order_events if e.order_id == sent.order_id]
        partial = [e for e in mine if e.status == "Live" and e.filled_quantity == 1]
        assert partial and partial[0].quantity == 2
        assert mine[-1].status == "Filled" and mine[-1].filled_quantity == 2
        texts = rig.texts(Level.INFO)
        assert any(t.startswith(f"Partially filled: 1 of 2 — #{sent.order_id}") for t in texts)
        assert any(t.startswith(f"Filled: #{sent.order_id}") for t in texts)
        entry = rig.journal.by_intent(sent.intent_id)
        assert entry is not None and entry.filled_quantity == 2
        fills = [e.filled_quantity for e in rig.journal.events(sent.intent_id)]
        assert 1 in fills, "the partial fill is journalled on its own"


async def test_polling_alone_finds_a_delayed_fill(make_sim: SimFactory, tmp_path: Path) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="delayed", fill_delay=0.3) as rig:
        review = await rig.service.review(rig.vertical(), ACCOUNT, price_mode=PriceMode.NATURAL)
        sent = await rig.service.send(review)
        assert sent.status == "Received", "acknowledged is not filled"
        await until(lambda: rig.state(sent.intent_id) is S.FILLED)
        assert rig.sim.control.state()["account-sessions"] == 0, "no account stream at all"
        assert statuses(rig, sent.order_id)[0] == "Received"
        assert statuses(rig, sent.order_id)[-1] == "Filled"
        assert any(t.startswith(f"Filled: #{sent.order_id}") for t in rig.texts(Level.INFO))


# ------------------------------------------------------------------------------ ordering


async def test_stale_and_duplicate_pushes_never_regress(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="never", polling=False) as rig:
        sent = await rig.service.send(await rig.service.review(rig.vertical(), ACCOUNT))
        live = sent.order.model_copy(update={"status": OrderStatus.LIVE})
        filled = sent.order.model_copy(update={"status": OrderStatus.FILLED})

        for push in (live, live, filled, live, sent.order, filled):
            rig.fills.on_order(push)

        assert statuses(rig, sent.order_id) == ["Received", "Live", "Filled"]
        entry = rig.journal.by_intent(sent.intent_id)
        assert entry is not None
        assert entry.state is S.FILLED and entry.broker_status == "Filled"
        assert not rig.fills.is_tracking(sent.order_id)


async def test_a_push_before_the_post_answer_starts_tracking_without_regressing(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="never", polling=False) as rig:
        template = (await rig.service.send(await rig.service.review(rig.vertical(), ACCOUNT))).order
        review = await rig.service.review(rig.vertical(), ACCOUNT)
        entry = rig.journal_sent(review)
        pushed = template.model_copy(
            update={
                "id": 987_654,
                "status": OrderStatus.LIVE,
                "external_identifier": entry.intent_id,
            }
        )

        rig.fills.on_order(pushed)  # the stream was faster than the POST's answer

        assert rig.fills.is_tracking(987_654)
        adopted = rig.journal.by_intent(entry.intent_id)
        assert adopted is not None and adopted.state is S.WORKING and adopted.broker_id == 987_654
        answer = pushed.model_copy(update={"status": OrderStatus.RECEIVED})
        rig.journal.mark_accepted(entry.intent_id, 987_654, "Received")
        rig.fills.track(entry.intent_id, answer)
        assert statuses(rig, 987_654) == ["Live"]
        final = rig.journal.by_intent(entry.intent_id)
        assert final is not None and final.state is S.WORKING and final.broker_status == "Live"

        foreign = template.model_copy(update={"id": 555, "external_identifier": None})
        rig.fills.on_order(foreign)  # placed elsewhere (web, phone): not ours to track
        assert not rig.fills.is_tracking(555) and statuses(rig, 555) == []


async def test_resume_after_restart_tracks_working_orders_again(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    async with order_rig(make_sim, tmp_path, fill_model="never") as rig:
        sent = await rig.service.send(await rig.service.review(rig.vertical(), ACCOUNT))
        await until(lambda: rig.state(sent.intent_id) is S.WORKING)
        events = EventBus()
        seen: list[OrderEvent] = []
        events.subscribe(seen.append, OrderEvent)
        fresh = FillTracker(rig.broker, rig.journal, events, rig.clock, schedule=lambda _: 0.0)
        assert fresh.resume() == 1 and fresh.is_tracking(sent.order_id)
        assert await fresh.poll_due() == 1
        assert [(e.order_id, e.previous_status, e.status) for e in seen] == [
            (sent.order_id, None, "Live")
        ]
