"""Themes: bundled files complete, user themes from the config dir, bad files and names
reported once with a fallback, and switching from the command palette."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from tastytui.ui.app import TastyApp
from tastytui.ui.themes import DEFAULT_THEME, DOMAIN_DEFAULTS, bundled_dir, load_themes, user_dir
from tests.ui.harness import make_app, shown_notices, until

NO_BROKER = "http://127.0.0.1:9"  # themes need no connection
MINE = """\
name = "my-desk"
dark = true
primary = "#3366cc"
background = "#101010"

[variables]
price-up = "#11ee11"
stale = "#777777"
"""


@pytest.fixture
def themes_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's theme folder, in a private config dir for this test."""
    monkeypatch.setenv("TASTYTUI_CONFIG_DIR", str(tmp_path / "config"))
    folder = user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def record_notes(app: TastyApp) -> list[tuple[str, str]]:
    """Every notification as (title, message); toasts expire, this list does not."""
    notes: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notes.append((str(kwargs.get("title", "")), str(message)))
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


def variable(app: TastyApp, name: str) -> str:
    return app.get_css_variables()[name].lower()


def test_every_bundled_theme_loads_and_sets_every_domain_colour() -> None:
    loaded = load_themes(bundled_dir())
    assert loaded.errors == []
    names = {theme.name for theme in loaded.themes}
    for wanted in ("tastytui-dark", "tastytui-light", "tastytui-high-contrast", "tastytui-256"):
        assert wanted in names
    files = sorted(bundled_dir().glob("*.toml"))
    assert len(files) == len(loaded.themes)
    for path in files:
        # Each file spells out every domain colour (not the fallback defaults).
        declared = tomllib.loads(path.read_text(encoding="utf-8")).get("variables", {})
        missing = set(DOMAIN_DEFAULTS) - set(declared)
        assert not missing, f"{path.name} lacks {sorted(missing)}"
    for theme in loaded.themes:
        assert set(DOMAIN_DEFAULTS) <= set(theme.variables), theme.name


async def test_a_bad_theme_file_is_reported_once_and_the_default_is_used(
    tmp_path: Path, themes_dir: Path
) -> None:
    (themes_dir / "broken.toml").write_text(
        'name = "broken"\nprimary = "not a colour"\n', encoding="utf-8"
    )
    app = make_app(NO_BROKER, tmp_path, config_text='[ui]\ntheme = "broken"\n')
    notes = record_notes(app)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.2)
        naming = [message for _, message in notes if "broken.toml" in message]
        assert len(naming) == 1, notes
        assert [title for title, _ in notes].count("Themes") == 1
        assert f"using {DEFAULT_THEME}" in naming[0]
        assert app.theme == DEFAULT_THEME and "broken" not in app.available_themes
        # The app runs on: the default theme's domain colours apply.
        assert variable(app, "price-up") != ""
        assert "tastytui-light" in app.available_themes


async def test_a_user_theme_is_loaded_and_chosen_in_the_config(
    tmp_path: Path, themes_dir: Path
) -> None:
    (themes_dir / "mine.toml").write_text(MINE, encoding="utf-8")
    app = make_app(NO_BROKER, tmp_path, config_text='[ui]\ntheme = "my-desk"\n')
    notes = record_notes(app)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.2)
        assert app.theme == "my-desk"
        assert not [n for n in notes if n[0] == "Themes"], notes
        assert variable(app, "price-up") == "#11ee11"
        # A domain colour the file leaves out falls back to the default, never breaks TCSS.
        assert variable(app, "bid") == DOMAIN_DEFAULTS["bid"]


async def test_an_unknown_theme_name_is_shown_literally_and_the_default_is_used(
    tmp_path: Path, themes_dir: Path
) -> None:
    # Config text is shown as typed: markup in it is neither applied nor a crash.
    config = '[ui]\ntheme = "[bold]nope[/]"\n[ui.keys]\n"[/]" = "x"\n'
    app = make_app(NO_BROKER, tmp_path, config_text=config)
    notes = record_notes(app)
    async with app.run_test(size=(120, 35), notifications=True) as pilot:
        await until(pilot, lambda: bool(shown_notices(app)))
        await pilot.pause(0.2)  # the toast is drawn (a markup error would end the app here)
        themed = [message for title, message in notes if title == "Themes"]
        assert len(themed) == 1, notes
        assert "'[bold]nope[/]' not found" in themed[0] and DEFAULT_THEME in themed[0]
        shown = [str(slot.render()) for slot in shown_notices(app)]
        assert any("'[bold]nope[/]' not found" in text for text in shown), shown
        assert any("'[/]' is not an action" in text for text in shown), shown
        assert app.theme == DEFAULT_THEME
        assert app.is_running


def hit_index(pilot: Pilot[Any], text: str) -> int | None:
    screen = pilot.app.screen
    if not isinstance(screen, CommandPalette):
        return None
    results = screen.query_one(CommandList)
    for i in range(results.option_count):
        if text in str(results.get_option_at_index(i).prompt):
            return i
    return None


async def choose(pilot: Pilot[Any], query: str, wanted: str) -> None:
    """Open the palette, type ``query``, highlight the hit ``wanted`` and run it."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*query)
    await until(pilot, lambda: hit_index(pilot, wanted) is not None)
    index = hit_index(pilot, wanted)
    assert index is not None
    pilot.app.screen.query_one(CommandList).highlighted = index
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))


async def test_the_palette_switches_to_a_bundled_and_to_a_user_theme(
    tmp_path: Path, themes_dir: Path
) -> None:
    (themes_dir / "mine.toml").write_text(MINE, encoding="utf-8")
    app = make_app(NO_BROKER, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.1)
        assert app.theme == DEFAULT_THEME
        await choose(pilot, "theme high", "Theme: tastytui-high-contrast")
        await until(pilot, lambda: app.theme == "tastytui-high-contrast")
        assert variable(app, "price-up") == "#00ff00"  # that file's colour is in force
        await choose(pilot, "theme my-desk", "Theme: my-desk")
        await until(pilot, lambda: app.theme == "my-desk")
        assert variable(app, "price-up") == "#11ee11"
