"""``hotpapers site DIR [--mailings N] [--base-url URL]``: the pages and category feeds the web server serves,
written as static files (``index.html``, ``m/DATE/index.html``, ``m/DATE/CAT/index.html``, ``feeds/CAT.rss``…).

Server feeds (``/feeds/guild/…``) are left out: a static site is public, and a server's feed is only for the
people its admins give the address to."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import feeds, site
from bot.clock import clock_from_env
from bot.config import Settings
from bot.errors import HotPapersError
from bot.store import Store
from bot.web import Publisher


def main(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.database_exists():
        raise HotPapersError(f"no database at {settings.db_path} (HOTPAPERS_DB): run 'hotpapers ingest' first")
    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        raise HotPapersError(f"{target} is not a directory")
    if not 1 <= args.mailings <= 1000:
        raise HotPapersError("--mailings must be between 1 and 1000")
    publisher = Publisher(settings, args.base_url or settings.web.base_url or "")
    categories = publisher.categories()
    now = clock_from_env().now()
    written = 0

    def write(relative: str, body: bytes) -> None:
        nonlocal written
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written += 1

    store = Store(settings.database)
    try:
        days = publisher.recent_mailings(store, args.mailings)
        write("index.html", publisher.index(store, args.mailings))
        for day in days:
            write(f"m/{day.isoformat()}/index.html", site.mailing_html(publisher.mailing_page(store, day, None, now)))
            for category in categories:
                write(f"m/{day.isoformat()}/{category}/index.html",
                      site.mailing_html(publisher.mailing_page(store, day, category, now)))
        for category in categories:
            for ext, (_, render) in feeds.FORMATS.items():
                write(f"feeds/{category}.{ext}", render(publisher.category_feed(store, category, ext, now)))
    finally:
        store.close()
    print(f"wrote {written} files for {len(days)} mailing(s) and {len(categories)} categories to {target}")
    return 0
