"""Command line: ``tastytui`` (the console), ``tastytui sim`` (the exchange), ``tastytui login``.

Heavy imports (Textual, the SDK, pandas) happen inside the chosen command, never here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence


def _sim_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tastytui.sim.config import FillModel, MarketHours  # light: no SDK, no pandas

    p = sub.add_parser("sim", help="run the embedded exchange simulator standalone")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    p.add_argument("--seed", type=int, default=1, help="market seed (default 1)")
    p.add_argument("--state", help="SQLite file for the paper ledger (default: in memory)")
    p.add_argument("--reset", action="store_true", help="wipe the ledger and re-seed it")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback bind (the simulator has fixed credentials)",
    )
    p.add_argument("--fill-model", default="mid", choices=[m.value for m in FillModel])
    p.add_argument(
        "--fill-delay", type=float, default=2.0, help="seconds before a 'delayed' fill (default 2)"
    )
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="register an OAuth redirect URI for the authorization-code grant "
        "(repeatable; matched exactly)",
    )
    p.add_argument("--market-hours", default="always", choices=[m.value for m in MarketHours])
    p.add_argument(
        "--tick-interval",
        type=float,
        default=0.2,
        help="seconds between market steps (default 0.2)",
    )
    p.add_argument("--token-lifetime", type=int, default=900, help="access token seconds")
    p.add_argument(
        "--extra-underlyings",
        type=int,
        default=0,
        metavar="N",
        help="add N synthetic stocks Z0001… to the universe (load tests; default 0)",
    )
    p.add_argument("--frozen", action="store_true", help="freeze the tape at its opening values")
    p.add_argument("--announce-json", action="store_true", help=argparse.SUPPRESS)
    # Set by the console for its child: stop when the console is gone.
    p.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)


def _run_sim(args: argparse.Namespace) -> int:
    from tastytui.sim.config import FillModel, LoopbackError, MarketHours, SimConfig
    from tastytui.sim.process import serve_forever

    if args.tick_interval <= 0:
        print("tastytui sim: --tick-interval must be positive", file=sys.stderr)
        return 2
    if args.fill_delay < 0:
        print("tastytui sim: --fill-delay must not be negative", file=sys.stderr)
        return 2
    if not 0 <= args.extra_underlyings <= 9999:
        print("tastytui sim: --extra-underlyings must be between 0 and 9999", file=sys.stderr)
        return 2
    if args.token_lifetime < 120:
        # The SDK refreshes 60 s before expiry: shorter tokens mean a refresh on every call.
        print("tastytui sim: --token-lifetime must be at least 120 seconds", file=sys.stderr)
        return 2
    config = SimConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        state_path=args.state,
        allow_remote=args.allow_remote,
        fill_model=FillModel(args.fill_model),
        fill_delay=args.fill_delay,
        redirect_uris=tuple(args.redirect_uri),
        market_hours=MarketHours(args.market_hours),
        tick_interval=args.tick_interval,
        token_lifetime=args.token_lifetime,
        live_tape=not args.frozen,
        extra_underlyings=args.extra_underlyings,
    )
    try:
        config.check_bind()
        asyncio.run(
            serve_forever(
                config,
                reset=args.reset,
                announce_json=args.announce_json,
                parent_pid=args.parent_pid,
            )
        )
    except LoopbackError as exc:
        print(f"tastytui sim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"tastytui sim: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


def _login_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("login", help="check tastytrade credentials and keep them in the keyring")
    p.add_argument("--profile", help="cert or live (default: the config's profile)")
    p.add_argument(
        "--browser",
        action="store_true",
        help="use the OAuth authorization-code flow in a browser instead",
    )
    p.add_argument("--anthropic", action="store_true", help="store the Anthropic API key instead")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tastytui",
        description="A keyboard-first terminal trading console for tastytrade. "
        "With no command it starts the console (on the embedded simulator by default).",
    )
    parser.add_argument("--profile", help="sim (default), cert or live (opt-in)")
    parser.add_argument(
        "--low-bandwidth",
        action="store_true",
        help="fewer screen updates per second, for slow SSH links",
    )
    parser.add_argument("--theme", help="a theme name (see the command palette)")
    sub = parser.add_subparsers(dest="command")
    _sim_parser(sub)
    _login_parser(sub)
    return parser


def _run_console(args: argparse.Namespace) -> int:
    from tastytui.services.errors import ConfigError

    try:
        from tastytui.config import load

        config = load()
        name, _ = config.active(args.profile)
    except ConfigError as exc:
        print(f"tastytui: {exc}", file=sys.stderr)
        return 2
    if args.theme:
        config.ui.theme = args.theme
    from tastytui.ui.app import TastyApp

    app = TastyApp(config, name, low_bandwidth=args.low_bandwidth or None)
    app.run()
    return 0


def _run_login(args: argparse.Namespace) -> int:
    from tastytui.cli_login import login
    from tastytui.config import load
    from tastytui.services.errors import ConfigError

    try:
        config = load()
    except ConfigError as exc:
        print(f"tastytui: {exc}", file=sys.stderr)
        return 2
    return login(config, args.profile, browser=args.browser, anthropic=args.anthropic)


def main(argv: Sequence[str] | None = None) -> int:
    from tastytui.secrets import install_log_redaction  # light: stdlib only at import

    # Before anything can log: the SDK logs access tokens at DEBUG level.
    install_log_redaction()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sim":
        return _run_sim(args)
    if args.command == "login":
        return _run_login(args)
    return _run_console(args)
