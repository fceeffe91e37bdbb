"""Themes: one TOML file per theme in ``themes/`` (and the user's config dir).

Each file holds Textual's core colours plus the console's domain colours as ``[variables]``
(price-up, price-down, bid, ask, itm, atm, stale, muted, pane-border, badge-sim/cert/live),
so TCSS only ever says ``$price-up`` — never a hex value.  A bad file costs one notification
and is skipped.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from textual.theme import Theme

import tastytui
from tastytui.paths import config_dir

#: Domain colours every theme provides; the defaults apply when a theme file omits one.
DOMAIN_DEFAULTS: dict[str, str] = {
    "price-up": "ansi_bright_green",
    "price-down": "ansi_bright_red",
    "bid": "ansi_bright_blue",
    "ask": "ansi_yellow",
    "itm": "#202830",
    "atm": "ansi_yellow",
    "stale": "ansi_bright_black",
    # Secondary text and unfocused pane borders: concrete colours, because Textual's
    # "$text-muted" is an "auto" colour that component-class styles cannot resolve.
    "muted": "ansi_bright_black",
    "pane-border": "ansi_bright_black",
    "badge-sim": "ansi_blue",
    "badge-cert": "ansi_yellow",
    "badge-live": "ansi_red",
}
DEFAULT_THEME = "tastytui-dark"
_CORE = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


@dataclass
class ThemeLoad:
    themes: list[Theme] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def bundled_dir() -> Path:
    """The repository's ``themes/`` folder (next to the package in a source checkout)."""
    return Path(tastytui.__file__).resolve().parent.parent / "themes"


def user_dir() -> Path:
    return config_dir() / "themes"


def parse_theme(path: Path) -> Theme:
    """Read one theme file; raises ValueError with a message naming the problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path.name}: cannot read it ({exc})") from None
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f'{path.name}: needs a name = "..."')
    if not isinstance(raw.get("primary"), str):
        raise ValueError(f"{path.name}: needs a primary colour")
    unknown = set(raw) - {"name", "dark", "variables", *_CORE}
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {', '.join(sorted(unknown))}")
    variables = raw.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ValueError(f"{path.name}: [variables] must map names to colour strings")
    theme = Theme(
        name=name,
        dark=bool(raw.get("dark", True)),
        variables={**DOMAIN_DEFAULTS, **variables},
        **{key: raw[key] for key in _CORE if key in raw},
    )
    # Colours are validated by Textual when the theme is built.
    from textual.design import ColorSystem

    try:
        ColorSystem(**{key: getattr(theme, key) for key in _CORE}, dark=theme.dark).generate()
    except Exception as exc:  # Textual raises ColorParseError and friends
        raise ValueError(f"{path.name}: {exc}") from None
    return theme


def load_themes(*folders: Path) -> ThemeLoad:
    """Every ``*.toml`` theme in the folders; later folders override earlier ones by name."""
    result = ThemeLoad()
    by_name: dict[str, Theme] = {}
    for folder in folders or (bundled_dir(), user_dir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = parse_theme(path)
            except ValueError as exc:
                result.errors.append(str(exc))
                continue
            by_name[theme.name] = theme
    result.themes = list(by_name.values())
    return result
