"""The option chain pane: expiration selector, the chain grid, and the cursor's contract.

The chain itself is fetched in a worker (it is slow: "loading SPY chain…"); the grid then reads
live values from the QuoteStore at the flush rate.  Keys on a cell add a leg to the order
builder; ``t`` builds a strategy template around the money of the expiration on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import Static

from tastytui.domain.chain import ChainExpiration, OptionChain
from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.strategies import StrategyError, StrategyKind, build_template, describe
from tastytui.domain.symbols import (
    OptionSymbol,
    OptionType,
    SymbolError,
    format_strike,
    normalize_equity,
    parse_occ,
)
from tastytui.domain.ticket import Ticket
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.messages import AddLeg, StageTicket
from tastytui.ui.widgets.chain_grid import (
    ChainGrid,
    Feed,
    check_columns,
    contracts_near,
)
from tastytui.ui.widgets.pane import Pane

if TYPE_CHECKING:
    from tastytui.services.accounts import AccountService, ExpirationInfo
    from tastytui.ui.screens.template import TemplateChoice

_UNDERLYING_KINDS = ("Quote", "Trade", "Summary")
#: How long a by-delta template waits for the greeks it asked for.
_DELTA_WAIT = 5.0
#: How long loading waits for the underlying's first quote (to centre on the money).
_SPOT_WAIT = 3.0
#: How often it looks: the quote's subscription goes out while the chain's JSON is parsed, so
#: it usually lands a millisecond or two after the chain (each poll costs a dict lookup).
_SPOT_POLL = 0.002


class ExpirationBar(Widget):
    """Two lines: the chosen expiration in full, then every expiration with its DTE."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "expiration-bar--symbol",
        "expiration-bar--selected",
        "expiration-bar--monthly",
        "expiration-bar--weekly",
        "expiration-bar--dim",
        "expiration-bar--warn",
    }
    DEFAULT_CSS = """
    ExpirationBar { height: 2; }
    ExpirationBar > .expiration-bar--symbol { text-style: bold; }
    ExpirationBar > .expiration-bar--selected {
        background: $primary; color: $text; text-style: bold;
    }
    ExpirationBar > .expiration-bar--monthly { color: $accent; text-style: bold; }
    ExpirationBar > .expiration-bar--weekly { color: $muted; }
    ExpirationBar > .expiration-bar--dim { color: $muted; }
    ExpirationBar > .expiration-bar--warn { color: $warning; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.symbol = ""
        self.spot: float | None = None
        self.infos: list[ExpirationInfo] = []
        self.index = 0
        self.status = ""

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"expiration-bar--{name}", partial=True)

    def selected_text(self) -> str:
        """The first line as plain text (tests, screen readers of screenshots)."""
        return self.render().plain.split("\n", 1)[0]

    def render(self) -> Text:
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(f" {self.symbol or '—'} ", self._style("symbol"))
        top.append(fmt.num(self.spot) if self.spot is not None else "—")
        if self.status:
            top.append(f"  {self.status}", self._style("warn"))
        if self.infos:
            info = self.infos[self.index]
            exp = info.expiration
            top.append(f"  {exp.expiration:%a %d %b %Y}", self._style("symbol"))
            top.append(f"  {info.dte} DTE", self._style("symbol"))
            # Expiration type, settlement and root are broker text: shown inert.
            kind = "Monthly" if exp.is_monthly else fmt.clean(exp.expiration_type, max_length=14)
            top.append(f"  {kind}", self._style("monthly" if exp.is_monthly else "weekly"))
            top.append(f" · {fmt.clean(exp.settlement, max_length=4)}", self._style("dim"))
            if exp.root != self.symbol:
                top.append(f" · {fmt.clean(exp.root, max_length=8)}", self._style("dim"))
            top.append("  exp. move ", self._style("dim"))
            move = info.expected_move
            top.append(f"±{fmt.num(move)}" if move is not None else "—")
            top.append(f"  [{self.index + 1}/{len(self.infos)}]", self._style("dim"))
        return Text("\n").join([top, self._strip_line()])

    def _label(self, info: ExpirationInfo) -> str:
        exp = info.expiration
        root = f" {fmt.clean(exp.root, max_length=8)}" if exp.root != self.symbol else ""
        return f"{exp.expiration:%b %d}{root} {info.dte}d{' M' if exp.is_monthly else ''}"

    def _strip_line(self) -> Text:
        line = Text(no_wrap=True, overflow="crop")
        if not self.infos:
            return line
        labels = [f" {self._label(info)} " for info in self.infos]
        width = max(20, self.size.width - 4)
        # Grow a window around the selection, alternating right and left, until it fills.
        lo = hi = self.index
        used = len(labels[self.index])
        grew = True
        while grew:
            grew = False
            if hi + 1 < len(labels) and used + len(labels[hi + 1]) + 1 <= width:
                hi += 1
                used += len(labels[hi]) + 1
                grew = True
            if lo > 0 and used + len(labels[lo - 1]) + 1 <= width:
                lo -= 1
                used += len(labels[lo]) + 1
                grew = True
        line.append("‹ " if lo > 0 else "  ", self._style("dim"))
        for i in range(lo, hi + 1):
            exp = self.infos[i].expiration
            if i == self.index:
                style = self._style("selected")
            else:
                style = self._style("monthly" if exp.is_monthly else "weekly")
            line.append(labels[i], style)
            if i < hi:
                line.append("│", self._style("dim"))
        if hi < len(labels) - 1:
            line.append(" ›", self._style("dim"))
        return line


class ChainInfo(Widget):
    """One line about the contract under the cursor: its market, greeks and data age."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chain-info--label",
        "chain-info--dim",
        "chain-info--stale",
        "chain-info--bid",
        "chain-info--ask",
    }
    DEFAULT_CSS = """
    ChainInfo { height: 1; }
    ChainInfo > .chain-info--label { text-style: bold; }
    ChainInfo > .chain-info--dim { color: $muted; }
    ChainInfo > .chain-info--stale { color: $stale; text-style: italic; }
    ChainInfo > .chain-info--bid { color: $bid; }
    ChainInfo > .chain-info--ask { color: $ask; }
    """

    def __init__(self, grid: ChainGrid, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grid = grid

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"chain-info--{name}", partial=True)

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        grid = self.grid
        option = grid.contract()
        feed = grid.feed
        if option is None or feed is None:
            return line
        kind = "Call" if option.is_call else "Put"
        line.append(
            f" {option.root} {option.expiration:%d %b %y} {format_strike(option.strike)} {kind}",
            self._style("label"),
        )
        age = feed.store.age(option.streamer)
        stale = age is not None and age > feed.stale_after
        values = [
            ("Bid", grid.value("bid", option), "bid"),
            ("Ask", grid.value("ask", option), "ask"),
            ("Δ", grid.value("delta", option), ""),
            ("IV", grid.value("iv", option), ""),
            ("Θ", grid.value("theta", option), ""),
        ]
        for label, text, style in values:
            line.append(f"  {label} ", self._style("dim"))
            line.append(text, self._style("stale" if stale else style) if style or stale else "")
        if age is None:
            line.append("  waiting for data", self._style("dim"))
        elif stale:
            line.append(f"  stale {fmt.age(age)}", self._style("stale"))
        else:
            line.append(f"  {fmt.age(age)} ago", self._style("dim"))
        count, oldest = grid.stale_count()
        if count:
            line.append(f"  · {count} stale, oldest {fmt.age(oldest)}", self._style("stale"))
        line.append(f"  · streaming {grid.subscribed_count} contracts", self._style("dim"))
        return line


