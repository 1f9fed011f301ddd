"""``hotpapers signals [--date D]``: refresh a mailing's engagement now and say what each source did."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3

import psycopg

from bot.cli.top import parse_mailing_date, resolve_mailing
from bot.clock import clock_from_env
from bot.config import Settings
from bot.engagement import Refresh, refresh_mailings
from bot.errors import HotPapersError
from bot.sources.http import PERSON_DEADLINE
from bot.store import Store
from bot.store.signals import RefreshRecord


def main(args: argparse.Namespace, settings: Settings) -> int:
    wanted = parse_mailing_date(args.date)
    store = Store(settings.database)
    try:
        mailing = resolve_mailing(store, wanted)
        refresh = asyncio.run(refresh_mailings(store, [mailing], settings, clock_from_env(),
                                               deadline=PERSON_DEADLINE))
    finally:
        store.close()
    print(f"Engagement of the {mailing.isoformat()} mailing ({len(refresh.plan.paper_ids)} papers), "
          f"as of {refresh.observed_at:%Y-%m-%d %H:%M} UTC")
    print(format_summary(refresh))
    asked = [r for r in refresh.reports.values() if r.status != "off"]
    if asked and all(r.status == "failed" for r in asked):
        raise HotPapersError("every engagement source failed; see the summary above")
    return 0


def format_summary(refresh: Refresh) -> str:
    """One line per source: status, papers queried, papers matched, requests, and errors or why it is off."""
    lines = [f"{'source':<8} {'status':<8} {'queried':>7} {'matched':>7} {'requests':>8}  notes"]
    for report in refresh.reports.values():
        if report.status == "off":
            lines.append(f"{report.source:<8} {'off':<8} {'-':>7} {'-':>7} {'-':>8}  {report.off_reason}")
            continue
        notes = "; ".join(report.errors)
        lines.append(f"{report.source:<8} {report.status:<8} {report.queried:>7} {report.matched:>7} "
                     f"{report.requests:>8}  {notes}".rstrip())
    return "\n".join(lines)


def last_refresh_lines(settings: Settings) -> list[str]:
    """What ``hotpapers doctor`` says about engagement: each source's last refresh (when, status, requests,
    and the errors that made it fail: down, rate-limited, unauthorised, unavailable, changed format…)."""
    if not settings.database_exists():
        return ["  no refresh yet ('hotpapers signals' runs one)"]
    try:
        store = Store(settings.database)
        try:
            records = store.latest_signal_refreshes()
        finally:
            store.close()
    except (sqlite3.Error, psycopg.Error, OSError) as exc:
        return [f"  cannot read the refresh log: {exc}"]
    if not records:
        return ["  no refresh yet ('hotpapers signals' runs one)"]
    return [refresh_line(record) for record in records]


def refresh_line(record: RefreshRecord) -> str:
    """``  hn             failed   at 2021-07-15 12:00 UTC, 3 requests: down: HTTP 503``."""
    when = f"at {record.refreshed_at:%Y-%m-%d %H:%M} UTC"
    if record.status == "off":
        return f"  {record.source:<14} {'off':<8} {when}" + (f" ({record.errors[0]})" if record.errors else "")
    line = (f"  {record.source:<14} {record.status:<8} {when}, {record.requests} requests, "
            f"{record.matched} of {record.queried} papers engaged")
    return line + (": " + "; ".join(record.errors) if record.errors else "")
