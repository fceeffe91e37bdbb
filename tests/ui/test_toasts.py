"""A burst of notices never stacks more than a handful of toasts; errors outlive information."""

from __future__ import annotations

from pathlib import Path

from textual.notifications import Notification

from tastytui.ui.toasts import MAX_TOASTS, NoticeSlot, to_retire
from tests.ui.harness import (
    SimThread,
    make_app,
    picture_sim_config,
    shown_notices,
    until,
    wait_ready,
)


def test_the_least_severe_oldest_toasts_make_room() -> None:
    error = Notification("order rejected", severity="error")
    infos = [Notification(f"filled #{i}") for i in range(4)]
    warning = Notification("DXLink reconnecting", severity="warning")
    shown = [infos[0], error, infos[1], warning, infos[2]]
    assert to_retire(shown[:3]) == []
    assert to_retire(shown) == [infos[0]]
    assert to_retire([*shown, infos[3]]) == [infos[0], infos[1]]
    assert to_retire([error, warning, error, warning, error]) == [warning]


async def test_a_burst_of_notices_shows_the_newest_few(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(160, 45), notifications=True) as pilot:
            await wait_ready(pilot)
            app.notify("Order #1 rejected: no buying power", severity="error", timeout=60)
            for i in range(2, 40):
                app.notify(f"Order #{i} filled", timeout=60)
            await pilot.pause(0.3)
            toasts = shown_notices(app)
            assert len(toasts) == MAX_TOASTS
            shown = {str(t.render()) for t in toasts}
            assert "Order #1 rejected: no buying power" in shown  # the error stays
            assert "Order #39 filled" in shown  # and the newest is there


async def test_notices_reuse_their_slots_expire_and_close_on_click(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(160, 45), notifications=True) as pilot:
            await wait_ready(pilot)
            for i in range(30):
                app.notify(f"Order #{i} filled", timeout=60)
            await pilot.pause(0.3)
            slots = list(app.screen.query(NoticeSlot))
            # A busy session mounts nothing per notice: the same few widgets show the newest.
            assert len(slots) == MAX_TOASTS
            app.notify("DXLink reconnecting", severity="warning", timeout=0.3)
            await until(pilot, lambda: "DXLink reconnecting" in texts(app))
            assert app.screen.query(NoticeSlot).nodes == slots
            warning = next(s for s in shown_notices(app) if "DXLink" in str(s.render()))
            assert warning.has_class("-warning")
            await until(pilot, lambda: "DXLink reconnecting" not in texts(app))  # expired
            first = shown_notices(app)[0]
            gone = str(first.render())
            await pilot.click(first)
            await until(pilot, lambda: gone not in texts(app))
            assert len(shown_notices(app)) == MAX_TOASTS - 2


def texts(app: object) -> list[str]:
    return [str(slot.render()) for slot in shown_notices(app)]
