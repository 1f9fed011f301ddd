"""``hotpapers doctor``: settings, database and each upstream, against the threaded replay server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FileClock
from bot.models import Paper
from bot.store import Store
from tests.engines import SQLITE_FILE, point_cli_at
from tests.fakes.threaded import ThreadedUpstream, threaded_upstream  # noqa: F401  (fixture)
from tests.fixtures.arxiv.feeds import Item, rss_feed

SECRET = "sekrit-bearer-value-123"


@pytest.fixture
def env(threaded_upstream: ThreadedUpstream, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> ThreadedUpstream:
    monkeypatch.chdir(tmp_path)
    for variable in ("HOTPAPERS_CONFIG", "DISCORD_TOKEN", "HOTPAPERS_BLUESKY_HANDLE",
                     "HOTPAPERS_BLUESKY_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    url = threaded_upstream.url
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "hp.db"))
    monkeypatch.setenv("HOTPAPERS_ARXIV_API", url + "/api/query")
    monkeypatch.setenv("HOTPAPERS_ARXIV_FEEDS", url + "/rss")
    monkeypatch.setenv("HOTPAPERS_ARXIV_INTERVAL", "0")
    monkeypatch.setenv("HOTPAPERS_HF_API", url + "/hf")
    monkeypatch.setenv("HOTPAPERS_HN_API", url + "/hn")
    monkeypatch.setenv("HOTPAPERS_BLUESKY_API", url + "/bsky")
    monkeypatch.setenv("HOTPAPERS_X_API", url + "/x")
    monkeypatch.setenv("HOTPAPERS_X_BEARER", SECRET)
    monkeypatch.setenv("HOTPAPERS_S2_API", url + "/s2")
    return threaded_upstream


def serve(upstream: ThreadedUpstream, failing: dict[str, tuple[int, object]] | None = None) -> None:
    """Every upstream answers its probe, except ``failing`` paths, which answer (status, body)."""
    healthy: dict[str, object] = {
        "/api/query": b"<feed xmlns='http://www.w3.org/2005/Atom'/>",
        "/rss/cs.LG": rss_feed([Item("2511.00001")]),
        "/hf/daily_papers": [],
        "/hn/search": {"hits": []},
        "/x/tweets/search/recent": {"meta": {"result_count": 0}},
        "/s2/paper/arXiv:1706.03762": {"paperId": "204e3073870fae3d05bcbc2f6a8e263d9b72e776", "citationCount": 1},
    }
    for path, body in healthy.items():
        status, body = (failing or {}).get(path, (200, body))
        upstream.reply(path, body, status=status)


def check_line(out: str, name: str) -> str:
    """The one line of the upstream/database table about ``name``."""
    [line] = [line for line in out.splitlines() if line.startswith(f"  {name} ")]
    return line


def test_all_good(env: ThreadedUpstream, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "hp.db")
    store.upsert_papers([Paper(id="2107.05677", version=1, title="T", authors=("A",), abstract="x",
                               primary_category="cs.LG", categories=("cs.LG",))])
    store.close()
    serve(env)

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "ready"  # the verdict first, then one line per check
    assert len(out.splitlines()) <= 15, out
    assert SECRET not in out
    assert "defaults and environment (no settings file)" in check_line(out, "settings")
    assert "1 papers; schema " in out and "papers v" in out
    for name in ("arXiv API", "arXiv feeds", "Hugging Face", "Hacker News", "X", "Semantic Scholar"):
        assert " ok " in check_line(out, name), out
    [s2_request] = env.requests_to("/s2/paper/arXiv:1706.03762")
    assert s2_request.query == {"fields": "citationCount"}
    assert check_line(out, "Bluesky").split(None, 1)[1] == "off (no credentials)"
    assert check_line(out, "Discord").split(None, 1)[1].startswith("off (DISCORD_TOKEN not set")
    [x_request] = env.requests_to("/x/tweets/search/recent")
    assert x_request.headers["Authorization"] == f"Bearer {SECRET}"
    assert env.requests_to("/bsky/_health") == []


def test_arxiv_feeds_down_is_not_ready(env: ThreadedUpstream, capsys: pytest.CaptureFixture[str]) -> None:
    serve(env, {"/rss/cs.LG": (503, b"down")})
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    feeds = check_line(out, "arXiv feeds")
    assert "FAILED" in feeds and "HTTP 503" in feeds
    assert out.splitlines()[0] == "not ready: arXiv feeds"


def test_semantic_scholar_off_or_down_is_said_and_never_fails_the_check(
        env: ThreadedUpstream, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    serve(env, {"/s2/paper/arXiv:1706.03762": (429, {"message": "Too Many Requests"})})
    assert main(["doctor"]) == 0
    assert "warning" in check_line(capsys.readouterr().out, "Semantic Scholar")
    monkeypatch.setenv("HOTPAPERS_S2_API", "off")
    assert main(["doctor"]) == 0
    assert check_line(capsys.readouterr().out, "Semantic Scholar").split(None, 2)[2] == (
        "off (HOTPAPERS_S2_API=off: search ties are broken without citation counts)")


def test_an_optional_source_failing_is_only_a_warning(env: ThreadedUpstream,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    serve(env, {"/hf/daily_papers": (500, b"oops"),
                "/x/tweets/search/recent": (401, {"title": "Unauthorized"})})
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    hf, x = check_line(out, "Hugging Face"), check_line(out, "X")
    assert "warning" in hf and "warning" in x and "credentials refused" in x
    assert out.splitlines()[0] == "ready"


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_a_broken_database_is_not_ready(env: ThreadedUpstream, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    serve(env)
    (tmp_path / "hp.db").write_bytes(b"this is not a database, just some bytes" * 100)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    database = check_line(out, "database")
    assert "FAILED" in database and "HOTPAPERS_DB" in database and "not a Hot Papers SQLite database" in database
    assert out.splitlines()[0] == "not ready: database"


def test_a_missing_database_is_fine(env: ThreadedUpstream, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    serve(env)
    assert main(["doctor"]) == 0
    assert "does not exist yet" in capsys.readouterr().out
    assert not (tmp_path / "hp.db").exists()


# ---- the cluster: the configured role, and the workers' leader lease as stored (read only) ------------------

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=45)
HOLDER = "worker-host:4242:a1b2c3"


def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """The doctor's clock (the test-only clock file every ``hotpapers`` command reads)."""
    clock = tmp_path / "clock.txt"
    FileClock.write(clock, when)
    monkeypatch.setenv("HOTPAPERS_TEST_CLOCK", str(clock))


