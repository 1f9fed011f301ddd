"""The ``hotpapers`` command line (contract in DESIGN.md)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from bot.config import Settings, SettingsError, load_settings
from bot.errors import HotPapersError

log = logging.getLogger("hotpapers")

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotpapers", description="Each arXiv mailing's hottest papers, in Discord.")
    parser.add_argument("--version", action="version", version=f"hotpapers {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    p.add_argument("--role", choices=("all", "gateway", "worker"),
                   help="all: the whole bot in one process (default); gateway: answer commands for --shards; "
                        "worker: run the jobs and send digests and DMs (one worker leads) ([cluster] role)")
    p.add_argument("--shards", metavar="IDS", help="a gateway's shard ids, e.g. 0-3 or 0,2 ([cluster] shards)")
    p.add_argument("--shard-count", type=int, metavar="N", help="shards in all ([cluster] shard_count)")

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
    p.add_argument("--batch", type=_positive, metavar="N",
                   help="papers stored per transaction (default 5000): an interruption loses at most one batch")

    sub.add_parser("doctor", help="check settings, database, Discord and each upstream")

    p = sub.add_parser("backup", help="a safe copy of the database, also while the bot runs")
    p.add_argument("file", metavar="FILE")

    p = sub.add_parser("harvest", help="bring arXiv's metadata into the store over OAI-PMH (resumable)")
    p.add_argument("--sets", help="comma-separated archives, categories or OAI sets, or 'all' "
                                  "(default: the archives of [ingest] categories)")
    p.add_argument("--from", dest="from_date", metavar="YYYY-MM-DD",
                   help="records changed on or after this day (default: since the last harvest)")

    p = sub.add_parser("site", help="write the feeds and pages as static files")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--mailings", type=int, default=30, help="how many recent mailings (default 30)")
    p.add_argument("--base-url", help="absolute address the site is served at (default: [web] base_url)")

    sub.add_parser("reindex", help="rebuild the search index beside the database from the stored papers")

    p = sub.add_parser("migrate-to", help="copy the SQLite database into PostgreSQL (resumable; checks counts)")
    p.add_argument("url", metavar="URL", help="postgresql://user@host:5432/database")
    p.add_argument("--batch", type=_positive, default=5000, help="rows per transaction (default 5000)")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def version() -> str:
    """The installed package's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("hotpapers")
    except PackageNotFoundError:
        return "unknown (not installed)"


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
        ("backup", "bot.cli.backup"),
        ("harvest", "bot.cli.harvest"),
        ("site", "bot.cli.site"),
        ("reindex", "bot.cli.reindex"),
        ("migrate-to", "bot.cli.migrate_to"),
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


def _not_per_retry(record: logging.LogRecord) -> bool:
    """Drop discord.py's traceback for every reconnect attempt: the bot logs the loss and the return once."""
    return not record.getMessage().startswith("Attempting a reconnect")


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
        logging.getLogger("discord.client").addFilter(_not_per_retry)
    for warning in settings.warnings:
        print(f"hotpapers: warning: {warning}", file=sys.stderr)
    try:
        code = _handlers()[args.command](args, settings)
        sys.stdout.flush()  # here, where a reader that went away is handled below, not at exit
        return code
    except HotPapersError as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hotpapers: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hotpapers top | head`): that is fine. Point stdout at /dev/null so the
        # interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0

