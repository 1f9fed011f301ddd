"""Real outside programs the community tests drive (``bibtex``, ``chromium``): a test skips with the reason when
one is missing, except under CI (``CI=true``), where a missing program fails the test."""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = {"bibtex": "apt-get install -y texlive-binaries texlive-base", "chromium": "apt-get install -y chromium"}


def require(program: str) -> str:
    """The path of ``program``; skips (or fails under CI) when it is not installed."""
    path = shutil.which(program)
    if path is None:
        reason = f"{program} is not installed (Debian: {INSTALL[program]})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return path