def test_a_single_bot_no_worker_has_led(env: ThreadedUpstream, capsys: pytest.CaptureFixture[str]) -> None:
    serve(env)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert check_line(out, "cluster role").split(None, 2)[2] == (
        "ok       role all; one process does everything (no other 'hotpapers run' on this database)")
    assert check_line(out, "leader lease").endswith("ok       no worker has led yet")


def test_a_gateway_sees_which_worker_leads_and_until_when_without_touching_the_lease(
        env: ThreadedUpstream, engine: str, db_location: Path | str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    point_cli_at(monkeypatch, db_location)
    monkeypatch.setenv("HOTPAPERS_CLUSTER_ROLE", "gateway")
    monkeypatch.setenv("HOTPAPERS_CLUSTER_SHARDS", "0-1")
    monkeypatch.setenv("HOTPAPERS_CLUSTER_SHARD_COUNT", "4")
    store = Store(db_location)
    assert store.take_lease("workers", HOLDER, T0, T0 + LEASE) == 1
    store.close()
    at(tmp_path, monkeypatch, T0 + timedelta(seconds=10))
    serve(env)

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    role = check_line(out, "cluster role")
    assert " ok " in role and "role gateway, shards 0,1 of 4" in role
    where = {"sqlite": "SQLite: every process of the cluster on this machine",
             "postgresql": "PostgreSQL: the cluster's processes may run on any machine"}
    assert where[engine] in role
    assert check_line(out, "leader lease").endswith(
        f"ok       {HOLDER} leads (term 1) until 2026-11-26 09:00:45 UTC")

    at(tmp_path, monkeypatch, T0 + LEASE + timedelta(seconds=1))  # the worker stopped renewing
    assert main(["doctor"]) == 0  # a warning, not a failure
    out = capsys.readouterr().out
    lease_line = check_line(out, "leader lease")
    assert "warning" in lease_line
    assert f"no worker leads: {HOLDER}'s lease (term 1) ran out at 2026-11-26 09:00:45 UTC" in lease_line
    assert "no digest or DM goes out until one does" in lease_line
    assert out.splitlines()[0] == "ready"

    store = Store(db_location)
    try:
        lease = store.lease("workers")  # the doctor neither took nor renewed it
        assert lease is not None and (lease.holder, lease.expires_at, lease.term) == (HOLDER, T0 + LEASE, 1)
    finally:
        store.close()


def test_a_single_bot_beside_a_leading_worker_is_a_warning(env: ThreadedUpstream, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "hp.db")
    store.take_lease("workers", HOLDER, T0, T0 + LEASE)
    store.release_lease("workers", HOLDER)
    store.take_lease("workers", "other-host:7:ffffff", T0, T0 + LEASE)
    store.close()
    at(tmp_path, monkeypatch, T0 + timedelta(seconds=5))
    serve(env)

    assert main(["doctor"]) == 0
    lease_line = check_line(capsys.readouterr().out, "leader lease")
    assert "warning" in lease_line and "other-host:7:ffffff leads (term 2)" in lease_line
    assert "role all would run the jobs and send beside it" in lease_line


def test_a_lease_given_up_leaves_no_leader(env: ThreadedUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTPAPERS_CLUSTER_ROLE", "worker")
    store = Store(tmp_path / "hp.db")
    store.take_lease("workers", HOLDER, T0, T0 + LEASE)
    store.release_lease("workers", HOLDER)  # a clean stop
    store.close()
    at(tmp_path, monkeypatch, T0 + timedelta(seconds=5))
    serve(env)

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "role worker; SQLite: every process" in check_line(out, "cluster role")
    assert check_line(out, "leader lease").endswith(
        f"ok       no worker leads: {HOLDER} gave the lease up (term 1)")
