"""BibTeX from stored metadata, compiled by the real ``bibtex`` with ``plain.bst`` the way a person would use it."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bot.bibtex import bibliography, cite_key, entry
from bot.models import Paper
from tests.community.tools import require

PAPERS = [
    Paper("2107.05677", 2, "Codified audio language modeling learns useful representations for music "
          "information retrieval", ("Rodrigo Castellon", "Chris Donahue", "Percy Liang"), "…", "cs.SD",
          ("cs.SD", "cs.IR", "cs.LG"), published=datetime(2021, 7, 12, 17, 0, tzinfo=UTC)),
    # TeX specials, math, an accented TeX name, a Unicode name, a Polish ł, and a journal reference + DOI
    Paper("2401.00001", 1, r"100% of $O(n^2)$ & #1 {braces} under_scores ~ \emph{Schr\"odinger} $\alpha$-nets",
          ("Stanis{\\l}aw \\'Swierczewski", "Zoë Ørsted-Nuñez", "李 明", "The ATLAS and CMS Collaborations"),
          "…", "hep-ex", ("hep-ex",), published=datetime(2024, 1, 1, 9, 0, tzinfo=UTC),
          journal_ref="Phys. Rev. D 109, 012345 (2024) & more", doi="10.1103/PhysRevD.109_012345", comment=None),
    Paper("hep-th/9901001", 3, "An old-style paper", ("Édouard Brézin",), "…", "hep-th", ("hep-th",)),
    Paper("2402.00002", 1, "DOI only", ("Ada Lovelace",), "…", "cs.LG", ("cs.LG",),
          published=datetime(2024, 2, 1, tzinfo=UTC), doi="10.1000/xyz"),
]


def test_entries_are_well_formed_with_stable_unique_keys() -> None:
    keys = [cite_key(p) for p in PAPERS]
    assert keys == ["castellon2021:2107.05677", "swierczewski2024:2401.00001", "brezin1999:hep-th-9901001",
                    "lovelace2024:2402.00002"]
    assert [cite_key(p) for p in PAPERS] == keys  # the same in every export
    first = entry(PAPERS[0])
    assert first.startswith("@misc{castellon2021:2107.05677,\n")
    for line in ("eprint = {2107.05677}", "archivePrefix = {arXiv}", "primaryClass = {cs.SD}", "year = {2021}",
                 "url = {https://arxiv.org/abs/2107.05677}",
                 "author = {Rodrigo Castellon and Chris Donahue and Percy Liang}"):
        assert line in first
    special = entry(PAPERS[1])
    assert special.startswith("@article{")
    assert r"journal = {Phys. Rev. D 109, 012345 (2024) \& more}" in special
    assert r"100\% of" in special and r"\#1" in special and r"under\_scores" in special
    assert r"Schr{\"{o}}dinger" in special and r"${\alpha}$-nets" in special
    assert r"Stanis{\l}aw {\'{S}}wierczewski" in special and r"Zo{\"{e}} {\O}rsted-Nu{\~{n}}ez" in special
    assert "{The ATLAS and CMS Collaborations}" in special  # one author, not two
    assert entry(PAPERS[3]).startswith("@misc{") and "doi = {10.1000/xyz}" in entry(PAPERS[3])
    # every entry's braces balance
    for paper in PAPERS:
        text = entry(paper).replace(r"\{", "").replace(r"\}", "")
        depth = 0
        for char in text:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0
        assert depth == 0


def test_bibtex_compiles_every_entry_without_warnings(tmp_path: Path) -> None:
    program = require("bibtex")
    papers = [*PAPERS, PAPERS[0]]  # a paper saved twice is exported once
    (tmp_path / "saved.bib").write_text(bibliography(papers), encoding="utf-8")
    keys = [cite_key(p) for p in PAPERS]
    cites = ",".join(keys)
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n\\begin{document}\n\\cite{" + cites + "}\n"
        "\\bibliographystyle{plain}\n\\bibliography{saved}\n\\end{document}\n")
    # what latex writes into the .aux for that document
    (tmp_path / "paper.aux").write_text(
        "\\relax\n" + "".join(f"\\citation{{{key}}}\n" for key in keys)
        + "\\bibstyle{plain}\n\\bibdata{saved}\n")
    result = subprocess.run([program, "paper"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    log = (tmp_path / "paper.blg").read_text()
    assert result.returncode == 0, result.stdout + log
    assert "Warning" not in log and "error" not in log.lower(), log
    bbl = (tmp_path / "paper.bbl").read_text(encoding="utf-8")
    assert len(re.findall(r"\\bibitem", bbl)) == len(PAPERS)
    for key in keys:
        assert f"{{{key}}}" in bbl
    assert "Codified audio language modeling" in bbl and r"Phys. Rev. D 109, 012345 (2024) \& more" in bbl
