"""The assistant's toolbox: the tools offered, and running one safely.

Read tools call the same services the console uses and return small JSON objects (see
:mod:`~tastytui.services.chat.results`); text a third party could have written is stripped of
control sequences and wrapped as ``{"untrusted_text": …}``.  The order tools never place, replace
or cancel anything (see :mod:`~tastytui.services.chat.order_tools`): they stage a reviewed change
with the :class:`Stager` the UI supplies, and only the user's confirm key sends it.  In read-only
mode (``[chat] read_only`` or the profile's risk ``read_only``) the order and watchlist-changing
tools are not offered, and refuse if called anyway.  Every result is scrubbed of secrets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tastytui.domain.strategies import StrategyError
from tastytui.domain.symbols import SymbolError
from tastytui.domain.ticket import TicketError
from tastytui.services.chat import account_tools, market_tools, order_tools
from tastytui.services.chat.args import ToolInputError, text_arg
from tastytui.services.chat.results import dump
from tastytui.services.chat.sanitize import scrub, strip_controls, untrusted
from tastytui.services.chat.specs import SPECS, ToolSpec
from tastytui.services.errors import ServiceError

if TYPE_CHECKING:
    from tastytui.services.orders import Review
    from tastytui.services.runtime import Services

log = logging.getLogger(__name__)


class Stager(Protocol):
    """What the UI supplies: where staged changes go to wait for the user's confirmation."""

    def stage_ticket(self, review: Review, note: str) -> None:
        """Load a reviewed ticket into the order builder (the user reviews and sends it)."""
        ...

    def stage_replace(self, review: Review, note: str) -> None:
        """Hold a reviewed replacement until the user confirms or discards it."""
        ...

    def stage_cancel(self, account: str, order_id: int, description: str, note: str) -> None:
        """Hold a cancel until the user confirms or discards it."""
        ...


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """A tool's answer: JSON for the model, and one short line for the transcript."""

    content: str
    is_error: bool
    summary: str


Handler = Callable[["ChatTools", Mapping[str, Any]], Awaitable[tuple[Any, str]]]
HANDLERS: dict[str, Handler] = {
    "get_balances": account_tools.balances,
    "get_positions": account_tools.positions,
    "get_net_liq_history": account_tools.net_liq_history,
    "get_transactions": account_tools.transactions,
    "get_order_history": account_tools.order_history,
    "get_live_orders": account_tools.live_orders,
    "get_quotes": market_tools.quotes,
    "get_greeks": market_tools.greeks,
    "get_market_metrics": market_tools.market_metrics,
    "get_market_status": market_tools.market_status,
    "search_symbols": market_tools.search_symbols,
    "get_option_chain": market_tools.option_chain,
    "get_watchlists": account_tools.watchlists,
    "manage_watchlist": account_tools.manage_watchlist,
    "get_time": market_tools.new_york_time,
    "prepare_order": order_tools.prepare_order,
    "replace_order": order_tools.replace_order,
    "cancel_order": order_tools.cancel_order,
}


class ChatTools:
    """The tools of one chat session over one :class:`Services` container."""

    def __init__(
        self,
        services: Services,
        stager: Stager | None,
        *,
        read_only: bool = False,
        stream_wait: float = 3.0,
    ) -> None:
        self.services = services
        self.stager = stager
        self.read_only = (
            read_only
            or services.config.chat.read_only
            or services.profile.risk.read_only
            or stager is None
        )
        self.stream_wait = stream_wait
        self._subscribed: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ registry

    def specs(self) -> list[ToolSpec]:
        """The tools offered: read-only mode leaves out orders and watchlist changes."""
        return [s for s in SPECS if not (self.read_only and s.kind != "read")]

    def schemas(self) -> list[dict[str, Any]]:
        """Tool definitions for the Messages API."""
        return [s.schema() for s in self.specs()]

    def secrets(self) -> list[str]:
        """Live secret values to mask in anything sent to the model (the bearer token …)."""
        values: list[str] = []
        session = getattr(self.services.broker, "session", None)
        token = getattr(session, "session_token", None)
        if isinstance(token, str):
            values.append(token)
        credentials = self.services.endpoint.credentials
        values.extend([credentials.client_secret, credentials.refresh_token])
        return values

    async def call(self, name: str, args: Any) -> ToolOutcome:
        """Run one tool; every failure becomes an error result the model can explain."""
        spec = next((s for s in SPECS if s.name == name), None)
        if spec is None:
            return self._error(f"there is no tool named {name!r}", f"{name}: unknown tool")
        if spec.kind != "read" and self.read_only:
            return self._error(
                f"{name} is not available: the assistant is in read-only mode, so it cannot "
                "prepare orders or change watchlists",
                f"{name}: refused (read-only)",
            )
        if not isinstance(args, Mapping):
            return self._error("the tool input must be an object", f"{name}: bad input")
        try:
            result, summary = await HANDLERS[name](self, args)
        except (ToolInputError, TicketError, StrategyError, SymbolError) as exc:
            return self._error(str(exc), f"{name}: {exc}")
        except ServiceError as exc:
            # Service messages can carry broker text (a reject reason): mark it untrusted.
            text = strip_controls(str(exc), max_length=400)
            content = dump({"error": untrusted(text, max_length=400)})
            return ToolOutcome(scrub(content, self.secrets()), True, f"{name}: {text}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not end the conversation
            log.exception("chat tool %s failed", name)
            return self._error(
                f"the tool failed unexpectedly ({type(exc).__name__})", f"{name}: failed"
            )
        return ToolOutcome(scrub(dump(result), self.secrets()), False, summary)

    def _error(self, message: str, summary: str) -> ToolOutcome:
        return ToolOutcome(scrub(dump({"error": message}), self.secrets()), True, summary)

    def close(self) -> None:
        """Drop this session's market-data subscriptions."""
        self.services.dxlink.release(self)
        self._subscribed.clear()

    # ------------------------------------------------------------------ for the handlers

    def account(self, args: Mapping[str, Any]) -> str:
        """The account the model asked for (checked), else the one on screen."""
        accounts = self.services.accounts
        wanted = text_arg(args, "account", limit=20)
        if not wanted:
            return accounts.current
        numbers = accounts.account_numbers()
        if wanted not in numbers:
            raise ToolInputError(
                f"account {wanted!r} is not one of this login's accounts ({', '.join(numbers)})"
            )
        return wanted

    def subscribe(self, kinds: Sequence[str], symbols: Iterable[str]) -> None:
        """Stream these symbols for this chat session (reference counted by the DXLink client)."""
        wanted = {(k, s) for k in kinds for s in symbols} - self._subscribed
        if not wanted:
            return
        if len(self._subscribed) + len(wanted) > 2000:  # bounded: release and start over
            self.close()
            wanted = {(k, s) for k in kinds for s in symbols}
        self._subscribed |= wanted
        self.services.dxlink.subscribe(self, kinds, sorted({s for _, s in wanted}))

    async def wait_stream(self, ready: Callable[[], bool]) -> None:
        """Poll the QuoteStore until ``ready()`` or ``stream_wait`` seconds (loop time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stream_wait
        # The QuoteStore has no per-symbol event to wait on; it is drained by polling.
        while not ready() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    def require_orders(self) -> Stager:
        """The stager, or a refusal in read-only mode (the order tools are not even offered)."""
        if self.read_only or self.stager is None:
            raise ToolInputError("order tools are off: the assistant is in read-only mode")
        return self.stager
