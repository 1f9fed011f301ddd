"""Semantic Scholar's Graph API (citation counts) against the local upstream fake, with the recorded payloads:
a batch answer with null for an unknown id, a 404 body, a 429 with Retry-After, malformed bodies. No failure
reaches the caller: it just means no counts this time."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from bot.sources.semantic_scholar import SemanticScholarClient
from tests.fakes.upstream import UpstreamServer
from tests.sources.cassettes import Interaction, interactions

BATCH = "/graph/v1/paper/batch"
ASKED = ["1706.03762", "hep-th/9711200", "2107.05677", "quant-ph/9508027"]


def recorded(shared_fixtures: Path, name: str) -> Interaction:
    [first, *_] = interactions(shared_fixtures / "semantic_scholar" / name)
    return first


def client(session: aiohttp.ClientSession, upstream: UpstreamServer, key: str | None = None
           ) -> SemanticScholarClient:
    return SemanticScholarClient(session, upstream.url + "/graph/v1", key=key, interval=0.0)


async def test_one_batch_post_maps_counts_by_position_and_null_to_unknown(
        shared_fixtures: Path, upstream: UpstreamServer) -> None:
    batch = recorded(shared_fixtures, "s2_cassette_test_get_papers_return_not_found.yaml")
    assert (batch.method, batch.status) == ("POST", 200)
    upstream.reply(BATCH, batch.body, method="POST", content_type="application/json")
    async with aiohttp.ClientSession() as session:
        counts = await client(session, upstream).citation_counts(ASKED)
    # The recorded answer: null, then papers cited 10670, 2185 and 0 times.
    assert counts == {"1706.03762": None, "hep-th/9711200": 10670, "2107.05677": 2185, "quant-ph/9508027": 0}
    [request] = upstream.requests_to(BATCH)
    assert request.method == "POST" and request.query == {"fields": "citationCount"}
    assert json.loads(request.body) == {"ids": [f"arXiv:{paper_id}" for paper_id in ASKED]}
    assert "x-api-key" not in {name.lower() for name in request.headers}


async def test_the_key_goes_in_x_api_key_and_is_never_logged(
        shared_fixtures: Path, upstream: UpstreamServer, caplog: pytest.LogCaptureFixture) -> None:
    upstream.reply(BATCH, status=503, method="POST", body=b"upstream busy")
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session:
        assert await client(session, upstream, key="s2-secret-key-123").citation_counts(ASKED[:1]) == {}
    [request] = upstream.requests_to(BATCH)
    assert request.headers.get("x-api-key") == "s2-secret-key-123"
    assert "s2-secret-key-123" not in caplog.text


async def test_a_404_body_means_no_counts(shared_fixtures: Path, upstream: UpstreamServer) -> None:
    missing = recorded(shared_fixtures, "s2_cassette_test_not_found.yaml")
    assert missing.status == 404
    upstream.reply(BATCH, missing.body, status=404, method="POST", content_type="application/json")
    async with aiohttp.ClientSession() as session:
        assert await client(session, upstream).citation_counts(ASKED) == {}


async def test_429_with_retry_after_gives_up_at_once_and_asks_nothing_until_then(
        upstream: UpstreamServer) -> None:
    upstream.reply(BATCH, {"message": "Too Many Requests", "code": "429"}, status=429, method="POST",
                   headers={"Retry-After": "30"})
    async with aiohttp.ClientSession() as session:
        s2 = client(session, upstream)
        assert await s2.citation_counts(ASKED) == {}
        assert await s2.citation_counts(ASKED) == {}  # within the 30 s asked: no request at all
    assert len(upstream.requests_to(BATCH)) == 1


@pytest.mark.parametrize("body", [
    b'[null, {"paperId": "x", "citationCount": 3}',  # cut short
    b"Rate exceeded.",  # a gateway's throttling answer, with a 200
    b'{"data": []}',  # another shape
    b'[{"paperId": "x", "citationCount": 3}]',  # fewer entries than ids asked
    b'[null, null, null, {"paperId": "x", "citationCount": "many"}]',
    b"\xff\xfe not text",
])
async def test_malformed_bodies_mean_no_counts(upstream: UpstreamServer, body: bytes) -> None:
    upstream.reply(BATCH, body, method="POST", content_type="application/json")
    async with aiohttp.ClientSession() as session:
        assert await client(session, upstream).citation_counts(ASKED) == {}


async def test_an_unreachable_service_means_no_counts_and_no_second_try_for_a_while(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as session:
        s2 = SemanticScholarClient(session, "http://127.0.0.1:9/graph/v1", interval=0.0)
        assert await s2.citation_counts(ASKED) == {}
        assert await s2.citation_counts(ASKED) == {}
    assert caplog.text.count("no citation counts for 60 s") == 1  # the second call did not try


async def test_at_most_500_ids_in_one_request(upstream: UpstreamServer) -> None:
    upstream.reply(BATCH, [None] * 500, method="POST")
    ids = [f"2401.{n:05d}" for n in range(600)]
    async with aiohttp.ClientSession() as session:
        counts = await client(session, upstream).citation_counts(ids)
    assert list(counts) == ids[:500] and set(counts.values()) == {None}
    [request] = upstream.requests_to(BATCH)
    assert len(json.loads(request.body)["ids"]) == 500
