"""The Makefile: `make run` installs only what the bot needs; a .venv made by another Python is rebuilt."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def plan(checkout: Path, target: str) -> str:
    """What ``make TARGET`` would run (``-n``: nothing is installed)."""
    result = subprocess.run(["make", "-n", target], cwd=checkout, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_run_installs_the_runtime_only_and_test_installs_the_tools(checkout: Path) -> None:
    run = plan(checkout, "run")
    assert "pip install --quiet -e .\n" in run and "[test]" not in run
    assert "hotpapers run" in run
    test = plan(checkout, "test")
    assert "pip install --quiet -e '.[test]'" in test and "pytest -q" in test


def test_a_venv_made_by_another_python_is_rebuilt(checkout: Path) -> None:
    old = checkout / ".venv" / "bin" / "python"
    old.parent.mkdir(parents=True)
    old.write_text("#!/bin/sh\necho 3.9\n")  # stands in for a .venv made by Python 3.9
    old.chmod(0o755)
    out = plan(checkout, "run")
    assert ".venv was made by Python 3.9; rebuilding it" in out
    assert "-m venv .venv" in out
    assert not (checkout / ".venv").exists()
