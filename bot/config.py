"""Settings: ``config/hotpapers.toml`` (or ``HOTPAPERS_CONFIG``) overridden by environment variables.

Every TOML setting ``[section] key`` can be overridden by ``HOTPAPERS_SECTION_KEY``; secrets come only from the
environment or a ``.env`` file. A bad value raises :class:`SettingsError` whose message is one line naming the
setting, which the command line prints instead of a traceback.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("config/hotpapers.toml")
DEFAULT_DB = Path("data/hotpapers.db")
SOURCES = ("hf", "hn", "bluesky", "x")
ROLES = ("all", "gateway", "worker")  # what one `hotpapers run` process does (README, "Cluster")
WEIGHTED = (*SOURCES, "discord")  # "discord": members' votes on digests (not an upstream to ask)
_USE_HOME = Path("<home>/.env")  # load_settings' default: the .env file in the home directory


def project_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where relative paths, ``.env`` and ``config/`` are found: ``HOTPAPERS_HOME`` if set, else the checkout
    the code runs from (the directory holding ``pyproject.toml``), else the current directory."""
    environ = os.environ if environ is None else environ
    if environ.get("HOTPAPERS_HOME", "").strip():
        return Path(environ["HOTPAPERS_HOME"].strip()).expanduser().absolute()
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class IngestSettings:
    categories: tuple[str, ...] = ("cs.LG", "cs.CV", "cs.CL", "cs.AI", "stat.ML")
    # Feeds rebuild at midnight US Eastern; ingest a little after, in that zone.
    times: tuple[str, ...] = ("00:30", "02:00")
    timezone: str = "America/New_York"


@dataclass(frozen=True)
class SignalsSettings:
    # Refresh engagement every `fresh_interval_minutes` for `fresh_hours` after a mailing, then every
    # `stale_interval_minutes` until `max_age_days`.
    fresh_hours: float = 36.0
    fresh_interval_minutes: int = 60
    stale_interval_minutes: int = 360
    max_age_days: int = 7
    hf_days: int = 5


@dataclass(frozen=True)
class DigestSettings:
    min_age_hours: float = 12.0
    grace_hours: float = 6.0
    default_size: int = 10
    max_failures: int = 3


@dataclass(frozen=True)
class RankingSettings:
    min_score: float = 50.0
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"x": 1.0, "hf": 5.0, "hn": 1.0, "bluesky": 1.0, "discord": 5.0}
    )


@dataclass(frozen=True)
class SubscriptionSettings:
    dm_cap: int = 10
    max_follows: int = 50
    default_time: str = "09:00"
    default_timezone: str = "UTC"


@dataclass(frozen=True)
class DiscordSettings:
    ready_timeout: float = 2.0
    # Bulk sends' pace, as Discord counts them on arrival (bot.delivery.pace): headroom under the token's global
    # 50/s. Raise it if Discord raised your bot's limit.
    requests_per_second: float = 48.0


@dataclass(frozen=True)
class DeliverySettings:
    retention_days: int = 30  # the ledger forgets finished deliveries (and their payloads) after this
    send_timeout: float = 30.0  # a bulk request without an answer by then is abandoned and retried


@dataclass(frozen=True)
class ClusterSettings:
    # `hotpapers run` as one process ("all"), or as part of a cluster: gateway processes answer commands for
    # their shards, worker processes (one leading at a time) run every job and send every digest and DM.
    role: str = "all"
    shards: tuple[int, ...] = ()  # a gateway's shard ids (empty: every shard of shard_count)
    shard_count: int = 1
    lease_seconds: float = 45.0  # a worker that has not renewed its leadership for this long is replaced
    renew_seconds: float = 15.0  # how often the leader renews (a waiting worker tries to take over 3 times as often)


