"""The search benchmark asks for a paper by the words that identify it: its rarest, not its longest."""

from __future__ import annotations

from bench.bench_search import Target, _distinctive, make_heldout, make_queries


def test_distinctive_words_are_the_rarest_in_title_order() -> None:
    # "efficient" is in 7 % of papers, "algorithms" in 6 %, an unlisted word in at most 1 %.
    assert _distinctive(["efficient", "algorithms", "superfluidity"], 2) == "algorithms superfluidity"
    assert _distinctive(["efficient", "algorithms", "superfluidity"], 1) == "superfluidity"


def test_the_held_out_set_asks_other_questions_than_the_first() -> None:
    papers = [Target(f"2001.{n:05d}", 2015, f"Efficient superfluidity algorithms in nanoscale networks {n}",
                     ("Ada Lovelace",), "Nothing.", ("cs.LG",), "Mon, 1 Jan 2015") for n in range(10)]
    first = {(kind, target) for kind, _, target in make_queries(papers)}
    held = {(kind, target) for kind, _, target in make_heldout(papers)}
    assert len(held) == 10 and not first & held
