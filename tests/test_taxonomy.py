"""The category taxonomy: canonical codes, aliases, archives, matching and autocomplete."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from bot.errors import UnknownCategory
from bot.taxonomy import (
    canonical_category,
    categories,
    category_name,
    expand,
    is_archive,
    matches,
    resolve_categories,
    search_categories,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        ("cs.LG", "cs.LG"),
        ("CS.lg", "cs.LG"),
        (" cs.lg ", "cs.LG"),
        ("hep-th", "hep-th"),
        ("astro-ph.co", "astro-ph.CO"),
        ("cond-mat.STR-EL", "cond-mat.str-el"),
        # arXiv's aliases resolve to the code arXiv calls canonical
        ("cs.SY", "eess.SY"),
        ("math.IT", "cs.IT"),
        ("math.MP", "math-ph"),
        ("q-fin.EC", "econ.GN"),
        ("stat.TH", "math.ST"),
        ("cs.NA", "math.NA"),
        # archives arXiv folded into a category mean that category
        ("cmp-lg", "cs.CL"),
        ("solv-int", "nlin.SI"),
        # archive codes stand as themselves
        ("cs", "cs"),
        ("MATH", "math"),
        ("astro-ph", "astro-ph"),
    ],
)
def test_codes_are_canonicalised(code: str, canonical: str) -> None:
    assert canonical_category(code) == canonical


@pytest.mark.parametrize(
    ("code", "suggestion"),
    [
        ("cs.LGG", "did you mean cs.LG?"),
        ("cs.CVV", "did you mean cs.CV?"),
        ("mathAG", "did you mean math.AG?"),
        ("machine learning", "did you mean cs.LG (Machine Learning)?"),
    ],
)
def test_an_unknown_category_is_refused_with_a_suggestion(code: str, suggestion: str) -> None:
    with pytest.raises(UnknownCategory) as refusal:
        canonical_category(code)
    assert str(refusal.value) == f"{code!r} is not an arXiv category; {suggestion}"


def test_an_unknown_category_with_nothing_close_gets_example_codes() -> None:
    with pytest.raises(UnknownCategory, match=r"'zzzz' is not an arXiv category; use a code such as cs\.LG"):
        canonical_category("zzzz")


def test_the_test_and_bad_entries_of_arxiv_are_not_categories() -> None:
    for code in ("test.soft", "bad-arch.bad-cat", "test"):
        with pytest.raises(UnknownCategory):
            canonical_category(code)


def test_resolve_categories_strips_drops_empties_canonicalises_and_dedupes_in_order() -> None:
    items = [" cs.LG", "", "  ", "CS.lg", "cs", "stat.TH", "math.ST", "eess.SY", "cs.SY"]
    assert resolve_categories(items) == ("cs.LG", "cs", "math.ST", "eess.SY")


def test_resolve_categories_names_the_bad_one() -> None:
    with pytest.raises(ValueError, match=r"'cs.XX' is not an arXiv category"):
        resolve_categories(["cs.LG", "cs.XX"])


def test_is_archive() -> None:
    assert is_archive("cs")
    assert is_archive("Astro-Ph")
    assert not is_archive("cs.LG")
    assert not is_archive("cmp-lg")  # folded into cs.CL


def test_an_archive_expands_to_its_categories_with_their_aliases() -> None:
    computer_science = expand(["cs"])
    assert {"cs.LG", "cs.CV", "cs.AI", "cs.SY", "eess.SY", "cs.NA", "math.NA"} <= computer_science
    assert "math.AG" not in computer_science
    assert "stat.ML" not in computer_science
    assert {"astro-ph", "astro-ph.CO", "astro-ph.GA"} <= expand(["astro-ph"])
    assert expand(["hep-th"]) == {"hep-th"}


def test_a_category_expands_to_all_its_spellings() -> None:
    assert expand(["eess.SY"]) == {"eess.SY", "cs.SY"}
    assert expand(["cs.SY"]) == {"eess.SY", "cs.SY"}
    assert expand(["cs.CL"]) == {"cs.CL", "cmp-lg"}
    assert expand(["cs.LG", "stat.ML"]) == {"cs.LG", "stat.ML"}


@pytest.mark.parametrize(
    ("paper_categories", "followed", "expected"),
    [
        (["cs.LG", "stat.ML"], ["stat.ML"], True),
        (["cs.LG", "stat.ML"], ["cs.CV"], False),
        (["cs.SY"], ["eess.SY"], True),  # alias on the paper
        (["eess.SY"], ["cs.SY"], True),  # alias in what is followed
        (["math.IT"], ["cs.IT"], True),
        (["cs.IT"], ["math"], True),  # cs.IT is math.IT, part of math
        (["cs.CV"], ["cs"], True),  # an archive stands for all its categories
        (["math.AG"], ["cs"], False),
        (["CS.cv"], ["cs.CV"], True),
        (["cmp-lg"], ["cs.CL"], True),
        (["made.UP"], ["cs"], False),  # an unknown code on a paper never matches, never raises
        ([], ["cs"], False),
        (["cs.LG"], [], False),
    ],
)
def test_matches(paper_categories: list[str], followed: list[str], expected: bool) -> None:
    assert matches(paper_categories, followed) is expected


def test_category_names() -> None:
    assert category_name("cs.LG") == "Machine Learning"
    assert category_name("cs.SY") == "Systems and Control"
    assert category_name("hep-th") == "High Energy Physics - Theory"
    assert category_name("cs") == "Computer Science"
    with pytest.raises(UnknownCategory):
        category_name("cs.XX")


def codes(text: str, limit: int = 25) -> list[str]:
    return [category.code for category in search_categories(text, limit)]


def test_autocomplete_finds_categories_by_words_of_their_name() -> None:
    assert codes("machine learning") == ["cs.LG", "stat.ML"]
    assert "cs.CV" in codes("vision")
    assert codes("computer vis") == ["cs.CV"]
    assert codes("Quantum phys") == ["quant-ph"]


def test_autocomplete_puts_code_prefix_matches_before_name_matches() -> None:
    assert codes("cs.L") == ["cs.LG", "cs.LO"]
    assert codes("lg")[0] == "cs.LG"  # the part after the dot
    assert codes("cs.lg") == ["cs.LG"]
    found = codes("ma")  # code prefix (math.*) and name words ("Machine Learning", "Materials Science")
    assert found[0].startswith("math")
    assert "cs.LG" in codes("ma", limit=100)
    assert codes("ma", limit=100).index("cs.LG") > codes("ma", limit=100).index("math.ST")


def test_autocomplete_shows_each_category_once_under_its_canonical_code() -> None:
    assert codes("cs.SY") == ["eess.SY"]
    assert codes("systems and control") == ["eess.SY"]
    assert codes("information theory") == ["cs.IT"]


def test_autocomplete_lists_active_categories_first_and_respects_the_limit() -> None:
    found = codes("astro")
    assert found[-1] == "astro-ph"  # the old catch-all, no longer used for new papers
    assert all(code.startswith("astro-ph.") for code in found[:-1])
    assert len(codes("", limit=25)) == 25
    assert len(codes("cs", limit=5)) == 5
    assert codes("no such words at all") == []


def test_every_active_category_has_a_name_and_a_known_archive() -> None:
    listed = categories()
    assert len(listed) > 140
    for category in listed:
        assert category.name
        assert category.archive and category.group
        assert canonical_category(category.code) == category.code


@pytest.mark.upstream_fixtures
def test_the_shipped_data_file_is_what_the_script_makes_from_the_fixture(shared_fixtures: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_taxonomy", ROOT / "scripts" / "make_taxonomy.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    source = json.loads((shared_fixtures / "taxonomy" / "arxiv_categories_derived.json").read_text())
    shipped = json.loads((ROOT / "bot" / "data" / "taxonomy.json").read_text())
    assert script.build(source) == shipped
