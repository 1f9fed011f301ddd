"""Hugging Face daily papers: upvotes and comments, against the recorded paper object and a local server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sources.huggingface import HuggingFaceClient, parse_daily_papers, parse_paper
from bot.sources.observations import FormatChanged, JsonClient, SourceError
from tests.fixtures.engagement.recorded import NOW, load


def test_recorded_paper_object_in_a_daily_papers_list(shared_fixtures: Path) -> None:
    paper = json.loads((shared_fixtures / "huggingface" /
                        "DERIVED_hf_daily_papers_paper_object_2509.04664.json").read_text())
    [observation] = parse_daily_papers([{"paper": paper, "numComments": 4}], NOW)
    assert observation.paper_ids == ("2509.04664",)
    assert observation.counts == {"upvotes": 26, "comments": 4}
    assert observation.url == "https://huggingface.co/papers/2509.04664"


def test_comments_beside_the_paper_and_versioned_ids_made_canonical() -> None:
    observations = parse_daily_papers(load("hf_daily_papers_2021-07-15.json"), NOW)
    assert {o.post_id: dict(o.counts) for o in observations} == {
        "2107.05677": {"upvotes": 41, "comments": 3},
        "2107.06263": {"upvotes": 12, "comments": 0},
    }


def test_a_renamed_upvotes_field_is_a_format_change() -> None:
    with pytest.raises(FormatChanged):
        parse_daily_papers(load("hf_daily_papers_changed.json"), NOW)
    with pytest.raises(FormatChanged):
        parse_daily_papers({"error": "Invalid date"}, NOW)


def test_paper_lookup_by_id() -> None:
    observation = parse_paper({"id": "2107.05677", "upvotes": 7}, NOW)
    assert observation is not None and observation.counts == {"upvotes": 7}


async def test_client_asks_one_day_per_request_and_a_paper_by_id(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/api/daily_papers", load("hf_daily_papers_2021-07-15.json"), query={"date": "2021-07-15"})
    upstream.reply("/api/papers/2107.05768", {"id": "2107.05768", "upvotes": 9, "numComments": 1})
    upstream.reply("/api/papers/2107.99999", {"error": "Paper not found"}, status=404)
    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW))
        hf = HuggingFaceClient(client, upstream.url + "/api")
        day = await hf.daily_papers(date(2021, 7, 15), NOW)
        found = await hf.paper("2107.05768", NOW)
        missing = await hf.paper("2107.99999", NOW)
    assert sorted(o.post_id for o in day) == ["2107.05677", "2107.06263"]
    assert found is not None and found.counts == {"upvotes": 9, "comments": 1}
    assert missing is None
    assert client.requests == 3


async def test_server_error_after_retries_is_reported_as_down(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/api/daily_papers", {"error": "busy"}, status=503)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW), sleep=record, retries=2)
        with pytest.raises(SourceError) as failure:
            await HuggingFaceClient(client, upstream.url + "/api").daily_papers(date(2021, 7, 15), NOW)
    assert failure.value.kind == "down"
    assert len(upstream.requests_to("/api/daily_papers")) == 3 and len(waits) == 2
