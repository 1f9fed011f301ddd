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
    settings = load({"HOTPAPERS_HOME": str(tmp_path / "home")}, tmp_path)
    assert settings.db_path == tmp_path / "home" / "data" / "hotpapers.db"
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


# ---- where files are found (README "Where every file lives")


def test_relative_paths_resolve_against_the_home_not_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "hotpapers.toml").write_text("[digest]\nmin_age_hours = 3\n")
    (home / ".env").write_text("HOTPAPERS_DB=state/hp.db\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings({"HOTPAPERS_HOME": str(home)})
    assert settings.config_path == home / "config" / "hotpapers.toml"
    assert settings.digest.min_age_hours == 3
    assert settings.db_path == home / "state" / "hp.db"
    assert list(elsewhere.iterdir()) == []


def test_the_checkout_is_the_home_when_none_is_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    checkout = Path(__file__).resolve().parents[2]
    settings = load_settings({}, dotenv=None)
    assert settings.home == checkout
    assert settings.db_path == checkout / "data" / "hotpapers.db"


def test_a_relative_db_in_the_config_file_is_relative_to_the_home_too(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "hp.toml"
    config.parent.mkdir()
    config.write_text('[bot]\ndb = "var/hp.db"\n')
    (tmp_path / "home").mkdir()
    settings = load({"HOTPAPERS_HOME": str(tmp_path / "home"), "HOTPAPERS_CONFIG": "../etc/hp.toml"}, tmp_path)
    assert settings.config_path == tmp_path / "home" / ".." / "etc" / "hp.toml"
    assert settings.db_path == tmp_path / "home" / "var" / "hp.db"


def test_a_misspelled_variable_is_warned_about_with_the_closest_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load({"HOTPAPERS_DIGEST_MIN_AGE_HOUR": "3", "HOTPAPERS_RANKING_MINSCORE": "5",
                     "HOTPAPERS_BENCH_PAPERS": "10"}, tmp_path)
    assert settings.digest.min_age_hours == 12
    assert settings.warnings == (
        "HOTPAPERS_DIGEST_MIN_AGE_HOUR is not a setting and is ignored; did you mean "
        "HOTPAPERS_DIGEST_MIN_AGE_HOURS?",
        "HOTPAPERS_RANKING_MINSCORE is not a setting and is ignored; did you mean HOTPAPERS_RANKING_MIN_SCORE?")
    monkeypatch.setenv("HOTPAPERS_ARXIV_INTERVALL", "0")
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "nothing-here.db"))
    assert main(["top"]) == 1
    err = capsys.readouterr().err
    assert "HOTPAPERS_ARXIV_INTERVALL is not a setting and is ignored; did you mean HOTPAPERS_ARXIV_INTERVAL?" in err


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/Paris", "Mars/Olympus"])
def test_only_real_iana_zones_are_timezones(zone: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HOTPAPERS_INGEST_TIMEZONE"):
        load({"HOTPAPERS_INGEST_TIMEZONE": zone}, tmp_path)
    assert load({"HOTPAPERS_INGEST_TIMEZONE": "Europe/Paris"}, tmp_path).ingest.timezone == "Europe/Paris"


@pytest.mark.parametrize("variable", ["HOTPAPERS_X_BEARER", "DISCORD_TOKEN", "HOTPAPERS_BLUESKY_PASSWORD"])
def test_a_secret_with_a_line_break_is_one_line_naming_the_setting_never_the_value(
        variable: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "AAAA-secret-part\nBBBB-second-line")
    assert main(["top"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and variable in err and "line break" in err
    assert "secret-part" not in err and "Traceback" not in err
    assert load({variable: "AAAA-secret\n"}, tmp_path)  # a trailing newline (from a file) is fine


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert re.fullmatch(r"hotpapers \d+\.\d+\.\d+\n", capsys.readouterr().out)
