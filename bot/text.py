"""Text from outside (titles, abstracts, author names) made safe to show: invisible controls removed."""

from __future__ import annotations

import re

# Bidirectional controls (a right-to-left override makes "gpj.exe" read "exe.jpg"), zero-width and other
# invisible characters, C0/C1 controls except newline and tab, and Unicode tag characters. Zero-width
# (non-)joiners stay: scripts and emoji need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")


def strip_invisible(text: str) -> str:
    """``text`` without bidirectional overrides and other invisible control characters."""
    return _INVISIBLE.sub("", text)
