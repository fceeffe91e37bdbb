"""Confirmation prompts for changing a working order (money-moving, so never one key away).

- :class:`ConfirmCancel`: a yes/no prompt before cancelling (keymap scope ``confirm``).
- :class:`ConfirmReplace`: the re-review of a replacement — what would be sent, its cost and
  the risk guard's verdict — sent only with the review's confirm key (scope ``review``); a
  review that may not be sent shows why and can only be closed.

Every line shown may carry broker text, so each is rendered inert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tastytui.ui import format as fmt
from tastytui.ui import keymap

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 80; max-width: 95%; height: auto; max-height: 90%; border: round $warning;
    background: $surface; padding: 0 1;
}}
{name} .confirm-line {{ height: auto; }}
{name} #confirm-keys {{ color: $text-muted; margin-top: 1; }}
{name} #confirm-problem {{ color: $error; text-style: bold; }}
"""


def _remaps(screen: ModalScreen[bool]) -> dict[str, str]:
    config = getattr(screen.app, "config", None)
    return dict(config.ui.keys) if config is not None else {}


class _Confirm(ModalScreen[bool]):
    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = tuple(lines)

    def keys_text(self) -> str:
        raise NotImplementedError

    def problem_text(self) -> str | None:
        return None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = fmt.clean(self.title_text)
            for line in self.lines:
                yield Static(fmt.inert(line, max_length=300), classes="confirm-line")
            problem = self.problem_text()
            if problem:
                yield Static(fmt.inert(problem, max_length=300), id="confirm-problem")
            yield Static(Text(self.keys_text()), id="confirm-keys")


class ConfirmCancel(_Confirm):
    """Yes/no before cancelling an order; dismisses True only on the yes key."""

    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("confirm")]
    DEFAULT_CSS = _CSS.format(name="ConfirmCancel")

    def keys_text(self) -> str:
        remaps = _remaps(self)
        yes = keymap.key_for("confirm.yes", remaps)
        no = keymap.key_for("confirm.no", remaps)
        return f"{yes} = yes, cancel the order · {no} or Esc = no, keep it working"

    def action_confirm_yes(self) -> None:
        self.dismiss(True)

    def action_confirm_no(self) -> None:
        self.dismiss(False)


class ConfirmReplace(_Confirm):
    """The replacement's review; True only on the review's confirm key and when sendable."""

    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("review")]
    DEFAULT_CSS = _CSS.format(name="ConfirmReplace")

    def __init__(self, title: str, lines: Sequence[str], problems: Sequence[str] = ()) -> None:
        super().__init__(title, lines)
        self.problems = tuple(problems)

    @property
    def sendable(self) -> bool:
        return not self.problems

    def problem_text(self) -> str | None:
        if self.sendable:
            return None
        return "Not sendable: " + "; ".join(self.problems)

    def keys_text(self) -> str:
        remaps = _remaps(self)
        back = keymap.key_for("order.back", remaps)
        if not self.sendable:
            return f"{back} = close (the order keeps working at its old price)"
        confirm = keymap.key_for("order.confirm", remaps)
        return f"{confirm} = send the replacement · {back} = back, keep the old price"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return self.sendable
        return True

    def action_confirm(self) -> None:
        if self.sendable:
            self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)
