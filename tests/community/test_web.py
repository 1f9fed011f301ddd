"""Open feeds and pages, served by the running bot (``[web] port``) and written by ``hotpapers site``.

RSS 2.0 and Atom are parsed back with lxml (required elements, RFC 822 / RFC 3339 dates, unique ids), JSON Feed
is checked against a schema of JSON Feed 1.1's required fields, and the page is rendered by a real headless
Chromium (its screenshot path is printed; run pytest with ``-s`` to see it)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from lxml import etree, html

from bot.cli import main as cli_main
from bot.clock import ManualClock
from bot.config import load_settings
from bot.sources.observations import Observation
from bot.store import AsyncStore, Store
from bot.web import WebServer
from tests.community.tools import require
from tests.fakes.discord import FakeDiscord
from tests.harness import (
    MAILING,
    OBSERVED,
    PREVIOUS,
    Seed,
    bot_settings,
    make_paper,
    running_bot,
    seed_store,
    slash_reply,
)
from tests.polling import eventually

HOSTILE = '<script>alert("x")</script> @everyone & <b>bold</b>'
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "jsonfeed-1.1.json").read_text())
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store_with_hostile(tmp_path: Path) -> Seed:
    """The standard 12 ranked papers (paper i has 1000 - 50·i points) plus a hostile title with 975 points:
    ranked second."""
    hostile = make_paper("2611.20000", HOSTILE, authors=("<img src=x onerror=alert(1)>", "Zoë Ørsted"))
    return seed_store(tmp_path / "web.db", special=[hostile], points=[1000 - 50 * i for i in range(12)] + [975])


def expected_titles(seed: Seed) -> list[str]:
    """The mailing's titles by points, best first (from the seed's own numbers)."""
    points = {pid: 1000 - 50 * i for i, pid in enumerate(seed.paper_ids[:12])} | {"2611.20000": 975}
    return [seed.titles[pid] for pid in sorted(points, key=lambda pid: -points[pid])]


def check_rss(body: bytes) -> list[etree._Element]:
    root = etree.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for name in ("title", "link", "description"):
        assert (channel.findtext(name) or "").strip(), name
    parsedate_to_datetime(channel.findtext("lastBuildDate"))
    items = channel.findall("item")
    guids = [item.findtext("guid") for item in items]
    assert len(set(guids)) == len(guids) and all(guids)
    for item in items:
        assert item.findtext("title") and item.findtext("link", "").startswith("https://arxiv.org/abs/")
        published = parsedate_to_datetime(item.findtext("pubDate"))  # RFC 822
        assert published.tzinfo is not None
    return items


def check_atom(body: bytes) -> list[etree._Element]:
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{name}") or "").strip(), name
    assert RFC3339.match(root.findtext(f"{ATOM}updated"))
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    entries = root.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == len(ids) and all(i and i.startswith("tag:") for i in ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}title")
        assert RFC3339.match(entry.findtext(f"{ATOM}updated"))
        assert entry.find(f"{ATOM}author/{ATOM}name") is not None
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith("https://arxiv.org/abs/")
    return entries


def check_json(body: bytes) -> dict[str, Any]:
    document = json.loads(body)
    jsonschema.validate(document, SCHEMA)
    ids = [item["id"] for item in document["items"]]
    assert len(set(ids)) == len(ids)
    for item in document["items"]:
        assert RFC3339.match(item["date_published"])
        datetime.fromisoformat(item["date_published"])
    return document


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes]:
    async with session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.read()


async def test_feeds_and_pages_from_the_running_bot(world: FakeDiscord, store_with_hostile: Seed,
                                                    tmp_path: Path) -> None:
    seed = store_with_hostile
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = bot_settings(world, seed.db, HOTPAPERS_WEB_PORT=str(port))
    titles = expected_titles(seed)
    async with running_bot(world, settings), aiohttp.ClientSession() as session:
        status, kind, body = await fetch(session, f"{base}/feeds/cs.LG.rss")
        assert status == 200 and kind.startswith("application/rss+xml")
        items = check_rss(body)
        # newest mailing first, best first: the mailing's ranking, then the previous mailing's paper
        assert [i.findtext("title") for i in items] == [f"{n}. {t}" for n, t in enumerate(titles[:10], 1)] + [
            "1. Yesterday's paper"]
        assert items[0].findtext("guid") == f"tag:hotpapers,{MAILING.isoformat()}:cs.LG/{seed.paper_ids[0]}"
        assert "hn: points 1000, comments 3" in items[0].findtext("description")
        assert items[-1].findtext("pubDate") == "Tue, 24 Nov 2026 01:00:00 GMT"  # 20:00 ET the evening before
        assert items[0].findtext("pubDate") == "Wed, 25 Nov 2026 01:00:00 GMT"

        status, kind, body = await fetch(session, f"{base}/feeds/cs.LG.atom")
        assert status == 200 and kind.startswith("application/atom+xml")
        entries = check_atom(body)
        assert [e.findtext(f"{ATOM}title") for e in entries][:3] == [f"{n}. {t}" for n, t in enumerate(titles[:3], 1)]

        status, kind, body = await fetch(session, f"{base}/feeds/cs.LG.json")
        assert status == 200 and kind.startswith("application/feed+json")
        document = check_json(body)
        assert document["feed_url"] == f"{base}/feeds/cs.LG.json"
        # an archive code works too; cs.CV holds only the odd papers
        status, _, body = await fetch(session, f"{base}/feeds/cs.json")
        assert status == 200 and len(check_json(body)["items"]) == 11
        status, _, body = await fetch(session, f"{base}/feeds/cs.CV.rss")
        assert all(seed.paper_ids.index(i.findtext("link").rsplit("/", 1)[1]) % 2 == 1
                   for i in check_rss(body) if "Yesterday" not in i.findtext("title"))

        # the escaped hostile title, in feeds as text (parsed back intact, never as markup)
        assert f"2. {HOSTILE}" in [i.findtext("title") for i in items]
        assert b"<script>" not in (await fetch(session, f"{base}/feeds/cs.LG.rss"))[2]

        status, kind, page = await fetch(session, f"{base}/m/{MAILING.isoformat()}/cs.LG")
        assert status == 200 and kind.startswith("text/html")
        assert b"<script" not in page and b"<img" not in page and b"<b>" not in page
        assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; @everyone &amp; &lt;b&gt;bold&lt;/b&gt;" in page
        tree = html.fromstring(page)
        assert not tree.xpath("//script | //img | //b | //*[@onerror]")
        shown = [h.text_content() for h in tree.xpath("//h2[@class='title']")]
        assert shown == [f"{n}. {t}" for n, t in enumerate(titles, 1)]
        article = tree.xpath("//article")[0]
        links = {a.text_content(): a.get("href") for a in article.xpath(".//a")}
        assert links["abs"] == f"https://arxiv.org/abs/{seed.paper_ids[0]}"
        assert links["pdf"] == f"https://arxiv.org/pdf/{seed.paper_ids[0]}"
        assert links["post"] == "https://news.ycombinator.com/item?id=1"
        assert links["cs.LG"] == "https://arxiv.org/list/cs.LG/recent"
        assert "hn: points: 1000, comments: 3" in article.text_content()

        status, _, index = await fetch(session, f"{base}/")
        assert status == 200 and f"/m/{MAILING.isoformat()}/".encode() in index
        assert index.index(MAILING.isoformat().encode()) < index.index(PREVIOUS.isoformat().encode())
        for missing in ("/m/2020-01-01", "/feeds/xx.YY.rss", "/feeds/guild/1.rss", "/nothing"):
            status, _, body = await fetch(session, base + missing)
            assert status == 404 and body.startswith(b"Not found"), missing

        # in a real browser: the page renders (a screenshot) and shows the titles in rank order
        chromium = require("chromium")
        url = f"{base}/m/{MAILING.isoformat()}/cs.LG"
        shot = tmp_path / "mailing.png"
        await run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  f"--screenshot={shot}", "--window-size=1200,2400", url)
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        print(f"\nscreenshot of {url}: {shot}")
        dom = await run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url)
        rendered = [h.text_content() for h in html.fromstring(dom).xpath("//h2[@class='title']")]
        assert rendered == [f"{n}. {t}" for n, t in enumerate(titles, 1)]
    # the bot stopped its server with it
    with pytest.raises(aiohttp.ClientConnectorError):
        async with aiohttp.ClientSession() as session:
            await fetch(session, f"{base}/")


async def run(*command: str) -> bytes:
    """Run a program without blocking the event loop the bot's server answers on."""
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE, env={**os.environ, "HOME": "/tmp"})
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out


