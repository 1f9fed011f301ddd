"""Settings: TOML file, environment overrides, validation with one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SettingsError, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "hotpapers.example.toml"


def load(env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(env=env, dotenv=tmp_path / ".env")


def test_defaults_without_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load({}, tmp_path)
    assert settings.db_path == Path("data/hotpapers.db")
    assert settings.arxiv_api == "https://export.arxiv.org/api/query"
    assert settings.digest.min_age_hours == 12
    assert settings.digest.grace_hours == 6
    assert settings.ranking.min_score == 50
    assert settings.discord_token is None


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "hp.toml"
    config.write_text('[digest]\nmin_age_hours = 3\n[ranking]\nmin_score = 10\nweights = { hf = 2 }\n')
    settings = load({"HOTPAPERS_CONFIG": str(config), "HOTPAPERS_DIGEST_MIN_AGE_HOURS": "6",
                     "HOTPAPERS_RANKING_WEIGHTS_X": "0.5", "HOTPAPERS_ARXIV_INTERVAL": "0"}, tmp_path)
    assert settings.digest.min_age_hours == 6
    assert settings.ranking.min_score == 10
    assert settings.ranking.weights["hf"] == 2
    assert settings.ranking.weights["x"] == 0.5
    assert settings.arxiv_interval == 0


@pytest.mark.parametrize(("env", "named"), [
    ({"HOTPAPERS_DIGEST_MIN_AGE_HOURS": "soon"}, "HOTPAPERS_DIGEST_MIN_AGE_HOURS"),
    ({"HOTPAPERS_ARXIV_INTERVAL": "-1"}, "HOTPAPERS_ARXIV_INTERVAL"),
    ({"HOTPAPERS_ARXIV_API": "export.arxiv.org"}, "HOTPAPERS_ARXIV_API"),
    ({"HOTPAPERS_SUBSCRIPTIONS_DEFAULT_TIMEZONE": "Mars/Olympus"}, "HOTPAPERS_SUBSCRIPTIONS_DEFAULT_TIMEZONE"),
    ({"HOTPAPERS_SUBSCRIPTIONS_DEFAULT_TIME": "25:00"}, "HOTPAPERS_SUBSCRIPTIONS_DEFAULT_TIME"),
    ({"HOTPAPERS_LOG_LEVEL": "loud"}, "HOTPAPERS_LOG_LEVEL"),
    ({"HOTPAPERS_RANKING_WEIGHTS_HF": "lots"}, "HOTPAPERS_RANKING_WEIGHTS_HF"),
    ({"HOTPAPERS_CONFIG": "/nonexistent/hp.toml"}, "HOTPAPERS_CONFIG"),
])
def test_a_bad_value_names_the_setting(env: dict[str, str], named: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load(env, tmp_path)
    message = str(excinfo.value)
    assert named in message
    assert "\n" not in message


def test_unknown_keys_and_bad_toml_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "hp.toml"
    config.write_text("[digest]\nmin_age = 3\n")
    with pytest.raises(SettingsError, match=r"\[digest\] min_age: unknown setting"):
        load({"HOTPAPERS_CONFIG": str(config)}, tmp_path)
    config.write_text("[digest\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load({"HOTPAPERS_CONFIG": str(config)}, tmp_path)
    config.write_text('[bot]\ndiscord_token = "abc"\n')
    with pytest.raises(SettingsError, match="secrets belong in the environment"):
        load({"HOTPAPERS_CONFIG": str(config)}, tmp_path)


def test_secrets_come_from_dotenv_and_never_show_in_repr(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# local secrets\nexport DISCORD_TOKEN='MTIz.secret.token'\n"
                                   "HOTPAPERS_X_BEARER=bearer-secret\n")
    settings = load({}, tmp_path)
    assert settings.discord_token == "MTIz.secret.token"
    assert settings.x_bearer == "bearer-secret"
    assert "secret" not in repr(settings)


def test_every_example_setting_is_valid_when_uncommented(tmp_path: Path) -> None:
    # Uncomment every `# key = value` line of the example: the result must load, so the example stays true.
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        match = re.match(r"#\s?([a-z_]+ = .*?)(\s+#.*)?$", line)
        lines.append(match[1] if match else line)
    config = tmp_path / "all.toml"
    config.write_text("\n".join(lines))
    settings = load({"HOTPAPERS_CONFIG": str(config)}, tmp_path)
    assert settings.ingest.categories == ("cs.LG", "cs.CV", "cs.CL", "cs.AI", "stat.ML")
    assert settings.discord_gateway == "wss://gateway.discord.gg"
    assert settings.bluesky_handle == "you.bsky.social"


def test_command_line_reports_a_bad_setting_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOTPAPERS_DIGEST_GRACE_HOURS", "a while")
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "HOTPAPERS_DIGEST_GRACE_HOURS" in err
    assert "Traceback" not in err
