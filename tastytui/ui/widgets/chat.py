"""The assistant pane: a conversation with the model over the account's tools.

Nothing heavy happens until the pane is used: the Anthropic SDK and the chat services are
imported on the first question (never on the start-up path), and the key is looked up when the
pane first gets focus.  Answers stream into a Textual ``Markdown`` through its stream (appended
in batches, no per-token relayout); the model's text reaches it already stripped of escape
sequences, and links never open.  Tool calls show as one compact line each.

Orders: the assistant's tools only stage.  A prepared ticket goes to the order builder with a
:class:`StageTicket` (its review opens; the review's confirm key sends it).  A replacement or a
cancel waits here as a *pending change* until the user opens it (``ctrl+o``) and confirms it in
the same prompts the live-orders pane uses — so a key typed into the input can never confirm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.widget import Widget
from textual.widgets import Input, Static

from tastytui.secrets import ANTHROPIC_KEY, SecretStore
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.messages import StageTicket
from tastytui.ui.widgets.pane import Pane

if TYPE_CHECKING:
    from textual.widgets.markdown import MarkdownStream

    from tastytui.services.chat.agent import ChatAgent
    from tastytui.services.chat.tools import ChatTools
    from tastytui.services.orders import Review

log = logging.getLogger(__name__)

INTRO = (
    "Ask about your account or the market — “what's my delta?”, “which positions expire "
    "this week?”, “a 30-delta SPY put spread for about a dollar”. The assistant can prepare "
    "orders; only you can send them."
)
KEY_HELP = (
    "No Anthropic API key. Add one with `tastytui login --anthropic` (saved in the OS keyring; "
    "picked up with your next question) or set ANTHROPIC_API_KEY in the environment before "
    "starting tastytui. The rest of the console works without it."
)
NOT_CONNECTED = (
    "Not connected to tastytrade yet: the assistant reads your account through the same "
    "connection. Ask again once the status bar says connected."
)


@dataclass(frozen=True, slots=True)
class PendingCancel:
    account: str
    order_id: int
    description: str
    note: str


@dataclass(frozen=True, slots=True)
class PendingReplace:
    review: Review
    note: str


Pending = PendingCancel | PendingReplace


def make_secret_store() -> SecretStore:
    """Where the Anthropic key comes from (tests swap in a store with a fake keyring)."""
    return SecretStore()


class _Writer:
    """The assistant's current Markdown block and its stream (one block per text segment)."""

    def __init__(self, pane: ChatPane) -> None:
        self.pane = pane
        self.stream: MarkdownStream | None = None

    async def write(self, text: str) -> None:
        if self.stream is None:
            # Imported on the first answer: Markdown (markdown-it) is not on the first frame's path.
            from textual.widgets import Markdown

            block = Markdown(classes="chat-assistant", open_links=False)
            await self.pane.add_line(block)
            self.stream = Markdown.get_stream(block)
        await self.stream.write(text)

    async def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            await stream.stop()


def _line(prefix: str, text: str, style: str = "", *, max_length: int | None = None) -> Text:
    out = Text(prefix, style="bold")
    out.append_text(fmt.inert(text, style, max_length=max_length))
    out.no_wrap = False
    return out


