"""The shipped systemd unit and Procfile start the same command the README documents, with the data directory,
the environment file and a restart policy that does not loop on a bad setting."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_systemd_unit_runs_the_bot_with_its_data_directory_and_secrets() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "hotpapers.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("/.venv/bin/hotpapers run")
    assert service["Environment"] == "HOTPAPERS_HOME=/var/lib/hotpapers"
    assert service["StateDirectory"] == "hotpapers" and service["ReadWritePaths"] == "/var/lib/hotpapers"
    assert service["EnvironmentFile"].startswith("/etc/hotpapers/")
    assert service["Restart"] == "on-failure" and service["RestartPreventExitStatus"] == "2"
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_procfile_and_the_unit_run_the_installed_command() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["hotpapers"] == "bot.cli:main"
    assert (ROOT / "Procfile").read_text().strip() == "worker: hotpapers run"
