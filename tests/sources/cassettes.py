"""Reading the recorded vcrpy cassettes of ../shared/fixtures (YAML) without a YAML library: each interaction's
method, URI, status and response body (a single-quoted YAML scalar, folded the way YAML folds it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Interaction:
    method: str
    uri: str
    status: int
    body: str


def _single_quoted(text: str, start: int) -> tuple[str, int]:
    """The scalar opening at ``text[start] == "'"``, unfolded, and the index after its closing quote."""
    raw: list[str] = []
    i = start + 1
    while True:
        if text[i] == "'":
            if text[i + 1:i + 2] == "'":
                raw.append("'")
                i += 2
                continue
            break
        raw.append(text[i])
        i += 1
    lines = "".join(raw).split("\n")
    folded = lines[0].rstrip(" ")
    breaks = 0
    for line in lines[1:]:
        content = line.strip(" ")
        if not content:
            breaks += 1
            continue
        folded += ("\n" * breaks if breaks else " ") + content
        breaks = 0
    return folded + "\n" * breaks, i + 1


def interactions(path: Path) -> list[Interaction]:
    """Every recorded interaction of a cassette, in order."""
    text = path.read_text()
    found: list[Interaction] = []
    for chunk in text.split("\n- request:")[1:]:
        method = re.search(r"\n    method: (\w+)", chunk)
        uri = re.search(r"\n    uri: (\S+)", chunk)
        status = re.search(r"\n    status:\n      code: (\d+)", chunk)
        body_at = chunk.index("string: ", chunk.index("  response:")) + len("string: ")
        body, _ = _single_quoted(chunk, body_at)
        assert method and uri and status, f"{path.name}: an interaction without method, uri or status"
        found.append(Interaction(method[1], uri[1], int(status[1]), body))
    return found
