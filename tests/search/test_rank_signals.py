"""What separates two papers holding the same query words: whose author the query names, whose whole title
was typed, and whose own name (not a family's) was typed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.search.query import named
from bot.search.rank import forms
from bot.store import Store
from tests.search.papers import paper, stored

MANY_AUTHORS = tuple(f"Author{n} Person{n}" for n in range(30))

LIBRARY = [
    paper("2106.13414", "The Price of Tolerance in Distribution Testing",
          abstract="We revisit tolerant testing of distributions.",
          authors=("Clement L. Canonne", "Ayush Jain", "Gautam Kamath"), year=2021),
    paper("2007.09895", "On Distribution Testing in the Conditional Sampling Model",
          abstract="Following Canonne and others, we test distributions with conditional samples.",
          authors=("Shyam Narayanan",), year=2022),
    paper("1707.08567", "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications",
          abstract="The talks given at the workshop.", authors=("Kees A. Schouhamer Immink", *MANY_AUTHORS),
          year=2017),
    *[paper(f"2301.{n:05d}", f"Proceedings of the {n}th meeting on signals", abstract="Talks of a meeting.",
            year=2023) for n in range(1, 12)],
    paper("1406.02661", "Generative Adversarial Networks",
          abstract="We propose a new framework for estimating generative models via an adversarial process.",
          authors=("Ian J. Goodfellow",), year=2014),
    paper("2405.00001", "Generative adversarial networks for tabular data synthesis",
          abstract="Generative adversarial networks make tables.", year=2024),
    paper("2501.12948", "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
          abstract="We introduce our first-generation reasoning models.", authors=("DeepSeek-AI",), year=2025),
    paper("2412.19437", "DeepSeek-V3 Technical Report", abstract="We present a strong Mixture-of-Experts model.",
          authors=("DeepSeek-AI",), year=2024),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from stored(tmp_path, LIBRARY)


def first(store: Store, query: str) -> str:
    return store.search(query)[0].id


def test_the_named_author_beats_a_paper_citing_that_name(store: Store) -> None:
    assert first(store, "distribution canonne") == "2106.13414"


def test_an_author_among_many_is_still_found(store: Store) -> None:
    assert first(store, "proceedings immink") == "1707.08567"


def test_a_whole_title_typed_in_any_order_beats_a_longer_newer_title(store: Store) -> None:
    assert first(store, "generative networks adversarial") == "1406.02661"


def test_a_family_name_does_not_outweigh_the_title_words(store: Store) -> None:
    assert first(store, "deepseek technical") == "2412.19437"
    assert first(store, "deepseek r1") == "2501.12948"


def test_whole_names_are_told_from_a_family_first_word() -> None:
    assert named("DeepSeek-R1: Incentivizing Reasoning", "") == {"deepseekr1": True, "deepseek": False}
    assert named("BERT: Pre-training of Deep Bidirectional Transformers", "") == {"bert": True}


def test_a_name_weighs_by_the_share_of_the_query_it_covers(tmp_path: Path) -> None:
    library = [
        paper("2601.00001", "REST: Stress Testing Large Reasoning Models by Asking Multiple Problems at Once",
              abstract="We present REST, yet another stress test.", year=2026),
        paper("2601.00002", "Automated Test Generation for REST APIs: No Time to Rest Yet",
              abstract="A study of test generators for web services.", year=2025),
    ]
    for store in stored(tmp_path, library):
        assert first(store, "yet rest apis") == "2601.00002"
        assert first(store, "rest") == "2601.00001"  # the name alone still names that paper


def test_a_title_typed_but_for_one_word_beats_a_longer_title_holding_the_words_in_a_row(tmp_path: Path) -> None:
    library = [
        paper("1707.06347", "Proximal Policy Optimization Algorithms",
              abstract="We propose a family of policy gradient methods: proximal optimization algorithms for "
                       "reinforcement learning.", year=2017),
        paper("2403.00001", "Proximal optimization algorithms for nonsmooth problems in imaging",
              abstract="We study proximal optimization algorithms for imaging.", year=2024),
    ]
    for store in stored(tmp_path, library):
        assert first(store, "proximal optimization algorithms") == "1707.06347"  # "policy" left out
        # Words the short title does not hold: no longer that title with a word left out.
        assert first(store, "proximal optimization algorithms imaging") == "2403.00001"


def test_a_word_typed_in_the_other_number_still_matches_the_title(tmp_path: Path) -> None:
    library = [
        paper("1406.02661", "Generative Adversarial Networks",
              abstract="We propose a new framework for estimating generative models via an adversarial process.",
              year=2014),
        paper("2404.00002", "Generative adversarial network priors for imaging",
              abstract="A generative adversarial network as a prior.", year=2024),
        # "network" is a common word, as on arXiv (in a tenth of all papers)
        *[paper(f"2301.{n:05d}", f"Traffic flow on a road network, part {n}", abstract="A network.", year=2023)
          for n in range(1, 20)],
    ]
    for store in stored(tmp_path, library):
        assert first(store, "generative adversarial network") == "1406.02661"  # the whole title, singular
        hit = store.search_hits("generative adversarial network")[0]
        assert "networks" in hit.title_terms  # shown in bold as the title writes it


def test_words_that_only_end_like_plurals_keep_their_meaning() -> None:
    assert forms("networks") == ("networks", "network") and forms("theory") == ("theory", "theories")
    assert forms("dynamics") == ("dynamics",) and forms("news") == ("news",)
    assert forms("analysis")[0] == "analysis" and "analysi" not in forms("analysis")
