"""``hotpapers doctor``: the settings, the database, and whether each upstream answers.

Exit 0 when every required part is fine (settings, database, arXiv API and feeds), else 1. Engagement
sources are optional: a failing one is reported but does not fail the check. To check another upstream, add
a row to :data:`UPSTREAM_CHECKS`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.cli.signals import last_refresh_lines
from bot.config import Settings
from bot.errors import UpstreamError
from bot.sources.arxiv import SERVICE as ARXIV_SERVICE
from bot.sources.http import Pacer, PoliteHttp, RetryPolicy
from bot.store import Store

TIMEOUT = 5.0  # seconds per upstream check
SECRETS = ("discord_token", "bluesky_password", "x_bearer")


@dataclass(frozen=True)
class Probe:
    """One cheap request that shows an upstream answers."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpstreamCheck:
    """A row of the doctor's table: ``probe`` returns None when the source is off (no credentials)."""

    name: str
    required: bool
    probe: Callable[[Settings], Probe | None]
    paced_as_arxiv: bool = False  # arXiv's one-request-every-N-seconds applies


UPSTREAM_CHECKS: tuple[UpstreamCheck, ...] = (
    UpstreamCheck("arXiv API", True,
                  lambda s: Probe(s.arxiv_api, {"id_list": "2107.05677", "max_results": "1"}),
                  paced_as_arxiv=True),
    UpstreamCheck("arXiv feeds", True, lambda s: Probe(f"{s.arxiv_feeds}/cs.LG"), paced_as_arxiv=True),
    UpstreamCheck("Hugging Face", False, lambda s: Probe(f"{s.hf_api}/daily_papers", {"limit": "1"})),
    UpstreamCheck("Hacker News", False,
                  lambda s: Probe(f"{s.hn_api}/search", {"query": "arxiv.org", "hitsPerPage": "1"})),
    UpstreamCheck("Bluesky", False,
                  lambda s: Probe(f"{s.bluesky_api}/_health") if s.bluesky_handle and s.bluesky_password
                  else None),
    UpstreamCheck("X", False,
                  lambda s: Probe(f"{s.x_api}/tweets/search/recent",
                                  {"query": "arxiv.org", "max_results": "10"},
                                  {"Authorization": f"Bearer {s.x_bearer}"}) if s.x_bearer else None),
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    required: bool
    detail: str
    off: bool = False  # a source without credentials

    def line(self) -> str:
        if self.off:
            return f"  {self.name:<14} off ({self.detail})"
        mark = "ok" if self.ok else ("FAILED" if self.required else "warning")
        return f"  {self.name:<14} {mark:<8} {self.detail}"


def main(args: argparse.Namespace, settings: Settings) -> int:
    print("settings" + (f" (from {settings.config_path})" if settings.config_path else
                        " (defaults and environment; no settings file)"))
    for name, value in setting_lines(settings):
        print(f"  {name} = {value}")
    database = check_database(settings)
    print("database")
    print(database.line())
    print("upstreams")
    results = asyncio.run(check_upstreams(settings))
    for result in results:
        print(result.line())
    print("engagement (each source's last refresh)")
    for line in last_refresh_lines(settings):
        print(line)
    failed = [r.name for r in (database, *results) if r.required and not r.ok]
    if failed:
        print(f"not ready: {', '.join(failed)}")
        return 1
    print("ready")
    return 0


def setting_lines(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (name, shown value); secrets only as set/unset."""
    lines: list[tuple[str, str]] = []
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        if item.name in SECRETS:
            lines.append((item.name, "set" if value else "unset"))
        elif dataclasses.is_dataclass(value):
            for sub in dataclasses.fields(value):
                lines.append((f"{item.name}.{sub.name}", _shown(getattr(value, sub.name))))
        else:
            lines.append((item.name, _shown(value)))
    return lines


def _shown(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return "(none)" if value is None else str(value)


def check_database(settings: Settings) -> CheckResult:
    """Opens (and migrates) the database; reports its schema versions and size."""
    path = settings.db_path
    if not path.exists():
        return CheckResult("database", True, True,
                           f"{path} does not exist yet ('hotpapers ingest' creates it)")
    try:
        store = Store(path)
        try:
            versions = store.schema_versions()
            count = store.paper_count()
        finally:
            store.close()
    except (sqlite3.Error, OSError) as exc:
        return CheckResult("database", False, True, f"{path}: {exc}")
    shown = ", ".join(f"{domain} v{version}" for domain, version in sorted(versions.items()))
    return CheckResult("database", True, True, f"{path}: {count} papers; schema {shown}")


async def check_upstreams(settings: Settings) -> list[CheckResult]:
    """Runs every row of UPSTREAM_CHECKS (arXiv's two one after the other, politely; the rest at once)."""
    retry = RetryPolicy(attempts=1, timeout=TIMEOUT)
    async with aiohttp.ClientSession() as session:
        async def run(check: UpstreamCheck) -> CheckResult:
            probe = check.probe(settings)
            if probe is None:
                return CheckResult(check.name, True, check.required, "no credentials", off=True)
            http = PoliteHttp(session, service=ARXIV_SERVICE if check.paced_as_arxiv else check.name,
                              interval=settings.arxiv_interval if check.paced_as_arxiv else 0.0,
                              retry=retry, pacer=None if check.paced_as_arxiv else Pacer())  # None: shared
            started = time.monotonic()
            try:
                response = await http.get(probe.url, params=probe.params, headers=probe.headers,
                                          read_body=False)
            except UpstreamError as exc:
                return CheckResult(check.name, False, check.required, f"{probe.url}: {exc}")
            elapsed = (time.monotonic() - started) * 1000
            if response.ok:
                return CheckResult(check.name, True, check.required,
                                   f"{probe.url}: HTTP {response.status} in {elapsed:.0f} ms")
            hint = " (credentials refused)" if response.status in (401, 403) else ""
            return CheckResult(check.name, False, check.required,
                               f"{probe.url}: HTTP {response.status}{hint}")

        return list(await asyncio.gather(*(run(check) for check in UPSTREAM_CHECKS)))
