"""Bluesky: posts linking arXiv papers, through a session, with cursor paging; 403 means unavailable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sources.bluesky import BlueskyClient, parse_post, parse_search_posts
from bot.sources.observations import JsonClient, SourceError
from tests.fixtures.engagement.recorded import NOW, load

SINCE = datetime(2021, 7, 13, 0, 0, tzinfo=UTC)



def test_recorded_post_views_without_arxiv_links_count_for_nothing(shared_fixtures: Path) -> None:
    for path in sorted((shared_fixtures / "bluesky").glob("*.json")):
        assert parse_post(json.loads(path.read_text()), NOW) is None, path.name


def test_recorded_link_card_pointing_at_arxiv_keeps_its_real_counts(shared_fixtures: Path) -> None:
    view = json.loads((shared_fixtures / "bluesky" / "atat_postview_repost.json").read_text())["post"]
    # Point the quoted article's link card at a paper: the quoting post's own record has no link, so it
    # must still count for nothing (the quoted post is counted on its own).
    view["embed"]["record"]["value"]["embed"]["external"]["uri"] = "https://arxiv.org/abs/2107.05677"
    assert parse_post(view, NOW) is None
    view["record"]["facets"] = [{"index": {"byteStart": 0, "byteEnd": 5}, "features": [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://arxiv.org/abs/2107.05677"}]}]
    observation = parse_post(view, NOW)
    assert observation is not None
    assert dict(observation.counts) == {"likes": 9, "reposts": 7, "quotes": 0, "replies": 1}
    assert observation.url == "https://bsky.app/profile/theferrarilab.bsky.social/post/3lhjnkjle5s2o"


def test_facets_and_link_cards_map_to_papers_and_one_post_counts_for_each_paper() -> None:
    page = parse_search_posts(load("bluesky_search_page1.json"), NOW)
    found = {o.url: (o.paper_ids, o.counts["likes"]) for o in page.observations}
    assert found == {
        # The text shows a shortened link ("2107.0567..."); the facet has the whole, versioned one.
        "https://bsky.app/profile/chrisdonahue.bsky.social/post/3k2aaaaaaaa2a": (("2107.05677",), 300),
        "https://bsky.app/profile/papers.bsky.social/post/3k2bbbbbbbb2b": (
            ("2107.06278", "2107.06277", "2107.05768"), 40),
    }
    assert page.cursor == "c2"


async def test_session_token_cursor_paging_and_repeats(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/xrpc/com.atproto.server.createSession", load("bluesky_session.json"), method="POST")
    upstream.reply("/xrpc/app.bsky.feed.searchPosts", load("bluesky_search_page2.json"),
                   query={"cursor": "c2"})
    upstream.reply("/xrpc/app.bsky.feed.searchPosts", load("bluesky_search_page1.json"))
    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW))
        bluesky = BlueskyClient(client, upstream.url + "/xrpc", "hotpapers.bsky.social", "app-pass-word")
        await bluesky.login()
        posts = await bluesky.posts_since(SINCE, NOW)
    login = upstream.requests_to("/xrpc/com.atproto.server.createSession")[0]
    assert json.loads(login.body) == {"identifier": "hotpapers.bsky.social", "password": "app-pass-word"}
    searches = upstream.requests_to("/xrpc/app.bsky.feed.searchPosts")
    assert [r.headers["Authorization"] for r in searches] == ["Bearer access-token-for-tests"] * 2
    assert [r.query.get("cursor") for r in searches] == [None, "c2"]
    assert searches[0].query["domain"] == "arxiv.org" and searches[0].query["since"] == "2021-07-13T00:00:00Z"
    # The same post on both pages is returned twice here; the refresh keeps one per (source, post).
    assert sorted({o.post_id for o in posts}) == [
        "at://did:plc:aaaa0000000000000000000a/app.bsky.feed.post/3k2aaaaaaaa2a",
        "at://did:plc:bbbb0000000000000000000b/app.bsky.feed.post/3k2bbbbbbbb2b"]


async def test_403_on_search_is_unavailable(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/xrpc/com.atproto.server.createSession", load("bluesky_session.json"), method="POST")
    upstream.reply("/xrpc/app.bsky.feed.searchPosts", {"error": "Forbidden", "message": "no search"},
                   status=403)
    async with aiohttp.ClientSession() as session:
        bluesky = BlueskyClient(JsonClient(session, ManualClock(NOW)), upstream.url + "/xrpc", "h", "p")
        await bluesky.login()
        with pytest.raises(SourceError) as failure:
            await bluesky.posts_since(SINCE, NOW)
    assert failure.value.kind == "unavailable"


async def test_wrong_app_password_is_unauthorised(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/xrpc/com.atproto.server.createSession",
                   {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                   status=401, method="POST")
    async with aiohttp.ClientSession() as session:
        bluesky = BlueskyClient(JsonClient(session, ManualClock(NOW)), upstream.url + "/xrpc", "h", "bad")
        with pytest.raises(SourceError) as failure:
            await bluesky.login()
    assert failure.value.kind == "unauthorised"
