"""Write a synthetic Kaggle "arXiv dataset" JSON-lines file with a realistic vocabulary.

Words follow a Zipf law over a 60,000-word vocabulary, so a query can pick a rare term, a term found in
about 10% of papers, or a very common one. ``--queries`` also writes a JSON file naming those terms (with
their measured document frequencies) and a sample of whole titles, which ``bench.bench_store`` uses.

    .venv/bin/python -m bench.gen_kaggle /tmp/kaggle_1m.jsonl --count 1000000
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

OLD_ARCHIVES = ("hep-th", "hep-ph", "astro-ph", "cond-mat", "math", "quant-ph", "gr-qc", "nucl-th")
NEW_CATEGORIES = (
    "cs.LG",
    "cs.CV",
    "cs.CL",
    "cs.AI",
    "stat.ML",
    "math.AG",
    "math.PR",
    "hep-th",
    "hep-ph",
    "quant-ph",
    "astro-ph.GA",
    "astro-ph.CO",
    "cond-mat.mtrl-sci",
    "cond-mat.stat-mech",
    "eess.SY",
    "cs.SY",
    "physics.optics",
    "q-bio.NC",
    "econ.GN",
    "math.NA",
    "cs.NA",
    "cs.RO",
    "cs.CR",
    "gr-qc",
)
COMMON = [
    "the",
    "of",
    "and",
    "a",
    "in",
    "to",
    "we",
    "is",
    "for",
    "that",
    "this",
    "on",
    "with",
    "by",
    "are",
    "an",
    "as",
    "be",
    "model",
    "from",
    "which",
    "our",
    "results",
    "show",
    "these",
    "it",
    "at",
    "paper",
    "using",
    "can",
    "method",
    "data",
    "based",
    "network",
    "learning",
    "two",
    "new",
    "approach",
    "problem",
    "also",
]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
VOCABULARY_SIZE = 60_000
TAIL_SIZE = 100_000


def _vocabulary(rng: random.Random, size: int = VOCABULARY_SIZE, first: list[str] = COMMON) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: list[str] = list(first)
    seen = set(words)
    lengths = (2, 3, 3, 4) if first else (4, 5)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.choice(lengths)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class _Zipf:
    def __init__(self, words: list[str], exponent: float, rng: random.Random) -> None:
        self.words = words
        self.cumulative = list(
            itertools.accumulate(1.0 / (rank**exponent) for rank in range(1, len(words) + 1))
        )
        self.total = self.cumulative[-1]
        self.rng = rng

    def sample(self, count: int) -> list[str]:
        random_ = self.rng.random
        cumulative, total, words = self.cumulative, self.total, self.words
        return [words[bisect.bisect_left(cumulative, random_() * total)] for _ in range(count)]


def _ids(count: int, rng: random.Random) -> list[tuple[str, int, int]]:
    """(id, year, month): new-style ids month by month, then old-style ones for a tenth, as Kaggle orders."""
    old = count // 10
    new = count - old
    months = [
        (year, month) for year in range(2007, 2026) for month in range(1, 13) if (year, month) >= (2007, 4)
    ]
    per_month = new // len(months) + 1
    result: list[tuple[str, int, int]] = []
    for year, month in months:
        for number in range(1, per_month + 1):
            if len(result) == new:
                break
            digits = f"{number:04d}" if year < 2015 else f"{number:05d}"
            result.append((f"{year % 100:02d}{month:02d}.{digits}", year, month))
    old_months = [
        (year, month) for year in range(1992, 2008) for month in range(1, 13) if (year, month) < (2007, 4)
    ]
    old_ids = []
    for index in range(old):
        year, month = old_months[index % len(old_months)]
        archive = OLD_ARCHIVES[(index // len(old_months)) % len(OLD_ARCHIVES)]
        number = index // (len(old_months) * len(OLD_ARCHIVES)) + 1
        old_ids.append((f"{archive}/{year % 100:02d}{month:02d}{number:03d}", year, month))
    old_ids.sort()
    rng.shuffle(result[:0])
    return result + old_ids


def _created(year: int, month: int, rng: random.Random) -> str:
    day = rng.randint(1, 28)
    weekday = DAYS[(day + month + year) % 7]  # not a real weekday; parsers must not care
    return (
        f"{weekday}, {day} {MONTHS[month - 1]} {year} "
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} GMT"
    )


def generate(path: Path, count: int, seed: int = 7) -> dict[str, object]:
    rng = random.Random(seed)
    words = _vocabulary(rng)
    zipf = _Zipf(words, 1.0, rng)
    surnames = _vocabulary(random.Random(seed + 1))[len(COMMON) : len(COMMON) + 20_000]
    # A long tail of rare words (names, acronyms, compounds): most appear in one to a few dozen papers.
    tail = _vocabulary(random.Random(seed + 2), TAIL_SIZE, first=[])
    document_frequency: Counter[str] = Counter()
    sample_titles: list[str] = []
    started = time.monotonic()
    with path.open("w", encoding="utf-8") as out:
        for index, (paper_id, year, month) in enumerate(_ids(count, rng)):
            title_words = zipf.sample(rng.randint(5, 12))
            title = " ".join(title_words).capitalize()
            if rng.random() < 0.3:  # arXiv titles wrap like this in the Kaggle file
                cut = len(title) // 2
                title = title[:cut] + "\n  " + title[cut:]
            abstract_words = zipf.sample(rng.randint(80, 200))
            if rng.random() < 0.6:
                abstract_words.insert(rng.randrange(len(abstract_words)), rng.choice(tail))
            abstract = "  " + " ".join(abstract_words) + ".\n"
            document_frequency.update(set(title_words) | set(abstract_words))
            authors_parsed = [
                [rng.choice(surnames).capitalize(), rng.choice("ABCDEFGHJKLMNPRSTW") + ".", ""]
                for _ in range(rng.randint(1, 6))
            ]
            versions = [
                {"version": f"v{v}", "created": _created(year, month, rng)}
                for v in range(1, rng.choice((1, 1, 1, 2, 2, 3)) + 1)
            ]
            categories = rng.sample(NEW_CATEGORIES, rng.randint(1, 3))
            if "/" in paper_id:
                categories = [paper_id.split("/")[0]]
            record = {
                "id": paper_id,
                "submitter": authors_parsed[0][1] + " " + authors_parsed[0][0],
                "authors": ", ".join(f"{first} {last}" for last, first, _ in authors_parsed),
                "title": title,
                "comments": f"{rng.randint(4, 40)} pages" if rng.random() < 0.6 else None,
                "journal-ref": None,
                "doi": f"10.1000/{index}" if rng.random() < 0.2 else None,
                "report-no": None,
                "categories": " ".join(categories),
                "license": None,
                "abstract": abstract,
                "versions": versions,
                "update_date": f"{year}-{month:02d}-28",
                "authors_parsed": authors_parsed,
            }
            out.write(json.dumps(record) + "\n")
            if index % 997 == 0 and len(sample_titles) < 200:
                sample_titles.append(title)
            if index % 100_000 == 0 and index:
                print(f"{index:,} lines, {time.monotonic() - started:.0f} s", file=sys.stderr)
    return {"document_frequency": document_frequency, "titles": sample_titles, "count": count}


def pick_queries(stats: dict[str, object]) -> dict[str, object]:
    """Query terms per class, chosen by measured document frequency."""
    frequency: Counter[str] = stats["document_frequency"]  # type: ignore[assignment]
    count: int = stats["count"]  # type: ignore[assignment]

    def near(share: float, n: int) -> list[str]:
        target = share * count
        return [w for w, _ in sorted(frequency.items(), key=lambda item: abs(item[1] - target))[:n]]

    rare = [w for w, f in frequency.items() if 3 <= f <= 30][:40]
    return {
        "count": count,
        "rare": rare,
        "ten_percent": near(0.10, 20),
        "common": [*near(0.6, 10), "the", "of", "model", "network"],
        "two_common": [f"{a} {b}" for a, b in zip(near(0.4, 10), near(0.3, 10), strict=True)],
        "titles": stats["titles"],
        "frequency": {w: frequency[w] for w in [*rare, *near(0.10, 20), *near(0.6, 10), "the", "of"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument(
        "--queries", type=Path, help="where to write the query terms (default: PATH.queries.json)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    stats = generate(args.path, args.count)
    queries_path = args.queries or args.path.with_suffix(".queries.json")
    queries_path.write_text(json.dumps(pick_queries(stats), indent=1))
    size = args.path.stat().st_size
    print(
        f"wrote {args.count:,} papers ({size / 1e6:.0f} MB) to {args.path} "
        f"in {time.monotonic() - started:.0f} s; "
        f"queries in {queries_path}"
    )


if __name__ == "__main__":
    main()
