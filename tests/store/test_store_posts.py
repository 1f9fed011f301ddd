"""What observed posts said is kept (newest observation wins) and read back per paper, best first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.sources.observations import Observation
from bot.store import Store

AT = datetime(2021, 7, 15, 9, 0, tzinfo=UTC)


def post(post_id: str, likes: int, at: datetime, *, paper: str = "2107.05677", text: str = "first line",
         source: str = "bluesky") -> Observation:
    return Observation(source, post_id, (paper, "2107.06263"), {"likes": likes}, f"https://bsky.app/{post_id}",
                       at, author=f"{post_id}.bsky.social", text=text)


def test_posts_are_read_best_first_with_their_words_and_the_newest_observation_wins(db_location: Path | str) -> None:
    store = Store(db_location)
    try:
        store.record_posts([post("a", 5, AT), post("b", 50, AT), post("c", 1, AT, text="")])
        store.record_posts([post("a", 500, AT + timedelta(hours=1), text="edited")])
        store.record_posts([post("a", 1, AT - timedelta(hours=1), text="stale")])  # older: ignored
        context = store.post_context(["2107.05677"], AT + timedelta(days=1))
        posts = context.of("2107.05677").posts
        assert [(p.author, p.text, dict(p.counts)) for p in posts] == [
            ("a.bsky.social", "edited", {"likes": 500}), ("b.bsky.social", "first line", {"likes": 50}),
            ("c.bsky.social", "", {"likes": 1})]
        assert store.post_context(["2107.05677"], AT + timedelta(days=1), per_paper=1).of(
            "2107.05677").posts[0].author == "a.bsky.social"
        assert store.post_context(["2107.05677"], AT - timedelta(days=1)).of("2107.05677").posts == ()
        assert store.schema_versions()["posts"] == 1
    finally:
        store.close()


def test_code_and_the_time_counts_were_taken(db_location: Path | str) -> None:
    store = Store(db_location)
    try:
        hf = Observation("hf", "2107.05677", ("2107.05677",), {"upvotes": 41}, "https://huggingface.co/papers/x",
                         AT, repo="https://github.com/p-lambda/jukemir", stars=1234)
        store.record_observations([hf])
        store.record_posts([hf])
        context = store.post_context(["2107.05677", "2107.00000"], AT + timedelta(hours=2))
        extras = context.of("2107.05677")
        assert extras.code is not None and (extras.code.url, extras.code.stars) == (
            "https://github.com/p-lambda/jukemir", 1234)
        assert extras.posts == ()  # a paper page is not a post with words
        assert extras.as_of == AT and context.as_of == AT
        assert context.of("2107.00000").as_of is None
    finally:
        store.close()
