"""The ``hotpapers`` command line (contract in DESIGN.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.config import Settings, SettingsError, load_settings
from bot.errors import HotPapersError

log = logging.getLogger("hotpapers")

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotpapers", description="Each arXiv mailing's hottest papers, in Discord.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")

    p = sub.add_parser("ingest", help="fetch the latest mailing of each followed category")
    p.add_argument("--categories", help="comma-separated categories (default: [ingest] categories)")

    p = sub.add_parser("paper", help="show one paper by arXiv id or URL")
    p.add_argument("query", metavar="ID_OR_URL")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = sub.add_parser("search", help="full-text search over stored papers")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--category")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("signals", help="refresh engagement counts now")
    p.add_argument("--date", help="mailing date YYYY-MM-DD (default: latest)")

    p = sub.add_parser("top", help="the ranked papers of a mailing")
    p.add_argument("--date", help="mailing date YYYY-MM-DD (default: latest)")
    p.add_argument("--category")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("preview", help="the day's digest as text")
    p.add_argument("--date")
    p.add_argument("--category")

    p = sub.add_parser("backfill", help="load a Kaggle arXiv metadata JSON-lines file")
    p.add_argument("file", metavar="FILE")

    sub.add_parser("doctor", help="check settings, database and each upstream")

    sub.add_parser("reindex", help="rebuild the search index beside the database from the stored papers")
    return parser


def _not_yet(name: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        raise HotPapersError(f"'hotpapers {name}' is not available in this build yet")

    return handler


def _handlers() -> dict[str, Handler]:
    # Imported lazily so `hotpapers paper` does not pay for discord.py's import.
    handlers: dict[str, Handler] = {}
    for name, module_name in (
        ("run", "bot.cli.run"),
        ("ingest", "bot.cli.ingest"),
        ("paper", "bot.cli.paper"),
        ("search", "bot.cli.search"),
        ("signals", "bot.cli.signals"),
        ("top", "bot.cli.top"),
        ("preview", "bot.cli.preview"),
        ("backfill", "bot.cli.backfill"),
        ("doctor", "bot.cli.doctor"),
        ("reindex", "bot.cli.reindex"),
    ):
        handlers[name] = _lazy(module_name, name)
    return handlers


def _lazy(module_name: str, name: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _not_yet(name)(args, settings)
            raise
        result: int = module.main(args, settings)
        return result

    return handler


def _not_about_voice(record: logging.LogRecord) -> bool:
    """Drop discord.py's start-up warnings about voice libraries: the bot never joins voice."""
    return "voice will NOT be supported" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if settings.log_level != "DEBUG":
        # APScheduler narrates every job it adds; the bot logs its own one-line schedule instead.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("discord.client").addFilter(_not_about_voice)
    try:
        return _handlers()[args.command](args, settings)
    except HotPapersError as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hotpapers: interrupted", file=sys.stderr)
        return 130

