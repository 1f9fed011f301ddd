"""Each way of asking: words, a pasted title, a typo, a missing word, authors, phrases, the word being typed,
a category; and what recency and engagement may (and may not) change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.observations import Observation
from bot.store import Store
from tests.search.papers import paper, stored

LIBRARY = [
    paper("1512.03385", "Deep Residual Learning for Image Recognition",
          abstract="Deeper neural networks are harder to train; we present residual learning.",
          authors=("Kaiming He", "Xiangyu Zhang"), categories=("cs.CV",), year=2015),
    paper("2401.00001", "Residual connections in image models", abstract="Image models and deep learning.",
          authors=("Mary Deep",), categories=("cs.CV",), year=2024),
    paper("2402.00002", "Deep learning for image recognition: a survey",
          abstract="We survey deep learning for recognition of images.", categories=("cs.CV", "cs.LG"),
          year=2024),
    paper("1706.03762", "Attention Is All You Need", abstract="The Transformer, based only on attention.",
          authors=("Ashish Vaswani", "Noam Shazeer"), categories=("cs.CL", "cs.LG"), year=2017),
    paper("2403.00003", "Sparse attention for long documents", abstract="Attention that is sparse.",
          authors=("Grace Hopper",), categories=("cs.CL",), year=2024),
    paper("2404.00004", "Graph neural networks at scale", abstract="Message passing on huge graphs.",
          authors=("Ashish Kumar",), categories=("cs.LG",), year=2024),
    paper("hep-th/9711200", "The Large N Limit of Superconformal Field Theories and Supergravity",
          abstract="Large N limits of conformal field theories.", authors=("Juan Maldacena",),
          categories=("hep-th",), year=1997),
    paper("2405.00005", "Large language models are field theories",
          abstract="A limit of large models.", categories=("cs.CL",), year=2024),
    paper("1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
          abstract="A language representation model.", authors=("Jacob Devlin",), categories=("cs.CL",),
          year=2018),
    paper("1707.06347", "Proximal Policy Optimization Algorithms",
          abstract="A family of policy gradient methods, which we call proximal policy optimization (PPO).",
          authors=("John Schulman",), categories=("cs.LG",), year=2017),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from stored(tmp_path, LIBRARY)


def ids(found: list) -> list[str]:  # type: ignore[type-arg]
    return [item.id for item in found]


def test_title_words_beat_abstract_words_and_recency(store: Store) -> None:
    # Newer papers hold these words too, in their abstracts or in part: the 2015 title match comes first.
    assert ids(store.search("deep residual learning"))[0] == "1512.03385"
    assert ids(store.search("Deep Residual Learning for Image Recognition"))[0] == "1512.03385"


def test_a_typo_still_finds_the_paper(store: Store) -> None:
    assert ids(store.search("deep residaul learning image recognition"))[0] == "1512.03385"
    assert ids(store.search("superconformal feild theories"))[0] == "hep-th/9711200"


def test_a_missing_word_still_finds_the_paper(store: Store) -> None:
    assert ids(store.search("large limit of superconformal theories supergravity"))[0] == "hep-th/9711200"


def test_an_old_paper_is_found_by_common_words(store: Store) -> None:
    assert ids(store.search("large n limit field theories"))[0] == "hep-th/9711200"


def test_a_bare_author_name_with_a_topic(store: Store) -> None:
    assert ids(store.search("vaswani attention"))[0] == "1706.03762"
    assert ids(store.search("he residual"))[0] == "1512.03385"


def test_the_author_form_requires_that_author(store: Store) -> None:
    assert ids(store.search("author:vaswani")) == ["1706.03762"]
    assert ids(store.search('author:"ashish" networks')) == ["2404.00004", "1706.03762"]
    assert ids(store.search("au:hopper attention")) == ["2403.00003"]
    assert store.search("author:nobodyknows attention") == []


def test_a_quoted_phrase_must_appear_in_a_row(store: Store) -> None:
    assert ids(store.search('"image recognition"')) == ["2402.00002", "1512.03385"]
    assert ids(store.search('"recognition image"')) == []
    assert "1512.03385" not in ids(store.search('"residual connections"'))


def test_nicknames_a_paper_gives_itself(store: Store) -> None:
    assert ids(store.search("bert"))[0] == "1810.04805"
    assert ids(store.search("ppo"))[0] == "1707.06347"


def test_category_filter(store: Store) -> None:
    assert ids(store.search("deep learning image", category="cs.LG")) == ["2402.00002"]
    assert set(ids(store.search("attention", category="cs"))) == {"1706.03762", "2403.00003"}
    assert store.search("attention", category="hep-th") == []


def test_the_last_word_completes_as_a_prefix(store: Store) -> None:
    assert ids(store.title_suggestions("attention is all you ne")) == ["1706.03762"]
    assert ids(store.title_suggestions("superconf")) == ["hep-th/9711200"]
    assert ids(store.title_suggestions("graph neural net")) == ["2404.00004"]
    assert store.title_suggestions("graph neural net ") == []  # a finished word is a whole word
    assert store.title_suggestions("qqzz") == []


def test_engagement_never_lifts_a_worse_match(store: Store) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    store.upsert_papers([paper("2406.00006", "Sparse attention for long sequences", year=2024)])
    store.record_observations([Observation("hn", "story-1", ("2406.00006",), {"points": 5000, "comments": 900},
                                           "https://news.ycombinator.com/item?id=1", now)])
    # The famous one misses "documents"; the one holding every word stays first, newer or not.
    assert ids(store.search("sparse attention long documents", now=now))[:2] == ["2403.00003", "2406.00006"]
    assert ids(store.search("sparse attention long sequences", now=now))[0] == "2406.00006"


def test_why_each_result_matched(store: Store) -> None:
    [hit, *_] = store.search_hits("vaswani attention need")
    assert hit.paper.id == "1706.03762"
    assert hit.title_terms == {"attention", "need"}
    assert hit.authors == ("Ashish Vaswani",)