@dataclass(frozen=True)
class HttpSettings:
    max_body_mb: float = 32.0  # the biggest upstream body read (a feed, an API page); more is refused

    @property
    def max_body(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


@dataclass(frozen=True)
class HarvestSettings:
    # The daily OAI-PMH harvest, at `time` in [ingest] timezone ("off": never); sets: default the archives of
    # [ingest] categories. arXiv's OAI-PMH has the evening's mailing from about 22:30 US Eastern.
    time: str = "03:00"
    sets: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebSettings:
    # The feeds and pages server in the bot process: off unless `port` is set; base_url makes absolute links.
    port: int | None = None
    host: str = "127.0.0.1"
    base_url: str = ""


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL instead of db_path (may hold a password)
    discord_token: str | None = field(default=None, repr=False)
    discord_api: str = "https://discord.com/api/v10"
    discord_gateway: str | None = None
    arxiv_api: str = "https://export.arxiv.org/api/query"
    arxiv_feeds: str = "https://rss.arxiv.org/rss"
    arxiv_interval: float = 3.0
    arxiv_oai: str = "https://oaipmh.arxiv.org/oai"
    hf_api: str = "https://huggingface.co/api"
    hn_api: str = "https://hn.algolia.com/api/v1"
    bluesky_api: str = "https://bsky.social/xrpc"
    x_api: str = "https://api.x.com/2"
    s2_api: str = "https://api.semanticscholar.org/graph/v1"  # "" (HOTPAPERS_S2_API=off): no citation counts
    s2_interval: float = 1.0  # seconds between requests to Semantic Scholar (its shared pool without a key)
    s2_key: str | None = field(default=None, repr=False)
    bluesky_handle: str | None = None
    bluesky_password: str | None = field(default=None, repr=False)
    x_bearer: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    config_path: Path | None = None
    home: Path | None = None  # the directory relative paths were resolved against
    warnings: tuple[str, ...] = ()  # e.g. a misspelled HOTPAPERS_* variable, with the closest valid name
    ingest: IngestSettings = field(default_factory=IngestSettings)
    signals: SignalsSettings = field(default_factory=SignalsSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    subscriptions: SubscriptionSettings = field(default_factory=SubscriptionSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    harvest: HarvestSettings = field(default_factory=HarvestSettings)
    web: WebSettings = field(default_factory=WebSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    @property
    def database(self) -> Path | str:
        """What the store opens: the PostgreSQL URL when ``HOTPAPERS_DATABASE_URL`` is set, else the SQLite file."""
        return self.database_url if self.database_url else self.db_path

    def database_exists(self) -> bool:
        """False only for a SQLite file not created yet (a PostgreSQL database is the server's to hold)."""
        return bool(self.database_url) or self.db_path.is_file()

    @property
    def database_name(self) -> str:
        """The database for messages: the SQLite path, or the PostgreSQL URL without its password."""
        if self.database_url:
            from bot.store.postgres import redact

            return redact(self.database_url)
        return str(self.db_path)


# ---- value parsers: each takes the raw value (TOML or env string) and returns the typed value or raises ValueError


def _url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if not re.match(r"^(https?|wss?)://[^\s/]+", text):
        raise ValueError(f"{value!r} is not an http(s) or ws(s) URL")
    return text


def _number(minimum: float, maximum: float | None = None) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum:g} and {maximum:g}" if maximum is not None else f">= {minimum:g}"
            raise ValueError(f"{value!r} must be {bound}")
        return number

    return parse


def _integer(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{value!r} is not a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a whole number") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ValueError(f"{value!r} must be {bound}")
        return number

    return parse


def _hhmm(value: Any) -> str:
    text = str(value).strip()
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if not match:
        raise ValueError(f"{value!r} is not a time as HH:MM (24-hour)")
    return f"{int(match[1]):02d}:{match[2]}"


def _times(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    times = tuple(_hhmm(item) for item in items if str(item).strip())
    if not times:
        raise ValueError("needs at least one HH:MM time")
    return times


def _timezone(value: Any) -> str:
    from bot.digest import DigestSetupError, parse_timezone  # imported late, as the taxonomy is

    try:
        return parse_timezone(str(value))
    except DigestSetupError:
        raise ValueError(f"{value!r} is not an IANA timezone such as Europe/Paris or UTC") from None


def _categories(value: Any) -> tuple[str, ...]:
    from bot.taxonomy import resolve_categories  # imported late: the taxonomy loads a data file

    items = value if isinstance(value, list) else str(value).split(",")
    return resolve_categories([str(item) for item in items])


def _harvest_time(value: Any) -> str:
    return "off" if str(value).strip().lower() == "off" else _hhmm(value)


def _harvest_sets(value: Any) -> tuple[str, ...]:
    from bot.harvest import parse_sets  # imported late: the taxonomy loads a data file

    return parse_sets(value if isinstance(value, list) else str(value).split(","))


def _log_level(value: Any) -> str:
    level = str(value).strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"{value!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _role(value: Any) -> str:
    role = str(value).strip().lower()
    if role not in ROLES:
        raise ValueError(f"{value!r} is not one of {', '.join(ROLES)}")
    return role


def parse_shards(value: Any) -> tuple[int, ...]:
    """Shard ids as ``0-3``, ``0,2,5`` or ``1`` (ranges and single ids, comma-separated), sorted, each once."""
    items = value if isinstance(value, list) else str(value).split(",")
    shards: set[int] = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        first, dash, last = text.partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError(f"{text!r} is not a shard id or a range such as 0-3") from None
        if low < 0 or high < low:
            raise ValueError(f"{text!r} is not a shard id or a range such as 0-3")
        shards.update(range(low, high + 1))
    return tuple(sorted(shards))


def _text(value: Any) -> str:
    return str(value)


def _url_or_off(value: Any) -> str:
    """A URL, or "" for a source turned off (``off`` or an empty value)."""
    text = str(value).strip()
    return "" if text.lower() in ("", "off") else _url(text)


def _secret(value: Any) -> str:
    """A token or password: one line without spaces or control characters (a pasted newline is a typo)."""
    text = str(value).strip()
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError("contains a line break, space or control character; paste the value on one line")
    return text


def _database_url(value: Any) -> str:
    from bot.store.postgres import validate_url  # imported late: the driver is only needed for PostgreSQL

    return validate_url(str(value).strip())


def _path(value: Any) -> Path:
    return Path(str(value)).expanduser()


# (section, key) -> parser; section "" holds the top-level settings named by DESIGN.md's environment variables.
_TOP_LEVEL: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # field: (environment variable, parser)
    "db_path": ("HOTPAPERS_DB", _path),
    "database_url": ("HOTPAPERS_DATABASE_URL", _database_url),
    "discord_token": ("DISCORD_TOKEN", _secret),
    "discord_api": ("HOTPAPERS_DISCORD_API", _url),
    "discord_gateway": ("HOTPAPERS_DISCORD_GATEWAY", _url),
    "arxiv_api": ("HOTPAPERS_ARXIV_API", _url),
    "arxiv_feeds": ("HOTPAPERS_ARXIV_FEEDS", _url),
    "arxiv_interval": ("HOTPAPERS_ARXIV_INTERVAL", _number(0)),
    "arxiv_oai": ("HOTPAPERS_ARXIV_OAI", _url),
    "hf_api": ("HOTPAPERS_HF_API", _url),
    "hn_api": ("HOTPAPERS_HN_API", _url),
    "bluesky_api": ("HOTPAPERS_BLUESKY_API", _url),
    "x_api": ("HOTPAPERS_X_API", _url),
    "s2_api": ("HOTPAPERS_S2_API", _url_or_off),
    "s2_interval": ("HOTPAPERS_S2_INTERVAL", _number(0)),
    "s2_key": ("HOTPAPERS_S2_KEY", _secret),
    "bluesky_handle": ("HOTPAPERS_BLUESKY_HANDLE", _text),
    "bluesky_password": ("HOTPAPERS_BLUESKY_PASSWORD", _secret),
    "x_bearer": ("HOTPAPERS_X_BEARER", _secret),
    "log_level": ("HOTPAPERS_LOG_LEVEL", _log_level),
}
_SECRETS = {"discord_token", "bluesky_password", "x_bearer", "s2_key", "database_url"}
# TOML keys under [bot] that may set top-level, non-secret settings (e.g. `[bot] db = "..."`).
_TOML_TOP_LEVEL = {"db": "db_path", "discord_api": "discord_api", "discord_gateway": "discord_gateway",
                   "arxiv_api": "arxiv_api", "arxiv_feeds": "arxiv_feeds", "arxiv_interval": "arxiv_interval",
                   "arxiv_oai": "arxiv_oai",
                   "hf_api": "hf_api", "hn_api": "hn_api", "bluesky_api": "bluesky_api", "x_api": "x_api",
                   "s2_api": "s2_api", "s2_interval": "s2_interval",
                   "log_level": "log_level", "bluesky_handle": "bluesky_handle"}

_SECTIONS: dict[str, tuple[type, dict[str, Callable[[Any], Any]]]] = {
    "ingest": (IngestSettings, {"categories": _categories, "times": _times, "timezone": _timezone}),
    "signals": (SignalsSettings, {
        "fresh_hours": _number(1), "fresh_interval_minutes": _integer(5), "stale_interval_minutes": _integer(5),
        "max_age_days": _integer(1, 60), "hf_days": _integer(1, 14),
    }),
    "digest": (DigestSettings, {
        "min_age_hours": _number(0, 168), "grace_hours": _number(0, 72), "default_size": _integer(1, 25),
        "max_failures": _integer(1, 100),
    }),
    "ranking": (RankingSettings, {"min_score": _number(0)}),
    "subscriptions": (SubscriptionSettings, {
        "dm_cap": _integer(1, 25), "max_follows": _integer(1, 500), "default_time": _hhmm,
        "default_timezone": _timezone,
    }),
    "discord": (DiscordSettings, {"ready_timeout": _number(0, 600), "requests_per_second": _number(1, 10000)}),
    "http": (HttpSettings, {"max_body_mb": _number(1, 4096)}),
    "harvest": (HarvestSettings, {"time": _harvest_time, "sets": _harvest_sets}),
    "web": (WebSettings, {"port": _integer(1, 65535), "host": _text, "base_url": _url}),
    "delivery": (DeliverySettings, {"retention_days": _integer(8, 3650), "send_timeout": _number(1, 300)}),
    "cluster": (ClusterSettings, {
        "role": _role, "shards": parse_shards, "shard_count": _integer(1, 100_000),
        "lease_seconds": _number(1, 3600), "renew_seconds": _number(0.05, 1200),
    }),
}


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a ``.env`` file (quotes stripped, comments ignored)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _parse(name: str, parser: Callable[[Any], Any], value: Any) -> Any:
    try:
        return parser(value)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"setting {name}: {exc}") from None


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = _USE_HOME) -> Settings:
    """Read, merge and validate every setting; raises SettingsError naming the first bad one.

    Relative paths are resolved the way the README says: ``.env``, ``config/hotpapers.toml`` and every relative
    path a setting names (``HOTPAPERS_CONFIG``, ``HOTPAPERS_DB``, ``[bot] db``) against :func:`project_home`."""
    given = os.environ if env is None else env
    home = project_home(given)
    if dotenv == _USE_HOME:
        dotenv = home / ".env"
    environ: dict[str, str] = dict(read_dotenv(dotenv)) if dotenv else {}
    environ.update(given)

    config_path: Path | None
    if environ.get("HOTPAPERS_CONFIG", "").strip():
        config_path = home / Path(environ["HOTPAPERS_CONFIG"].strip()).expanduser()
        if not config_path.is_file():
            raise SettingsError(f"setting HOTPAPERS_CONFIG: no such file {str(config_path)!r}")
    else:
        config_path = home / DEFAULT_CONFIG if (home / DEFAULT_CONFIG).is_file() else None
    toml: dict[str, Any] = {}
    if config_path is not None:
        try:
            toml = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"setting HOTPAPERS_CONFIG: {config_path} is not valid TOML ({exc})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"setting HOTPAPERS_CONFIG: cannot read {config_path} ({exc})") from None

    top: dict[str, Any] = {"config_path": config_path, "home": home, "db_path": home / DEFAULT_DB,
                           "warnings": misspelled_variables(environ)}
    bot_table = toml.get("bot", {})
    for key, value in bot_table.items():
        if key not in _TOML_TOP_LEVEL:
            raise SettingsError(f"setting [bot] {key}: unknown setting (secrets belong in the environment)")
        name = _TOML_TOP_LEVEL[key]
        top[name] = _parse(f"[bot] {key}", _TOP_LEVEL[name][1], value)
        if name == "db_path":
            top[name] = home / top[name]
    for name, (variable, parser) in _TOP_LEVEL.items():
        raw = environ.get(variable)
        if raw is not None and raw.strip() != "":
            top[name] = _parse(variable, parser, raw.strip())
            if name == "db_path":
                top[name] = home / top[name]

    for section, (cls, parsers) in _SECTIONS.items():
        table = toml.get(section, {})
        if not isinstance(table, dict):
            raise SettingsError(f"setting [{section}]: must be a table")
        values: dict[str, Any] = {}
        for key, value in table.items():
            if section == "ranking" and key == "weights":
                continue
            if key not in parsers:
                raise SettingsError(f"setting [{section}] {key}: unknown setting")
            values[key] = _parse(f"[{section}] {key}", parsers[key], value)
        for key, parser in parsers.items():
            variable = f"HOTPAPERS_{section.upper()}_{key.upper()}"
            if environ.get(variable, "").strip():
                values[key] = _parse(variable, parser, environ[variable].strip())
        if section == "ranking":
            values["weights"] = _weights(table.get("weights", {}), environ)
        top[section] = cls(**values)
    check_cluster(top["cluster"])

    unknown = set(toml) - set(_SECTIONS) - {"bot"}
    if unknown:
        raise SettingsError(f"setting [{sorted(unknown)[0]}]: unknown section")
    return Settings(**top)


def check_cluster(cluster: ClusterSettings, where: str = "[cluster]") -> None:
    """Raise SettingsError when the cluster settings do not fit together (shards within the count, a lease
    renewed at least twice before it runs out)."""
    outside = [shard for shard in cluster.shards if shard >= cluster.shard_count]
    if outside:
        raise SettingsError(f"setting {where} shards: shard {outside[0]} is not below shard_count "
                            f"{cluster.shard_count} (shards count from 0)")
    if cluster.shards and cluster.role == "worker":
        raise SettingsError(f"setting {where} shards: a worker has no gateway connection; shards are for "
                            "role gateway (or all)")
    if cluster.renew_seconds * 2 > cluster.lease_seconds:
        raise SettingsError(f"setting {where} renew_seconds: {cluster.renew_seconds:g} must be at most half of "
                            f"lease_seconds ({cluster.lease_seconds:g}) so a leader renews before it expires")


def _weights(table: Any, environ: Mapping[str, str]) -> dict[str, float]:
    weights = dict(RankingSettings().weights)
    if not isinstance(table, dict):
        raise SettingsError("setting [ranking] weights: must be a table such as { x = 1.0, hf = 5.0 }")
    for source, value in table.items():
        if source not in WEIGHTED:
            raise SettingsError(f"setting [ranking.weights] {source}: unknown source (one of {', '.join(WEIGHTED)})")
        weights[source] = _parse(f"[ranking.weights] {source}", _number(0), value)
    for source in WEIGHTED:
        variable = f"HOTPAPERS_RANKING_WEIGHTS_{source.upper()}"
        if environ.get(variable, "").strip():
            weights[source] = _parse(variable, _number(0), environ[variable].strip())
    return weights


def known_variables() -> set[str]:
    """Every environment variable the settings read."""
    names = {variable for variable, _ in _TOP_LEVEL.values()}
    names |= {"HOTPAPERS_CONFIG", "HOTPAPERS_HOME", "HOTPAPERS_TEST_CLOCK", "HOTPAPERS_SHARED_FIXTURES"}
    names |= {f"HOTPAPERS_RANKING_WEIGHTS_{source.upper()}" for source in SOURCES}
    for section, (_, parsers) in _SECTIONS.items():
        names |= {f"HOTPAPERS_{section.upper()}_{key.upper()}" for key in parsers}
    return names


# Other parts of the project read a few HOTPAPERS_* variables of their own (benchmarks, test tools).
_OTHER_PREFIXES = ("HOTPAPERS_BENCH_", "HOTPAPERS_TEST_")


def misspelled_variables(environ: Mapping[str, str]) -> tuple[str, ...]:
    """A warning for each ``HOTPAPERS_*`` variable no setting reads, naming the closest valid one."""
    known = known_variables()
    warnings = []
    for name in sorted(environ):
        if not name.startswith("HOTPAPERS_") or name in known or name.startswith(_OTHER_PREFIXES):
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else " (see the settings table in the README)"
        warnings.append(f"{name} is not a setting and is ignored{hint}")
    return tuple(warnings)
