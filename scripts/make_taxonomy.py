"""Generate bot/data/taxonomy.json, the project's own copy of the arXiv category taxonomy.

Usage: python scripts/make_taxonomy.py [SOURCE_JSON] [OUTPUT_JSON]
(defaults: ../shared/fixtures/taxonomy/arxiv_categories_derived.json → bot/data/taxonomy.json)

The source is arXiv's own taxonomy (arxiv-base `arxiv/taxonomy/definitions.py`, derived to JSON).
What we keep:
- groups, archives and categories with their names and active flags, minus arXiv's internal test and
  "bad" entries;
- `aliases`: arXiv's CATEGORY_ALIASES, alias → canonical, in arXiv's direction (cs.SY → eess.SY,
  math.IT → cs.IT, math.MP → math-ph, q-fin.EC → econ.GN, stat.TH → math.ST, cs.NA → math.NA);
- `subsumed`: old archives that arXiv folded into a category (cmp-lg → cs.CL, solv-int → nlin.SI, …). They
  stay listed as (inactive) archives, so old-style ids such as `solv-int/9901001` are recognised, but they are
  not categories of their own here: as a category code each one means the category that subsumed it.
Alias codes are likewise not listed under `categories`: only canonical codes are, so autocomplete shows each
category once. An alias belongs to the archive its code names (cs.SY is in `cs`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "fixtures" / "taxonomy" / "arxiv_categories_derived.json"
DEFAULT_OUTPUT = ROOT / "bot" / "data" / "taxonomy.json"
SKIPPED_GROUPS = {"grp_bad", "grp_test"}


def build(source: dict[str, Any]) -> dict[str, Any]:
    """The project's taxonomy document made from arXiv's derived taxonomy."""
    groups = {
        code.removeprefix("grp_"): {"name": group["full_name"], "active": group["is_active"]}
        for code, group in sorted(source["groups"].items())
        if code not in SKIPPED_GROUPS
    }
    archives = {
        code: {
            "name": archive["full_name"],
            "group": archive["in_group"].removeprefix("grp_"),
            "active": archive["is_active"],
        }
        for code, archive in sorted(source["archives"].items())
        if archive["in_group"] not in SKIPPED_GROUPS
    }
    subsumed = dict(sorted(source["archives_subsumed"].items()))
    aliases = dict(sorted(source["category_aliases"].items()))
    categories = {
        code: {
            "name": category["full_name"],
            "archive": category["in_archive"],
            "group": archives[category["in_archive"]]["group"],
            "active": category["is_active"],
        }
        for code, category in sorted(source["categories"].items())
        if category["in_archive"] in archives and code not in subsumed and code not in aliases
    }
    for alias, canonical in [*aliases.items(), *subsumed.items()]:
        if canonical not in categories:
            raise SystemExit(f"{alias} points to {canonical}, which is not a category")
    lowered = [code.lower() for code in [*categories, *archives, *aliases]]
    clashes = {code for code in lowered if lowered.count(code) > 1} - {code.lower() for code in subsumed}
    clashes -= {code.lower() for code in categories if code in archives}  # hep-th: an archive and a category
    if clashes:
        raise SystemExit(f"codes that differ only by case: {sorted(clashes)}")
    return {
        "source": source["source"],
        "generated_by": "scripts/make_taxonomy.py",
        "groups": groups,
        "archives": archives,
        "categories": categories,
        "aliases": aliases,
        "subsumed": subsumed,
    }


def main(argv: list[str]) -> None:
    source_path = Path(argv[0]) if argv else DEFAULT_SOURCE
    output_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    document = build(json.loads(source_path.read_text()))
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(
        f"wrote {output_path}: {len(document['categories'])} categories, "
        f"{len(document['archives'])} archives, {len(document['aliases'])} aliases, "
        f"{len(document['subsumed'])} subsumed archives"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
