"""The secondary screens against the simulator: history (F5), net liq (F6), findings (F7), help.

Every test drives the real console over loopback; waits poll an observable condition under an
overall timeout (the machine is slow and shared), never a fixed sleep.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Console
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from tastytui.ui.screens.findings import FindingsScreen
from tastytui.ui.screens.help import HelpScreen
from tastytui.ui.screens.history import HistoryScreen
from tastytui.ui.screens.netliq import NetLiqScreen
from tastytui.ui.widgets.line_chart import LineChart, plot
from tastytui.ui.widgets.status_bar import StatusBar
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready

MARGIN, CASH = "5WT00001", "5WT00002"
HOSTILE = "[bold]x[/] \x1b]52;c;aGVsbG8=\x07 \x1b[31mred"


def text_of(widget: Static) -> str:
    return str(widget.render())


def shown(widget: Widget) -> bool:
    return bool(widget.display)


def cells(table: DataTable[Any]) -> list[list[str]]:
    rows = []
    for index in range(table.row_count):
        rows.append([c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(index)])
    return rows


def column(table: DataTable[Any], key: str) -> list[str]:
    index = [str(k.value) for k in table.columns].index(key)
    return [row[index] for row in cells(table)]


# ---------------------------------------------------------------------- history


async def test_history_lists_transactions_and_filters_narrow_them(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("f5")
            screen = app.screen
            assert isinstance(screen, HistoryScreen)
            await until(pilot, lambda: screen.txns.state == "ready")
            table = screen.query_one("#txn-table", DataTable)
            await until(pilot, lambda: table.row_count > 0)
            # 30 days by default: the seeded option trades, not the stock bought 32 days ago.
            default = cells(table)
            assert any("NVDA" in " ".join(r) for r in default)
            assert "9 transactions" in text_of(screen.query_one("#txn-status", Static))

            # F2 cycles the range (30d → 90d → YTD → 1y → All): All reaches the deposit.
            for _ in range(4):
                await pilot.press("f2")
            assert screen.range == "all"
            await until(
                pilot,
                lambda: screen.txns.state == "ready" and screen.txns.loaded_for == (MARGIN, "all"),
            )
            await until(pilot, lambda: table.row_count > len(default))
            everything = cells(table)
            assert any("ACH deposit" in " ".join(r) for r in everything)
            assert any(r[2] == "AAPL" for r in everything)  # the stock trade, 32 days ago

            # The symbol filter narrows at once, without a new request.
            await pilot.press("slash")
            assert isinstance(app.focused, Input)
            await pilot.press(*"aapl")
            await until(pilot, lambda: 0 < table.row_count < len(everything))
            assert all("AAPL" in " ".join(r) for r in cells(table))
            status = text_of(screen.query_one("#txn-status", Static))
            assert f"{table.row_count} of {len(everything)} transactions" in status

            # Type filter (F3 → Trade): the deposit and other money movements go away.
            await pilot.press("enter")  # back to the table
            screen.query_one("#symbol", Input).value = ""
            await until(pilot, lambda: table.row_count == len(everything))
            await pilot.press("f3")
            await until(pilot, lambda: table.row_count < len(everything))
            assert screen.txn_type == "Trade"
            assert not any("deposit" in " ".join(r).lower() for r in cells(table))

            # A filter that matches nothing says so and how to get out of it.
            screen.query_one("#symbol", Input).value = "ZZZZ"
            empty = screen.query_one("#txn-empty", Static)
            await until(pilot, lambda: bool(empty.display))
            assert "No transactions match" in text_of(empty)
            assert not table.display

            # Escape closes the screen; F5 twice does not stack two history screens.
            await pilot.press("escape")
            assert not isinstance(app.screen, HistoryScreen)
            await pilot.press("f5")
            await pilot.press("f5")
            assert sum(isinstance(s, HistoryScreen) for s in app.screen_stack) == 1


async def test_history_orders_tab_lists_orders_and_filters_by_status(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("f5")
            screen = app.screen
            assert isinstance(screen, HistoryScreen)
            await pilot.press("f4")
            table = screen.query_one("#order-table", DataTable)
            await until(pilot, lambda: screen.orders.state == "ready" and table.row_count > 0)
            statuses = column(table, "status")
            assert "Cancelled" in statuses and "Filled" in statuses
            rows = cells(table)
            tsla = next(r for r in rows if r[2] == "TSLA")
            assert "BTO 10 TSLA" in tsla[3] and tsla[4].endswith("db")
            spread = next(r for r in rows if r[2] == "SPY")
            assert spread[3].count("SPY") == 2  # both legs of the put spread

            await pilot.press("f3")  # status: Filled
            await until(pilot, lambda: table.row_count == len(rows) - 1)
            assert set(column(table, "status")) == {"Filled"}
            assert "5 of 6 orders" in text_of(screen.query_one("#order-status-line", Static))


async def test_history_follows_the_account_and_survives_a_failed_load(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("f5")
            screen = app.screen
            assert isinstance(screen, HistoryScreen)
            table = screen.query_one("#txn-table", DataTable)
            await until(pilot, lambda: screen.txns.state == "ready" and table.row_count > 0)
            loaded = cells(table)

            # A broker error keeps the rows shown and says how to retry.
            assert sim.server is not None
            control = sim.server.control
            sim.run(
                lambda: control.http_fault(
                    400, count=1, path_prefix=f"/accounts/{MARGIN}/transactions"
                )
            )
            await pilot.press("f5")
            await until(pilot, lambda: screen.txns.state == "error")
            status = text_of(screen.query_one("#txn-status", Static))
            assert "Could not read transactions" in status and "f5 retries" in status
            assert cells(table) == loaded and table.display
            await pilot.press("f5")
            await until(pilot, lambda: screen.txns.state == "ready")

            # A slow broker: the tab says it is loading (and keeps the rows) until it answers.
            sim.run(
                lambda: control.http_fault(
                    None, count=1, delay=2.0, path_prefix=f"/accounts/{MARGIN}/transactions"
                )
            )
            await pilot.press("f5")
            status = text_of(screen.query_one("#txn-status", Static))
            assert f"Loading transactions for {MARGIN}" in status
            assert cells(table) == loaded
            await until(pilot, lambda: screen.txns.state == "ready")

            # F9 switches the account while the screen is open: the screen and the status
            # bar follow (the cash account holds KO).
            await pilot.press("f9")
            await until(pilot, lambda: screen.account == CASH)
            await until(
                pilot,
                lambda: (
                    screen.txns.state == "ready"
                    and screen.txns.loaded_for is not None
                    and screen.txns.loaded_for[0] == CASH
                ),
            )
            screen.query_one("#range").value = "all"  # type: ignore[attr-defined]
            await until(pilot, lambda: screen.txns.loaded_for == (CASH, "all"))
            assert any(r[2] == "KO" for r in cells(table))
            assert CASH in screen.query_one(StatusBar).render().plain
            assert CASH in text_of(screen.query_one("#history-account", Static))


async def test_history_broker_text_is_inert(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("f5")
            screen = app.screen
            assert isinstance(screen, HistoryScreen)
            await until(pilot, lambda: screen.txns.state == "ready")
            hostile = SimpleNamespace(
                id=999_999,
                transaction_type="Receive Deliver",
                transaction_sub_type=HOSTILE,
                description=HOSTILE,
                executed_at=datetime(2026, 11, 18, 15, 0, tzinfo=UTC),
                symbol="[red]EVIL[/]",
                underlying_symbol="EVIL",
                quantity=Decimal(1),
                price=Decimal("1.5"),
                net_value=Decimal("-150"),
                commission=None,
                clearing_fees=None,
                regulatory_fees=None,
                proprietary_index_option_fees=None,
            )
            screen.txns.rows.insert(0, hostile)
            screen.query_one("#symbol", Input).value = "evil"
            table = screen.query_one("#txn-table", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            row = cells(table)[0]
            assert row[2] == "[red]EVIL[/]"  # markup shown literally
            assert row[7].startswith("[bold]x[/]")
            assert not any("\x1b" in c or "\x07" in c for c in row)


# ---------------------------------------------------------------------- net liq


async def test_netliq_draws_the_chart_with_labels_and_periods(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("f6")
            screen = app.screen
            assert isinstance(screen, NetLiqScreen)
            await until(pilot, lambda: screen.state == "ready")
            chart = screen.query_one(LineChart)
            lines = ["".join(t for t, _ in row) for row in chart.rows()]
            assert len(lines) == chart.size.height
            assert lines[0].lstrip().startswith("$") and "┤" in lines[0]  # money axis
            assert "└" in lines[-2] and "┬" in lines[-2]  # x axis with ticks
            assert "Oct" in lines[-1] and "Nov" in lines[-1]  # one month of dates
            assert any(0x2800 < ord(ch) <= 0x28FF for line in lines for ch in line)
            summary = text_of(screen.query_one("#netliq-summary", Static))
            assert "Net liq $" in summary and "1m change" in summary and "%" in summary
            assert MARGIN in summary

            # Shorter periods: one week (asked with a start time) and one day (intraday).
            await pilot.press("left")
            await until(pilot, lambda: screen.period.key == "1w" and screen.state == "ready")
            assert 3 <= len(screen.samples) <= 8
            await pilot.press("left")
            await until(pilot, lambda: screen.period.key == "1d" and screen.state == "ready")
            lines = ["".join(t for t, _ in row) for row in chart.rows()]
            assert ":" in lines[-1]  # hours on the x axis
            await pilot.press("right", "right", "right")
            await until(pilot, lambda: screen.period.key == "3m" and screen.state == "ready")
            assert len(screen.samples) > 40

            # A failed load says what went wrong and how to retry; the retry works.
            assert sim.server is not None
            control = sim.server.control
            sim.run(
                lambda: control.http_fault(400, count=1, path_prefix=f"/accounts/{MARGIN}/net-liq")
            )
            await pilot.press("r")
            await until(pilot, lambda: screen.state == "error")
            assert "Could not read the net-liq history" in text_of(
                screen.query_one("#netliq-summary", Static)
            )
            assert "r retries" in text_of(screen.query_one("#netliq-empty", Static))
            await pilot.press("r")
            await until(pilot, lambda: screen.state == "ready")
            assert shown(chart)


# ---------------------------------------------------------------------- findings


async def test_findings_show_a_silent_closure_halt_and_resume(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            services = app.services
            assert services is not None
            await pilot.press("f7")
            screen = app.screen
            assert isinstance(screen, FindingsScreen)
            empty = screen.query_one("#findings-empty", Static)
            await until(pilot, lambda: "No findings — last reconciliation at" in text_of(empty))
            banner = screen.query_one("#halted", Static)
            assert not shown(banner)

            assert sim.server is not None
            control = sim.server.control
            sim.run(lambda: control.close_position_silently(MARGIN, "AAPL"))
            await pilot.press("r")  # reconcile now
            table = screen.query_one("#findings-table", DataTable)
            await until(pilot, lambda: not screen.running and table.row_count > 0)
            row = cells(table)[0]
            assert row[1] == MARGIN and row[2] == "VANISHED (risk)" and row[3] == "AAPL"
            assert row[4] == "+100" and row[5] == "—"
            assert shown(banner)
            assert "New orders halted" in text_of(banner) and "AAPL" in text_of(banner)
            assert "Press ^r to resume new orders" in text_of(banner)
            reconciler = services.reconciler

            def halted() -> str | None:
                return reconciler.halted

            assert halted() is not None
            assert "ORDERS HALTED" in screen.query_one(StatusBar).render().plain

            await pilot.press("ctrl+r")
            await until(pilot, lambda: not shown(banner))
            assert halted() is None
            assert services.health.snapshot.orders_halted is None
            assert table.row_count > 0  # the finding stays for the record


# ---------------------------------------------------------------------- help


async def test_help_lists_every_key_with_remaps_and_scrolls(tmp_path: Path) -> None:
    from tastytui.ui import keymap

    with SimThread(picture_sim_config()) as sim:
        app = make_app(
            sim.base_url,
            tmp_path,
            clock=sim.config.clock,
            config_text='[ui.keys]\n"findings.run" = "ctrl+k"\n',
        )
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("f1")
            screen = app.screen
            assert isinstance(screen, HelpScreen)
            content = screen.query(Static).first().content
            console = Console(width=110, record=True, file=io.StringIO())
            console.print(content)
            table = console.export_text()
            for action in keymap.ACTIONS:
                assert action.id in table, action.id
            line = next(ln for ln in table.splitlines() if "findings.run" in ln)
            assert "^k" in line and "(your key)" in line
            assert "Reconciliation findings screen" in table
            scroll = screen.query_one(VerticalScroll)
            assert scroll.max_scroll_y > 0
            await pilot.press("pagedown")
            await until(pilot, lambda: scroll.scroll_y > 0)
            await pilot.press("escape")

            # The remapped key works on the findings screen.
            await pilot.press("f7")
            findings = app.screen
            assert isinstance(findings, FindingsScreen)
            assert app.services is not None
            runs = app.services.reconciler.runs
            await pilot.press("ctrl+k")
            await until(
                pilot,
                lambda: (
                    app.services is not None
                    and app.services.reconciler.runs > runs
                    and not findings.running
                ),
            )


# ---------------------------------------------------------------------- chart layout


def test_chart_layout_labels_both_axes_and_fits_the_box() -> None:
    values = [100_000.0 + 250 * (i % 7) for i in range(30)]
    labels = [f"Nov {i + 1:02d}" for i in range(30)]
    rows = plot(values, labels, 80, 12)
    lines = ["".join(t for t, _ in row) for row in rows]
    assert len(lines) == 12 and all(len(line) == 80 for line in lines)
    assert lines[0].startswith("$101,500") and lines[9].lstrip().startswith("$100,000")
    assert "Nov 01" in lines[-1] and "Nov 30" in lines[-1]
    # Flat series and one sample still draw (no division by zero), tiny boxes say why.
    flat = ["".join(t for t, _ in r) for r in plot([5.0] * 3, ["a"] * 3, 40, 8)]
    assert any("⠉" in line for line in flat)
    assert "".join(t for t, _ in plot([1.0], ["x"], 40, 8)[-1]).strip() == "x"
    assert "enlarge" in "".join(t for t, _ in plot(values, labels, 10, 3)[0])