class ChainPane(Pane):
    """Shows one underlying's chain; ``show_symbol`` switches it."""

    BINDINGS: ClassVar[list[BindingType]] = list(keymap.bindings("chain"))
    DEFAULT_CSS = """
    ChainPane > #chain-message { height: 1fr; content-align: center middle; color: $text-muted; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.symbol: str | None = None
        self.chain: OptionChain | None = None
        self.infos: list[ExpirationInfo] = []
        self.exp_index = 0
        self.column_problems: list[str] = []
        self._moves_retried = False
        self._shown_count = 0
        # Children are kept by reference: hooks called during shutdown must not query.
        self._grid = ChainGrid(id="chain-grid")
        self._bar = ExpirationBar(id="chain-exps")
        self._info = ChainInfo(self._grid, id="chain-info")
        self._note = Static(Text("Waiting for the broker connection…"), id="chain-message")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        self.border_title = "Option chain"
        yield self._bar
        yield self._note
        yield self._grid
        yield self._info

    def on_mount(self) -> None:
        self._grid.display = False
        columns, self.column_problems = check_columns(self.tasty.config.ui.chain_columns)
        self._grid.set_columns(columns)
        if self.column_problems:
            self.notify(
                "\n".join(self.column_problems),
                title="Chain columns",
                severity="warning",
                markup=False,  # quotes the config file
            )

    def on_unmount(self) -> None:
        services = self.services
        if services is not None:
            services.dxlink.release(self)

    @property
    def grid(self) -> ChainGrid:
        return self._grid

    @property
    def expiration(self) -> ChainExpiration | None:
        return self.infos[self.exp_index].expiration if self.infos else None

    @property
    def subscribed_count(self) -> int:
        """Contracts the grid streams (the underlying is not counted)."""
        return self._grid.subscribed_count

    def _message(self, text: str) -> None:
        message = self._note
        message.update(Text(text))
        message.display = True
        self._grid.display = False

    # ------------------------------------------------------------------ pane hooks

    def services_ready(self) -> None:
        services = self.services
        if services is None:
            return
        self._grid.attach(
            Feed(
                services.store,
                services.dxlink,
                services.clock,
                services.config.streaming.stale_after,
            )
        )
        if self.symbol is None:
            watchlist = self.tasty.config.ui.watchlist
            self.symbol = watchlist[0].upper() if watchlist else "SPY"
        self._load(self.symbol)

    def show_symbol(self, symbol: str) -> None:
        """Show ``symbol``'s chain (and keep it as the chain's underlying)."""
        try:
            wanted = normalize_equity(symbol)
        except SymbolError as exc:
            self.notify(str(exc), title="Chain", severity="error", markup=False)
            return
        if wanted == self.symbol and self.chain is not None:
            return
        self.symbol = wanted
        if self.services is not None:
            self._message(f"loading {wanted} chain…")  # at once: the fetch can take seconds
            self._load(wanted)
        else:
            self._message(f"{wanted}: waiting for the broker connection…")

    def refresh_quotes(self, dirty: set[str]) -> None:
        if self.chain is None or self.symbol is None:
            return
        grid = self._grid
        grid.tick_clock()
        bar = self._bar
        if self.symbol in dirty:
            spot = self._spot()
            grid.set_spot(spot)
            bar.spot = spot
            bar.refresh()
            if (
                spot is not None
                and not self._moves_retried
                and any(i.expected_move is None for i in self.infos)
            ):
                self._moves_retried = True
                self._reload_moves()
        grid.refresh_dirty(dirty)
        option = grid.contract()
        count = grid.subscribed_count
        if (option is not None and option.streamer in dirty) or count != self._shown_count:
            self._shown_count = count
            self._info.refresh()

    # ------------------------------------------------------------------ loading

    def _spot(self) -> float | None:
        services = self.services
        if services is None or self.symbol is None:
            return None
        store = services.store
        return store.mid(self.symbol) or store.last(self.symbol)

    @work(exclusive=True, group="chain-load", exit_on_error=False)
    async def _load(self, symbol: str) -> None:
        services = self.services
        if services is None:
            return
        from tastytui.services.errors import ServiceError

        # The underlying streams for the whole time its chain is shown (spot, ATM, ITM).
        services.dxlink.release(self)
        services.dxlink.subscribe(self, _UNDERLYING_KINDS, [symbol])
        # The chain is asked for first, the metrics behind the expected moves alongside it (not
        # after it), and the pane is cleared while the answers travel.
        fetch = asyncio.ensure_future(services.accounts.chain(symbol))
        metrics = asyncio.ensure_future(_prefetch_metrics(services.accounts, symbol))
        try:
            await asyncio.sleep(0)  # let the requests leave before the screen work below
            self.chain, self.infos = None, []
            self._moves_retried = False
            self._grid.clear()
            bar = self._bar
            bar.symbol, bar.infos, bar.spot, bar.status = symbol, [], None, "loading…"
            bar.refresh()
            self._message(f"loading {symbol} chain…")
            try:
                chain = await fetch
            except ServiceError as exc:
                self._no_chain(symbol, fmt.clean(str(exc)))
                return
            except Exception as exc:  # anything else is shown too: never stuck on "loading"
                self._no_chain(symbol, fmt.clean(f"{type(exc).__name__}: {exc}"))
                return
            today = services.accounts.today()
            if not chain.upcoming(today):
                self._no_chain(symbol, "no upcoming expirations are listed")
                return
            await self._wait_spot(symbol)
            await metrics
            try:
                infos = await services.accounts.expirations(symbol)
            except ServiceError:
                infos = []
        finally:
            fetch.cancel()  # a newer symbol cancelled this load
            metrics.cancel()
        if not infos:  # metrics unavailable: still show the chain, without expected moves
            infos = _plain_infos(chain, today)
        if self.symbol != symbol:
            return
        self.chain, self.infos, self.exp_index = chain, infos, 0
        spot = self._spot()
        bar.infos, bar.index, bar.spot = infos, 0, spot
        bar.status = "" if spot is not None else f"no price for {symbol} yet"
        bar.refresh()
        self._note.display = False
        self._grid.display = True
        self._grid.load(infos[0].expiration, spot, None)
        self._info.refresh()

    def _no_chain(self, symbol: str, reason: str) -> None:
        if self.symbol != symbol:
            return
        bar = self._bar
        bar.status = "no options"
        bar.refresh()
        self._message(
            f"No options for {symbol}: {reason}.\n"
            "Choose another symbol with / (options are listed for most ETFs and large stocks)."
        )

    async def _wait_spot(self, symbol: str) -> None:
        """Give the underlying's first quote a moment, so the grid opens on the money."""
        services = self.services
        if services is None:
            return
        for _ in range(int(_SPOT_WAIT / _SPOT_POLL)):
            if self._spot() is not None or self.symbol != symbol:
                return
            await asyncio.sleep(_SPOT_POLL)

    @work(exclusive=True, group="chain-moves", exit_on_error=False)
    async def _reload_moves(self) -> None:
        """Expected moves need a spot; when it arrived after loading, compute them again."""
        services, symbol = self.services, self.symbol
        if services is None or symbol is None:
            return
        with contextlib.suppress(Exception):
            infos = await services.accounts.expirations(symbol)
            if symbol == self.symbol and len(infos) == len(self.infos):
                self.infos = infos
                bar = self._bar
                bar.infos = infos
                bar.refresh()

    # ------------------------------------------------------------------ actions

    def action_expiration(self, step: int) -> None:
        if not self.infos:
            self.notify("No chain loaded yet.", title="Chain")
            return
        index = max(0, min(len(self.infos) - 1, self.exp_index + step))
        if index == self.exp_index:
            self.app.bell()
            return
        self.exp_index = index
        bar = self._bar
        bar.index = index
        bar.refresh()
        current = self._grid.contract()
        self._grid.load(
            self.infos[index].expiration, self._spot(), current.strike if current else None
        )
        self._info.refresh()

    def action_toggle_side(self) -> None:
        self._grid.toggle_side()

    def action_center(self) -> None:
        self._grid.center()

    def copy_text(self) -> str | None:
        contract = self.grid.contract()
        return contract.occ if contract is not None else None

    @on(ChainGrid.CursorMoved)
    def _cursor_moved(self) -> None:
        self._info.refresh()

    def action_add_leg(self, side: str) -> None:
        option = self._grid.contract()
        if option is None:
            self.notify("No chain loaded: choose a symbol with / first.", title="Chain")
            return
        buy = side == "buy"
        leg = Leg(
            InstrumentType.EQUITY_OPTION,
            option.occ,
            OrderAction.BUY_TO_OPEN if buy else OrderAction.SELL_TO_OPEN,
            Decimal(1),
        )
        self.post_message(AddLeg(leg))
        self.notify(
            f"{leg.action.value} 1 {_describe_option(option)}", title="Leg added", markup=False
        )

    def action_template(self) -> None:
        exp = self.expiration
        if exp is None or self.chain is None:
            self.notify("No chain loaded: choose a symbol with / first.", title="Strategy")
            return
        from tastytui.ui.screens.template import TemplatePicker

        info = self.infos[self.exp_index]
        title = f"{self.symbol} {exp.expiration:%a %d %b %Y} ({info.dte} DTE)"
        self.app.push_screen(TemplatePicker(title), self._template_chosen)

    def _template_chosen(self, choice: TemplateChoice | None) -> None:
        if choice is not None:
            self._build_template(choice)

    @work(exclusive=True, group="chain-template", exit_on_error=False)
    async def _build_template(self, choice: TemplateChoice) -> None:
        services, chain, exp = self.services, self.chain, self.expiration
        if services is None or chain is None or exp is None:
            return
        spot = self._spot()
        if spot is None:
            self.notify(
                f"No price for {chain.underlying} yet: wait for quotes and try again.",
                title="Strategy",
                severity="error",
            )
            return
        back = self._back_month(exp) if choice.kind is StrategyKind.CALENDAR else None
        store = services.store
        owner = object()  # a transient hold, released however the build ends
        try:
            if choice.target_delta is not None:
                await self._await_deltas(owner, exp, spot, choice)

            def delta_of(option: OptionSymbol) -> float | None:
                greeks = store.greeks(option.streamer)
                return None if greeks is None or greeks.delta is None else float(greeks.delta)

            legs = build_template(
                choice.kind,
                chain,
                exp,
                Decimal(str(round(spot, 4))),
                width=choice.width,
                target_delta=choice.target_delta,
                delta_of=delta_of if choice.target_delta is not None else None,
                direction=choice.direction,
                option_type=choice.option_type,
                back_expiration=back,
            )
        except StrategyError as exc:
            self.notify(
                str(exc),
                title=f"{choice.kind.value}: cannot build",
                severity="error",
                markup=False,
            )
            return
        finally:
            services.dxlink.release(owner)
        label = describe([(parse_occ(leg.symbol), leg.signed_quantity) for leg in legs])
        how = (
            f"{choice.target_delta:.2f} delta"
            if choice.target_delta is not None
            else (f"width {format_strike(choice.width)}" if choice.width else "adjacent strikes")
        )
        note = f"{label} · {exp.expiration:%d %b %Y} · {how} · spot {fmt.num(spot)}"
        self.post_message(StageTicket(Ticket(legs), note=note))
        self.notify(note, title="Strategy staged", markup=False)

    def _back_month(self, front: ChainExpiration) -> ChainExpiration | None:
        """The calendar's back month: the same root's first expiration a week or more later."""
        later = [
            info.expiration
            for info in self.infos
            if info.expiration.root == front.root and info.expiration.expiration > front.expiration
        ]
        for exp in later:
            if (exp.expiration - front.expiration).days >= 7:
                return exp
        return later[-1] if later else None

    async def _await_deltas(
        self, owner: object, exp: ChainExpiration, spot: float, choice: TemplateChoice
    ) -> None:
        """Stream greeks for the strikes a delta pick may land on, until they arrive.

        The grid only streams the rows on screen; a 16-delta strike of a far expiration can be
        well off screen, so the band around the money (3 expected moves) is held briefly.
        """
        services = self.services
        if services is None:
            return
        info = self.infos[self.exp_index]
        band = 3.0 * info.expected_move if info.expected_move else spot * 0.25
        sides: tuple[OptionType, ...]
        if choice.kind in (StrategyKind.STRANGLE, StrategyKind.IRON_CONDOR):
            sides = (OptionType.PUT, OptionType.CALL)
        else:
            sides = (choice.option_type or OptionType.CALL,)
        wanted = contracts_near(exp, spot, band, sides, limit=80)
        if not wanted:
            return
        services.dxlink.subscribe(owner, ("Greeks",), [o.streamer for o in wanted])
        store = services.store
        for _ in range(int(_DELTA_WAIT / 0.05)):
            if all(store.greeks(o.streamer) is not None for o in wanted):
                return
            await asyncio.sleep(0.05)


async def _prefetch_metrics(accounts: AccountService, symbol: str) -> None:
    """Fill the metrics cache ``expirations`` reads; a failure is left for it to report."""
    with contextlib.suppress(Exception):
        await accounts.metrics([symbol])


def _plain_infos(chain: OptionChain, today: Any) -> list[ExpirationInfo]:
    from tastytui.services.accounts import ExpirationInfo

    return [ExpirationInfo(e, e.dte(today), None) for e in chain.upcoming(today)]


def _describe_option(option: OptionSymbol) -> str:
    kind = "call" if option.is_call else "put"
    return f"{option.root} {option.expiration:%d %b %y} {format_strike(option.strike)} {kind}"
