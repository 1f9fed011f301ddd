"""arXiv ids: every form a user pastes, refusals of ids that cannot exist, ids found in social posts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidPaperId
from bot.ids import ArxivId, find_arxiv_ids, looks_like_arxiv_id, parse_arxiv_id

ACCEPTED = [
    ("2107.05677", "2107.05677", None),
    ("2107.05677v2", "2107.05677", 2),
    ("arXiv:2107.05677", "2107.05677", None),
    ("ARXIV:2107.05677v2", "2107.05677", 2),
    ("arxiv: 2107.05677", "2107.05677", None),
    ("arXiv:2107.05677v2 [cs.LG]", "2107.05677", 2),
    ("0704.0001", "0704.0001", None),
    ("1412.9999", "1412.9999", None),
    ("1501.00001", "1501.00001", None),
    ("2107.05677.pdf", "2107.05677", None),
    ("hep-th/9901001", "hep-th/9901001", None),
    ("hep-th/9901001v3", "hep-th/9901001", 3),
    ("HEP-TH/9901001", "hep-th/9901001", None),
    ("math.GT/0309136", "math/0309136", None),
    ("math.GT/0309136v2", "math/0309136", 2),
    ("cond-mat.str-el/0102536", "cond-mat/0102536", None),
    ("solv-int/9901001", "solv-int/9901001", None),
    ("cmp-lg/9404001", "cmp-lg/9404001", None),
    ("hep-ph/9108001", "hep-ph/9108001", None),
    ("math/0703999", "math/0703999", None),
    ("https://arxiv.org/abs/2107.05677", "2107.05677", None),
    ("http://arxiv.org/abs/2107.05677v2", "2107.05677", 2),
    ("https://www.arxiv.org/abs/2107.05677", "2107.05677", None),
    ("https://export.arxiv.org/abs/2107.05677", "2107.05677", None),
    ("arxiv.org/abs/2107.05677", "2107.05677", None),
    ("https://arxiv.org/abs/2107.05677/", "2107.05677", None),
    ("https://arxiv.org/abs/2107.05677?context=cs", "2107.05677", None),
    ("https://arxiv.org/abs/2107.05677v2#comments", "2107.05677", 2),
    ("https://arxiv.org/pdf/2107.05677", "2107.05677", None),
    ("https://arxiv.org/pdf/2107.05677v2.pdf", "2107.05677", 2),
    ("https://arxiv.org/html/2107.05677v2", "2107.05677", 2),
    ("https://arxiv.org/html/2107.05677v2/#S3", "2107.05677", 2),
    ("https://arxiv.org/abs/hep-th/9901001v3", "hep-th/9901001", 3),
    ("https://arxiv.org/pdf/math.GT/0309136.pdf", "math/0309136", None),
    ("/abs/2107.05677v2", "2107.05677", 2),
    ("https://alphaxiv.org/abs/2107.05677", "2107.05677", None),
    ("https://www.alphaxiv.org/overview/2107.05677v1", "2107.05677", 1),
    ("https://huggingface.co/papers/2107.05677", "2107.05677", None),
    ("https://huggingface.co/papers/2107.05677#community", "2107.05677", None),
    ("  2107.05677\n", "2107.05677", None),
    ("<https://arxiv.org/abs/2107.05677>", "2107.05677", None),
]


@pytest.mark.parametrize(("text", "canonical", "version"), ACCEPTED)
def test_every_pasted_form_gives_the_canonical_id_and_version(
    text: str, canonical: str, version: int | None
) -> None:
    assert parse_arxiv_id(text) == ArxivId(canonical, version)


def test_an_id_prints_with_its_version_only_when_it_has_one() -> None:
    assert str(ArxivId("2107.05677", 2)) == "2107.05677v2"
    assert str(ArxivId("hep-th/9901001")) == "hep-th/9901001"


IMPOSSIBLE = [
    ("0612.0001", "0704"),  # new style started in April 2007
    ("0703.00001", "0704"),
    ("1501.0001", "5 digits"),  # four digits ended with 1412
    ("2107.0567", "5 digits"),
    ("1412.00001", "4 digits"),  # five digits began with 1501
    ("2100.00001", "month 00"),
    ("2113.00001", "month 13"),
    ("2107.00000", "start at 1"),
    ("2107.05677v0", "v1"),
    ("hep-th/9107001", "9108"),  # old style began in August 1991
    ("hep-th/0704001", "0703"),  # and ended in March 2007
    ("hep-th/9913001", "month 13"),
    ("hep-th/9901000", "001"),
    ("zz-top/9901001", "no arXiv archive"),
    ("math.XX/0309136", "math.XX"),
    ("https://arxiv.org/abs/0612.0001", "0704"),
]


@pytest.mark.parametrize(("text", "reason"), IMPOSSIBLE)
def test_impossible_ids_are_refused_with_the_reason_and_an_accepted_form(text: str, reason: str) -> None:
    with pytest.raises(InvalidPaperId) as refusal:
        parse_arxiv_id(text)
    message = str(refusal.value)
    assert reason in message
    assert repr(text) in message
    assert "arXiv:2107.05677v2" in message


NOT_IDS = [
    "",
    "foo",
    "attention is all you need",
    "3.14159",
    "2107.056771",
    "21070.05677",
    "2107-05677",
    "hep-th/990100",
    "hep-th/99010011",
    "https://example.com/abs/2107.05677",
    "https://arxiv.org/list/cs.LG/new",
    "https://arxiv.org/abs/",
    "2107.05677 and 2108.00001",
    "arXiv:",
    "٢١٠٧.٠٥٦٧٧",  # Arabic-Indic digits are not an arXiv id
]


@pytest.mark.parametrize("text", NOT_IDS)
def test_anything_else_is_refused_with_accepted_forms(text: str) -> None:
    accepted_forms = r"is not an arXiv id or URL; try 2107\.05677, arXiv:2107\.05677v2"
    with pytest.raises(InvalidPaperId, match=accepted_forms):
        parse_arxiv_id(text)


def test_a_long_refused_input_is_shortened_in_the_message() -> None:
    text = "a very long query that somebody pasted " * 20
    with pytest.raises(InvalidPaperId) as refusal:
        parse_arxiv_id(text)
    message = str(refusal.value)
    assert "a very long query" in message
    assert text.strip() not in message
    assert len(message) < 160


# ---- free text: social posts mapped to papers


def test_ids_are_found_in_a_post_in_order_once_each() -> None:
    post = (
        "New paper! https://arxiv.org/abs/2107.05677v2 (pdf: arxiv.org/pdf/2107.05677.pdf), builds on "
        "arXiv:hep-th/9901001 and https://huggingface.co/papers/2310.06825. See also "
        "https://www.alphaxiv.org/overview/2401.00001 and arxiv:1706.03762."
    )
    assert find_arxiv_ids(post) == [
        ArxivId("2107.05677", 2),
        ArxivId("hep-th/9901001"),
        ArxivId("2310.06825"),
        ArxivId("2401.00001"),
        ArxivId("1706.03762"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "pi is 3.14159 and python 3.11.2 came out",
        "released version 2107.05677 of the tool",  # a bare id-shaped number without an arXiv context
        "see arXiv:0612.0001 (impossible) or arXiv:2113.00001",
        "notarxiv.org/abs/2107.05677",
        "https://example.com/papers/2107.05677",
        "arXiv:2107.056771",
        "",
    ],
)
def test_text_without_a_valid_arxiv_mention_gives_nothing(text: str) -> None:
    assert find_arxiv_ids(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2107.05677", True),
        ("arXiv:2107.05677v2", True),
        ("arXiv: 2107.05677", True),
        ("https://arxiv.org/abs/whatever", True),
        ("hep-th/9901001", True),
        ("0612.0001", True),  # id-shaped: worth a refusal that explains why, not a keyword search
        ("attention is all you need", False),
        ("https://arxiv.org/abs/2107.05677 great paper", False),
        ("transformers", False),
        ("3.14159", False),
        ("", False),
    ],
)
def test_looks_like_arxiv_id_tells_id_attempts_from_keywords(text: str, expected: bool) -> None:
    assert looks_like_arxiv_id(text) is expected


# ---- properties

DECORATIONS = [
    "{}",
    "arXiv:{}",
    "ARXIV:{}",
    "arxiv: {}",
    "https://arxiv.org/abs/{}",
    "http://arxiv.org/abs/{}",
    "https://www.arxiv.org/abs/{}",
    "https://export.arxiv.org/abs/{}/",
    "arxiv.org/abs/{}",
    "https://arxiv.org/pdf/{}",
    "https://arxiv.org/pdf/{}.pdf",
    "https://arxiv.org/html/{}",
    "https://arxiv.org/abs/{}?context=cs.LG",
    "https://arxiv.org/abs/{}#comments",
    "/abs/{}",
    "https://alphaxiv.org/abs/{}",
    "https://www.alphaxiv.org/overview/{}",
    "https://huggingface.co/papers/{}",
    "  <https://arxiv.org/abs/{}>  ",
]
IN_TEXT_DECORATIONS = [d for d in DECORATIONS if d not in ("{}", "/abs/{}")]


@st.composite
def new_style_ids(draw: st.DrawFn) -> tuple[str, int | None]:
    """A new-style id that can exist (April 2007 to 2099) and an optional version."""
    year = draw(st.integers(7, 99))
    month = draw(st.integers(4 if year == 7 else 1, 12))
    digits = 4 if year < 15 else 5
    number = draw(st.integers(1, 10**digits - 1))
    version = draw(st.none() | st.integers(1, 99))
    return f"{year:02d}{month:02d}.{number:0{digits}d}", version


@given(new_style_ids(), st.sampled_from(DECORATIONS))
def test_a_valid_new_style_id_round_trips_through_every_decoration(
    arxiv_id: tuple[str, int | None], decoration: str
) -> None:
    canonical, version = arxiv_id
    written = canonical if version is None else f"{canonical}v{version}"
    assert parse_arxiv_id(decoration.format(written)) == ArxivId(canonical, version)


@given(new_style_ids(), st.sampled_from(IN_TEXT_DECORATIONS))
def test_a_valid_new_style_id_is_found_in_a_sentence(
    arxiv_id: tuple[str, int | None], decoration: str
) -> None:
    canonical, version = arxiv_id
    written = canonical if version is None else f"{canonical}v{version}"
    assert find_arxiv_ids(f"Great read ({decoration.format(written)}), highly recommended.") == [
        ArxivId(canonical, version)
    ]


@given(st.text())
def test_parsing_arbitrary_text_only_ever_refuses_with_invalid_paper_id(text: str) -> None:
    try:
        parse_arxiv_id(text)
    except InvalidPaperId as refusal:
        assert "2107.05677" in str(refusal)


@given(st.text() | st.builds("arXiv:{}".format, st.text()) | st.builds("arxiv.org/abs/{}".format, st.text()))
def test_finding_ids_in_arbitrary_text_never_raises_and_finds_only_valid_ids(text: str) -> None:
    for found in find_arxiv_ids(text):
        assert parse_arxiv_id(str(found)) == found


OLD_ARCHIVES = ["hep-th", "hep-ph", "astro-ph", "cond-mat", "math", "physics", "quant-ph", "gr-qc", "cs",
                "nlin", "q-bio", "solv-int", "cmp-lg", "alg-geom"]


@st.composite
def old_style_ids(draw: st.DrawFn) -> tuple[str, str, int | None]:
    """An old-style id that can exist (9108 to 0703) as written (maybe with a subject class), its
    canonical form, and an optional version."""
    year = draw(st.sampled_from([*range(91, 100), *range(0, 8)]))
    first, last = (8 if year == 91 else 1), (3 if year == 7 else 12)
    month = draw(st.integers(first, last))
    number = draw(st.integers(1, 999))
    archive = draw(st.sampled_from(OLD_ARCHIVES))
    canonical = f"{archive}/{year:02d}{month:02d}{number:03d}"
    written = canonical
    if archive == "math" and draw(st.booleans()):
        written = f"math.{draw(st.sampled_from(['GT', 'AG', 'CO', 'PR']))}/{canonical.split('/')[1]}"
    if draw(st.booleans()):
        written = written.upper()
    version = draw(st.none() | st.integers(1, 99))
    return written, canonical, version


OLD_STYLE_DECORATIONS = [d for d in DECORATIONS if "alphaxiv" not in d and "huggingface" not in d]


@given(old_style_ids(), st.sampled_from(OLD_STYLE_DECORATIONS))
def test_a_valid_old_style_id_round_trips_through_every_decoration(
    arxiv_id: tuple[str, str, int | None], decoration: str
) -> None:
    written, canonical, version = arxiv_id
    text = written if version is None else f"{written}v{version}"
    assert parse_arxiv_id(decoration.format(text)) == ArxivId(canonical, version)


@st.composite
def impossible_new_style_ids(draw: st.DrawFn) -> str:
    """A new-style-shaped id no paper can have: before 0704, a month 00 or 13+, or the wrong digit count."""
    kind = draw(st.sampled_from(["too early", "month", "four digits late", "five digits early"]))
    if kind == "too early":
        yymm = draw(st.sampled_from([f"{y:02d}{m:02d}" for y in range(0, 8) for m in range(1, 13)
                                     if (y, m) < (7, 4)]))
        return f"{yymm}.{draw(st.integers(1, 9999)):04d}"
    if kind == "month":
        month = draw(st.sampled_from([0, *range(13, 100)]))
        return f"{draw(st.integers(8, 99)):02d}{month:02d}.{draw(st.integers(1, 99999)):05d}"
    if kind == "four digits late":
        return f"{draw(st.integers(15, 99)):02d}{draw(st.integers(1, 12)):02d}.{draw(st.integers(1, 9999)):04d}"
    return f"{draw(st.integers(8, 14)):02d}{draw(st.integers(1, 12)):02d}.{draw(st.integers(1, 99999)):05d}"


@given(impossible_new_style_ids(), st.sampled_from(DECORATIONS))
def test_an_impossible_new_style_id_is_refused_in_every_decoration(text: str, decoration: str) -> None:
    with pytest.raises(InvalidPaperId, match=r"cannot be an arXiv id: .*; try 2107\.05677"):
        parse_arxiv_id(decoration.format(text))
    assert find_arxiv_ids(f"see arXiv:{text} now") == []