async def test_a_servers_digest_feed_needs_its_key(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = bot_settings(world, seeded.db, HOTPAPERS_WEB_PORT=str(port), HOTPAPERS_WEB_BASE_URL="https://hp.example.org")
    async with running_bot(world, settings), aiohttp.ClientSession() as session:
        text, ephemeral, _ = await slash_reply(world, "feeds", {}, user=w.admin)
        assert ephemeral and "no digest" in text
        await slash_reply(world, "digest setup", {"channel": w.papers, "time": "09:00", "timezone": "UTC",
                                                  "categories": "cs.CV", "size": 3}, user=w.admin)
        text, ephemeral, _ = await slash_reply(world, "feeds", {}, user=w.admin)
        assert ephemeral
        urls = re.findall(r"<(https://hp\.example\.org/feeds/guild/\d+\.(?:rss|atom|json)\?key=\w+)>", text)
        assert len(urls) == 3
        local = urls[0].replace("https://hp.example.org", base)
        status, _, body = await fetch(session, local)
        assert status == 200
        items = check_rss(body)
        # cs.CV holds the odd papers; size 3 per mailing; min_score 50 leaves the previous day's 500 points in
        assert [i.findtext("link").rsplit("/", 1)[1] for i in items] == [
            seeded.paper_ids[1], seeded.paper_ids[3], seeded.paper_ids[5]]
        check_atom((await fetch(session, local.replace(".rss", ".atom")))[2])
        check_json((await fetch(session, local.replace(".rss", ".json")))[2])
        for wrong in (local.split("?")[0], local[:-1] + ("0" if local[-1] != "0" else "1")):
            status, _, _ = await fetch(session, wrong)
            assert status == 404


def test_hotpapers_site_writes_the_same_pages_and_feeds(store_with_hostile: Seed, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "site.toml").write_text('[ingest]\ncategories = ["cs.LG", "cs.CV"]\n')
    monkeypatch.setenv("HOTPAPERS_DB", str(store_with_hostile.db))
    monkeypatch.setenv("HOTPAPERS_CONFIG", str(tmp_path / "site.toml"))
    out = tmp_path / "public"
    assert cli_main(["site", str(out), "--base-url", "https://papers.example.org"]) == 0
    assert "for 2 mailing(s) and 2 categories" in capsys.readouterr().out
    page = (out / "m" / MAILING.isoformat() / "cs.LG" / "index.html").read_bytes()
    shown = [h.text_content() for h in html.fromstring(page).xpath("//h2[@class='title']")]
    assert shown == [f"{n}. {t}" for n, t in enumerate(expected_titles(store_with_hostile), 1)]
    assert b"<script" not in page
    assert (out / "index.html").exists() and (out / "m" / MAILING.isoformat() / "index.html").exists()
    check_rss((out / "feeds" / "cs.CV.rss").read_bytes())
    check_atom((out / "feeds" / "cs.LG.atom").read_bytes())
    assert check_json((out / "feeds" / "cs.LG.json").read_bytes())["feed_url"] == \
        "https://papers.example.org/feeds/cs.LG.json"
    assert not (out / "feeds" / "guild").exists()
    assert cli_main(["site", str(out / "index.html")]) == 1
    assert "is not a directory" in capsys.readouterr().err


async def test_counts_that_changed_reach_readers_within_a_minute_without_making_them_wait(
        seeded: Seed, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "hotpapers-test.toml").write_text("")
    settings = load_settings({"HOTPAPERS_DB": str(seeded.db), "HOTPAPERS_WEB_PORT": str(port),
                              "HOTPAPERS_CONFIG": str(tmp_path / "hotpapers-test.toml")}, dotenv=None)
    store = AsyncStore(seeded.db)
    await store.open()
    seconds = [0.0]
    clock = ManualClock(OBSERVED + timedelta(hours=1))
    server = WebServer(settings, store, clock, monotonic=lambda: seconds[0])
    await server.start()
    url = f"http://127.0.0.1:{port}/feeds/cs.LG.rss"

    async def first_link() -> str:
        async with aiohttp.ClientSession() as session:
            _, _, body = await fetch(session, url)
        return check_rss(body)[0].findtext("link").rsplit("/", 1)[1]

    try:
        assert await first_link() == seeded.paper_ids[0]
        last = seeded.paper_ids[11]
        writer = Store(seeded.db)
        try:  # the last paper shoots up
            writer.record_observations([Observation("hn", "hn-late", (last,), {"points": 5000},
                                                    "https://news.ycombinator.com/item?id=99",
                                                    OBSERVED + timedelta(minutes=30))])
        finally:
            writer.close()
        assert await first_link() == seeded.paper_ids[0]  # within the minute: the kept answer
        seconds[0] = 61.0
        clock.advance(timedelta(seconds=61))
        assert await first_link() == seeded.paper_ids[0]  # stale: answered at once, refreshed behind it
        await eventually(lambda: _is(first_link(), last), 5.0, "the refreshed ranking")
    finally:
        await server.stop()
        await store.close()


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


async def test_feeds_says_they_are_off_without_a_web_port(world: FakeDiscord, seeded: Seed) -> None:
    async with running_bot(world, bot_settings(world, seeded.db), ManualClock(OBSERVED)):
        text, ephemeral, _ = await slash_reply(world, "feeds", {}, user=world.world.admin)
        assert ephemeral and "Feeds are off" in text and "[web] port" in text
