"""Golden test: the "Hot Papers 2021-07-14" post, rebuilt from its own X counts by ``hotpapers top``.

The seed's 13 papers (titles, authors, ids, categories, retweets and favorites) are read from the post
itself, stored as the 2021-07-14 mailing with one X observation each, and
``hotpapers top --date 2021-07-14 --json`` must list them in the post's order with the post's counts.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.models import Announcement, Paper
from bot.sources.observations import Observation
from bot.store import Store
from tests.harness import cli_on

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
MAILING = date(2021, 7, 14)
SEEN_AT = datetime(2021, 7, 15, 8, 2, 56, tzinfo=UTC)  # the post's own timestamp
needs_paper_json = pytest.mark.skipif(importlib.util.find_spec("bot.jsonout") is None,
                                      reason="bot/jsonout.py (paper_json) is written by the store engineer")


@dataclass(frozen=True)
class SeedPaper:
    rank: int
    title: str
    authors: tuple[str, ...]
    paper_id: str
    categories: tuple[str, ...]
    retweets: int
    favorites: int
    abstract: str


def parse_seed(text: str) -> list[SeedPaper]:
    """Every paper of a "Hot Papers" post, in its order."""
    papers = []
    for block in re.split(r"^# (?=\d+\. )", text, flags=re.MULTILINE)[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        rank, title = re.fullmatch(r"(\d+)\. (.+)", lines[0]).groups()  # type: ignore[union-attr]
        counts = re.search(r"retweets: (\d+), favorites: (\d+)", block)
        paper_id = re.search(r"\[abs\]\(https://arxiv\.org/abs/([^)]+)\)", block)
        categories_line = next(line for line in lines if line.startswith("- [") and "/list/" in line)
        abstract = lines[lines.index(categories_line) + 1]
        assert counts and paper_id
        papers.append(SeedPaper(
            int(rank), title, tuple(lines[1].split(", ")), paper_id[1],
            tuple(re.findall(r"\[([\w.-]+)\]\(https://arxiv\.org/list/", categories_line)),
            int(counts[1]), int(counts[2]), abstract))
    return papers


@pytest.fixture
def seed() -> list[SeedPaper]:
    files = sorted(SEEDS.glob("000_*.txt"))
    if not files:
        pytest.skip(f"the seed post is not at {SEEDS}")
    return parse_seed(files[0].read_text())


@pytest.fixture
def hotpapers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the ``hotpapers`` command line against a database in ``tmp_path``; returns (exit code, stdout)."""
    monkeypatch.chdir(tmp_path)  # no config/hotpapers.toml or .env of the checkout
    cli_on(monkeypatch, tmp_path / "hotpapers.db", datetime(2021, 7, 15, 9, 0, tzinfo=UTC))

    def run(*argv: str) -> tuple[int, str]:
        code = cli.main(list(argv))
        return code, capsys.readouterr().out

    return run


def load_seed(db: Path, seed: list[SeedPaper]) -> None:
    store = Store(db)
    try:
        store.record_announcements(
            Announcement(Paper(p.paper_id, 1, p.title, p.authors, p.abstract, p.categories[0], p.categories),
                         MAILING, "new", p.categories[0])
            for p in seed)
        store.record_observations(
            Observation("x", f"seed-{p.rank}", (p.paper_id,), {"retweets": p.retweets, "likes": p.favorites},
                        f"https://x.com/i/web/status/{p.rank}", SEEN_AT)
            for p in seed)
    finally:
        store.close()


def test_the_seed_has_thirteen_papers(seed: list[SeedPaper]) -> None:
    assert [p.rank for p in seed] == list(range(1, 14))
    assert seed[0].paper_id == "2107.05677" and seed[0].retweets == 2826 and seed[0].favorites == 217


@needs_paper_json
def test_top_json_reproduces_the_seed_order_and_counts(seed, hotpapers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_seed(tmp_path / "hotpapers.db", seed)
    code, out = hotpapers("top", "--date", "2021-07-14", "--json", "--limit", "25")
    assert code == 0
    document = json.loads(out)
    assert document["mailing"] == "2021-07-14" and document["category"] is None
    got = [(p["rank"], p["id"], p["title"], p["signals"], p["score"]) for p in document["papers"]]
    expected = [(p.rank, p.paper_id, p.title, {"x": {"retweets": p.retweets, "likes": p.favorites}},
                 p.retweets + p.favorites) for p in seed]
    assert got == expected
    assert document["papers"][0]["authors"] == list(seed[0].authors)


@needs_paper_json
def test_top_defaults_to_ten_and_lists_papers_below_the_digest_minimum_last(seed, hotpapers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `top` and `/top` list every engaged paper; ranking.min_score (50) only keeps papers out of channel digests.
    quiet = SeedPaper(14, "A paper few noticed", ("N. Body",), "2107.05999", ("cs.LG",), 30, 19, "Abstract.")
    load_seed(tmp_path / "hotpapers.db", [*seed, quiet])
    code, out = hotpapers("top", "--date", "2021-07-14", "--json")
    assert code == 0
    assert [p["id"] for p in json.loads(out)["papers"]] == [p.paper_id for p in seed[:10]]
    code, out = hotpapers("top", "--date", "2021-07-14", "--json", "--limit", "100")
    assert [(p["id"], p["score"]) for p in json.loads(out)["papers"]][-1] == ("2107.05999", 49)


def test_top_in_a_terminal_reads_like_the_seed(seed, hotpapers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_seed(tmp_path / "hotpapers.db", seed)
    code, out = hotpapers("top", "--date", "2021-07-14", "--limit", "3")
    assert code == 0
    assert out.startswith("Hot Papers 2021-07-14\n")
    # The counts are shown as of the moment they were observed, as the post showed "(07/15/2021 08:02:56)".
    assert out.splitlines()[1] == "engagement as of 2021-07-15 08:02:56 UTC"
    assert "# 1. Codified audio language modeling learns useful representations for music" in out
    assert "Rodrigo Castellon, Chris Donahue, Percy Liang" in out
    assert "x: retweets: 2826, likes: 217" in out
    assert "links: https://arxiv.org/abs/2107.05677 | https://arxiv.org/pdf/2107.05677" in out
    assert "cs.SD | cs.IR | cs.LG | cs.MM | eess.AS" in out
    assert out.index("# 2. CMT") < out.index("# 3. Per-Pixel") and "# 4." not in out


def test_top_in_a_terminal_lists_the_whole_seed_in_order(seed, hotpapers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_seed(tmp_path / "hotpapers.db", seed)
    code, out = hotpapers("top", "--date", "2021-07-14", "--limit", "25")
    assert code == 0
    listed = re.findall(r"^# (\d+)\. (.+)$", out, flags=re.MULTILINE)
    counts = re.findall(r"^- x: retweets: (\d+), likes: (\d+)", out, flags=re.MULTILINE)
    assert listed == [(str(p.rank), " ".join(p.title.split())) for p in seed]
    assert counts == [(str(p.retweets), str(p.favorites)) for p in seed]