class ChatPane(Pane):
    """The conversation, its input and the pending change the assistant staged."""

    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("chat")]
    DEFAULT_CSS = """
    ChatPane #chat-foot { dock: bottom; height: auto; }
    ChatPane #chat-log { height: 1fr; scrollbar-size-vertical: 1; }
    ChatPane #chat-log > Static { height: auto; }
    ChatPane .chat-intro { color: $text-muted; padding: 0 1; }
    ChatPane .chat-user { margin-top: 1; padding: 0 1; }
    ChatPane .chat-tool { color: $text-muted; padding: 0 1; }
    ChatPane .chat-tool.-error { color: $warning; }
    ChatPane .chat-error { color: $error; padding: 0 1; }
    ChatPane .chat-notice { color: $warning; padding: 0 1; }
    ChatPane .chat-done { color: $text-muted; padding: 0 1; }
    ChatPane Markdown.chat-assistant { padding: 0 1; margin: 0; background: transparent; }
    ChatPane #chat-pending { height: auto; color: $warning; text-style: bold; padding: 0 1;
        display: none; }
    ChatPane #chat-pending.-shown { display: block; }
    ChatPane #chat-status { height: 1; color: $text-muted; padding: 0 1; }
    ChatPane #chat-input { height: 3; }
    """

    def __init__(self, *children: Widget, **kwargs: object) -> None:
        super().__init__(*children, **kwargs)  # type: ignore[arg-type]
        self.agent: ChatAgent | None = None
        self.tools: ChatTools | None = None
        self.pending: Pending | None = None
        self.running = False
        self._key_checked = False
        self._tool_lines: dict[str, Static] = {}
        #: Read the key again before the next question (it was refused, or never found).
        self._reload_key = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        self.border_title = "Assistant"
        # The input comes first (docked below the log) so focusing the pane (6) lands in it.
        with Vertical(id="chat-foot"):
            yield Static(id="chat-pending")
            yield Static(id="chat-status")
            yield Input(placeholder="Ask the assistant… (Enter)", id="chat-input")
        with VerticalScroll(id="chat-log"):
            yield Static(Text(INTRO), classes="chat-intro")

    def on_mount(self) -> None:
        self.query_one("#chat-log", VerticalScroll).anchor()

    async def add_line(self, widget: Widget) -> None:
        log_view = self.query_one("#chat-log", VerticalScroll)
        # Anchored (on mount and per question) the log follows new lines, unless the user
        # scrolled up to read.
        await log_view.mount(widget)

    def _status(self, text: str) -> None:
        self.query_one("#chat-status", Static).update(Text(text))

    def _notice(self, text: str, kind: str = "chat-notice") -> None:
        self.run_worker(self.add_line(Static(fmt.inert(text), classes=kind)), group="chat-ui")

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_answer":
            return self.running
        if action == "review_pending":
            return self.pending is not None
        return True

    def action_stop_answer(self) -> None:
        if not self.running:
            return
        self.workers.cancel_group(self, "chat")
        self._notice("Stopped — the unfinished answer is not kept.", "chat-done")

    def copy_text(self) -> str | None:
        """The assistant's last answer (its Markdown text)."""
        for message in reversed(self.agent.history if self.agent is not None else []):
            if message["role"] != "assistant" or not isinstance(message["content"], list):
                continue
            text = "".join(b.get("text", "") for b in message["content"] if b.get("type") == "text")
            if text.strip():
                return text
        return None

    def action_clear_chat(self) -> None:
        self.workers.cancel_group(self, "chat")
        if self.agent is not None:
            self.agent.clear()
        self._tool_lines.clear()
        self._set_pending(None)
        log_view = self.query_one("#chat-log", VerticalScroll)
        log_view.remove_children()
        log_view.mount(Static(Text("Conversation cleared. " + INTRO), classes="chat-intro"))
        self._status("")

    def action_review_pending(self) -> None:
        if self.pending is not None:
            self._confirm_pending(self.pending)

    # ------------------------------------------------------------------ the key

    def _read_key(self) -> str | None:
        try:
            return make_secret_store().get(self.tasty.profile_name, ANTHROPIC_KEY)
        except Exception:  # a broken keyring reads as "no key"; the message says what to do
            return None

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if not self._key_checked:
            self._key_checked = True
            self._check_key()

    @work(group="chat-key", exclusive=True, exit_on_error=False)
    async def _check_key(self) -> None:
        if self.agent is None and await asyncio.to_thread(self._read_key) is None:
            await self.add_line(Static(fmt.inert(KEY_HELP), classes="chat-notice"))

    # ------------------------------------------------------------------ asking

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.running:
            self._status("Still answering — esc stops it")
            return
        event.input.value = ""
        self.running = True
        self.refresh_bindings()
        self._respond(text)

    async def _ensure_agent(self) -> ChatAgent | None:
        if self.agent is not None and self._reload_key:
            # The key was refused: a new one may have been saved with `tastytui login` since.
            key = await asyncio.to_thread(self._read_key)
            if key:
                await self.agent.set_api_key(key)
            self._reload_key = False
        if self.agent is not None:
            return self.agent
        services = self.services
        if services is None:
            await self.add_line(Static(fmt.inert(NOT_CONNECTED), classes="chat-notice"))
            return None
        key = await asyncio.to_thread(self._read_key)
        if not key:
            await self.add_line(Static(fmt.inert(KEY_HELP), classes="chat-notice"))
            return None
        from tastytui.services.chat.agent import ChatAgent, system_prompt
        from tastytui.services.chat.tools import ChatTools

        self.tools = ChatTools(services, self)
        self.agent = ChatAgent(
            services.config.chat,
            self.tools,
            api_key=key,
            system=system_prompt(profile=services.profile_name, read_only=self.tools.read_only),
        )
        return self.agent

    @work(group="chat", exclusive=True, exit_on_error=False)
    async def _respond(self, text: str) -> None:
        from tastytui.services.chat.agent import (
            ChatFailed,
            TextDelta,
            ToolFinished,
            ToolStarted,
        )

        writer = _Writer(self)
        try:
            agent = await self._ensure_agent()
            if agent is None:
                self._restore(text)
                return
            self.query_one("#chat-log", VerticalScroll).anchor()
            await self.add_line(Static(_line("You  ", text), classes="chat-user"))
            stop = keymap.key_for("chat.stop", self.tasty.config.ui.keys)
            self._status(f"Thinking… ({stop} stops)")
            async for event in agent.respond(text):
                if isinstance(event, TextDelta):
                    await writer.write(event.text)
                elif isinstance(event, ToolStarted):
                    await writer.close()
                    call = f"{event.name}({event.args})"
                    line = Static(_line("→ ", call, max_length=90), classes="chat-tool")
                    self._tool_lines[event.call_id] = line
                    await self.add_line(line)
                elif isinstance(event, ToolFinished):
                    tool_line = self._tool_lines.pop(event.call_id, None)
                    shown = _line("→ ", event.summary, max_length=140)
                    if tool_line is None:
                        tool_line = Static(shown, classes="chat-tool")
                        await self.add_line(tool_line)
                    tool_line.update(shown)
                    tool_line.set_class(event.is_error, "-error")
                elif isinstance(event, ChatFailed):
                    await writer.close()
                    await self.add_line(Static(fmt.inert(event.message), classes="chat-error"))
                    self._reload_key = event.auth
                    if event.retry:
                        self._restore(event.retry)
        except Exception as exc:  # the console stays up whatever the chat does
            log.exception("chat turn failed")
            await writer.close()
            await self.add_line(
                Static(
                    fmt.inert(f"The assistant failed: {type(exc).__name__}"), classes="chat-error"
                )
            )
        finally:
            await writer.close()
            self.running = False
            self._status("")
            self.refresh_bindings()

    def _restore(self, text: str) -> None:
        """Give an unanswered question back to the input (nothing typed is lost)."""
        box = self.query_one("#chat-input", Input)
        if not box.value:
            box.value = text

    # ------------------------------------------------------------------ staging (the Stager)

    def stage_ticket(self, review: Review, note: str) -> None:
        """Load the reviewed ticket into the order builder and open its review."""
        text = f"Staged by the assistant: {review.description}"
        if note:
            text += f" — {note}"
        self.post_message(StageTicket(review.ticket, note=text, review=True, source="chat"))
        confirm = keymap.key_for("order.confirm", self.tasty.config.ui.keys)
        self._notice(
            f"Staged in the order builder: {review.description}. Nothing was sent — check the "
            f"review and press {confirm} to send it, or esc to leave it.",
        )

    def stage_replace(self, review: Review, note: str) -> None:
        self._set_pending(PendingReplace(review, note))

    def stage_cancel(self, account: str, order_id: int, description: str, note: str) -> None:
        self._set_pending(PendingCancel(account, order_id, description, note))

    def _set_pending(self, pending: Pending | None) -> None:
        previous, self.pending = self.pending, pending
        bar = self.query_one("#chat-pending", Static)
        if previous is not None and pending is not None:
            self._notice(f"Discarded the earlier pending change: {self._pending_text(previous)}")
        if pending is None:
            bar.update("")
            bar.set_class(False, "-shown")
        else:
            key = keymap.key_for("chat.pending", self.tasty.config.ui.keys)
            bar.update(
                fmt.inert(
                    f"Awaiting your confirmation: {self._pending_text(pending)} — {key} to "
                    "confirm or discard it"
                )
            )
            bar.set_class(True, "-shown")
        self.refresh_bindings()

    @staticmethod
    def _pending_text(pending: Pending) -> str:
        if isinstance(pending, PendingCancel):
            return f"cancel order #{pending.order_id} ({pending.description})"
        review = pending.review
        price = review.ticket.price
        effect = "" if price is None else (" credit" if price > 0 else " debit")
        amount = "" if price is None else f" at {abs(price)}{effect}"
        return f"replace order #{review.replaces}{amount}"

    @work(group="chat-change", exclusive=True, exit_on_error=False)
    async def _confirm_pending(self, pending: Pending) -> None:
        from tastytui.services.errors import ServiceError
        from tastytui.ui.screens.order_confirm import ConfirmCancel, ConfirmReplace

        services = self.services
        if services is None:
            return
        if isinstance(pending, PendingCancel):
            lines = [f"#{pending.order_id} {pending.description}", f"Account {pending.account}"]
            if pending.note:
                lines.append(f"Assistant's note: {pending.note}")
            title = f"Cancel order #{pending.order_id}? (asked by the assistant)"
            if not await self.app.push_screen_wait(ConfirmCancel(title, lines)):
                self._decided(pending, f"Kept order #{pending.order_id} working.")
                return
            try:
                placed = await services.orders.cancel(pending.account, pending.order_id)
            except ServiceError as exc:
                self._decided(
                    pending, f"Order #{pending.order_id} not cancelled: {exc}", "chat-error"
                )
                return
            self._decided(pending, f"Order #{pending.order_id} {placed.status.value}.")
            return
        from tastytui.services.orders import describe_review

        review = pending.review
        title = f"Replace order #{review.replaces}? (prepared by the assistant)"
        confirmed = await self.app.push_screen_wait(
            ConfirmReplace(title, describe_review(review), review.problems)
        )
        if not (confirmed and review.sendable):
            self._decided(pending, f"Kept order #{review.replaces} at its old price.")
            return
        try:
            sent = await services.orders.send(review)
        except ServiceError as exc:
            self._decided(pending, f"Not replaced: {exc}", "chat-error")
            return
        self._decided(
            pending, f"Replaced order #{review.replaces}: now #{sent.order_id} ({sent.status})."
        )

    def _decided(self, pending: Pending, text: str, kind: str = "chat-done") -> None:
        if self.pending is pending:
            self._set_pending(None)
        self._notice(text, kind)
        if self.agent is not None:
            self.agent.add_note(text)

    # ------------------------------------------------------------------ lifecycle

    async def on_unmount(self) -> None:
        if self.tools is not None:
            with contextlib.suppress(Exception):
                self.tools.close()
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await self.agent.close()
