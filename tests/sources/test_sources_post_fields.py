"""Each source also says who posted and the post's first line (for the post's "who is talking"), and Hugging
Face the paper's code repository with its stars."""

from __future__ import annotations

from bot.sources import bluesky, hackernews, huggingface, x
from tests.fixtures.engagement.recorded import NOW, load


def test_hacker_news_story_author_and_title() -> None:
    stories = hackernews.parse_search(load("hn_search_by_date_page0.json"), NOW).observations
    assert (stories[0].author, stories[0].text) == (
        "musicfan", "Jukebox representations help music information retrieval")


def test_bluesky_handle_and_first_line() -> None:
    posts = bluesky.parse_search_posts(load("bluesky_search_page1.json"), NOW).observations
    assert [(p.author, p.text) for p in posts][1] == (
        "papers.bsky.social", "Three good reads today: MaskFormer, epistemic POMDPs, Combiner")


def test_x_username_and_first_line() -> None:
    tweets = x.parse_recent_search(load("x_search_page1.json"), NOW).observations
    assert (tweets[0].author, tweets[0].text) == (
        "chrisdonahuey", "There are music representations lurking in Jukebox https://t.co/abc0")


def test_hugging_face_code_repository_and_stars() -> None:
    payload = [{"paper": {"id": "2107.05677", "upvotes": 41, "githubRepo": "https://github.com/p-lambda/jukemir",
                          "githubStars": 1234}, "numComments": 3},
               {"paper": {"id": "2107.06263", "upvotes": 2, "githubRepo": "javascript:alert(1)"}}]
    first, second = huggingface.parse_daily_papers(payload, NOW)
    assert (first.repo, first.stars) == ("https://github.com/p-lambda/jukemir", 1234)
    assert (second.repo, second.stars, second.author) == (None, None, None)
