"""Backfill against hostile or unusual files: deep lines, nulls, overlong lines, the Kaggle zip, gzip, a JSON
array, other compressions, and a backfill stopped by SIGTERM or SIGKILL (no parser process left behind)."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from bot import backfill as backfill_module
from bot.backfill import (
    KAGGLE_MEMBER,
    MAX_LINE_BYTES,
    PROCESS_THRESHOLD_BYTES,
    BackfillProgress,
    MalformedLine,
    UnreadableFile,
    backfill_file,
    parse_line,
)
from bot.cli import main as cli
from bot.store import Store
from tests.cli.test_backfill import kaggle_record, write_lines

ROOT = Path(__file__).resolve().parents[2]
DEEP_LINE = "[" * 200_000 + "]" * 200_000


@pytest.mark.parametrize("line", [
    DEEP_LINE,
    '{"id": "0704.0001", "title": ' + "[" * 100_000 + "]" * 100_000 + "}",
    json.dumps(kaggle_record("0704.0001", title=None)),
    json.dumps(kaggle_record("0704.0001", title=12)),
    json.dumps(kaggle_record("0704.0001", title=["a", "list"])),
    json.dumps(kaggle_record("0704.0001", categories=None)),
    json.dumps(kaggle_record("0704.0001", id=None)),
])
def test_a_hostile_line_is_malformed_never_a_traceback(line: str) -> None:
    with pytest.raises(MalformedLine):
        parse_line(line)


def test_null_optional_fields_are_absent_not_the_word_none() -> None:
    paper = parse_line(json.dumps(kaggle_record("0704.0001", abstract=None, comments=None, doi=12,
                                                authors=None, authors_parsed=None)))
    assert (paper.abstract, paper.comment, paper.doi, paper.authors) == ("", None, None, ())
    assert "None" not in json.dumps([paper.title, paper.abstract, paper.authors])


def test_a_deep_line_is_counted_and_the_file_finishes_every_time(tmp_path: Path) -> None:
    lines = [json.dumps(kaggle_record(f"0704.{n:04d}", n)) for n in range(1, 6)]
    lines.insert(2, DEEP_LINE)
    lines.insert(4, json.dumps(kaggle_record("0704.0999", title=None)))
    path = write_lines(tmp_path / "papers.json", lines)
    store = Store(tmp_path / "db")
    result = backfill_file(store, path, batch_size=2)
    assert (result.counts.new, result.malformed, result.lines) == (5, 2, 7)
    assert store.paper("0704.0999") is None  # never stored with the title "None"
    assert backfill_file(store, path).already_done  # not blocked: the file is done
    store.close()


def test_an_overlong_line_is_skipped_as_malformed_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "papers.json"
    with path.open("w") as out:
        out.write(json.dumps(kaggle_record("0704.0001", 1)) + "\n")
        out.write('{"id": "0704.0002", "abstract": "' + "x" * (MAX_LINE_BYTES * 2 + 10) + '"}\n')
        out.write(json.dumps(kaggle_record("0704.0003", 3)) + "\n")
    store = Store(tmp_path / "db")
    result = backfill_file(store, path)
    assert (result.counts.new, result.malformed, result.lines) == (2, 1, 3)
    store.close()


def kaggle_lines(count: int) -> bytes:
    return "".join(json.dumps(kaggle_record(f"0704.{n:04d}", n)) + "\n" for n in range(1, count + 1)).encode()


def as_kaggle_zip(path: Path, data: bytes, member: str = KAGGLE_MEMBER) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, data)
    return path


@pytest.mark.parametrize("form", ["zip", "gzip", "plain"])
def test_the_kaggle_file_is_read_as_distributed(tmp_path: Path, form: str) -> None:
    data = kaggle_lines(10)
    if form == "zip":
        path = as_kaggle_zip(tmp_path / "archive.zip", data)
    elif form == "gzip":
        path = tmp_path / "papers.json.gz"
        path.write_bytes(gzip.compress(data))
    else:
        path = tmp_path / KAGGLE_MEMBER
        path.write_bytes(data)
    store = Store(tmp_path / "db")
    seen: list[BackfillProgress] = []

    def stop_after_the_first_batch(progress: BackfillProgress) -> None:
        seen.append(progress)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_file(store, path, batch_size=4, progress=stop_after_the_first_batch)
    resumed = backfill_file(store, path, batch_size=4, progress=seen.append)
    assert (resumed.counts.new, resumed.malformed, resumed.resumed_from_line) == (6, 0, 4)
    assert store.paper_count() == 10 and store.paper("0704.0007") is not None
    assert 0 < seen[0].bytes_done <= seen[0].bytes_total and seen[-1].bytes_done == seen[-1].bytes_total
    store.close()


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p.write_text(json.dumps([kaggle_record("0704.0001")], indent=1)),
     "is one JSON array, not JSON lines (one paper per line, as Kaggle distributes it); convert it with: jq"),
    (lambda p: p.write_bytes(bz2.compress(kaggle_lines(3))), "is bzip2-compressed: unpack it"),
    (lambda p: as_kaggle_two(p),
     f"is a zip without {KAGGLE_MEMBER} (it holds a.json, b.json)"),
    (lambda p: p.write_bytes(gzip.compress(kaggle_lines(3))[:30]), "is a damaged gzip file"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "is a damaged zip file"),
])
def test_a_file_in_another_form_gets_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], make, words: str  # type: ignore[no-untyped-def]
                                                    ) -> None:
    path = tmp_path / "arxiv-metadata"
    make(path)
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)
    assert cli(["backfill", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "malformed" not in err[0]


def as_kaggle_two(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.json", "{}\n")
        archive.writestr("b.json", "{}\n")
    return path


def test_recognise_picks_the_kaggle_member_among_others(tmp_path: Path) -> None:
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", "hello")
        archive.writestr(f"data/{KAGGLE_MEMBER}", kaggle_lines(2))
    meta = backfill_module.recognise(path)
    assert (meta.format, meta.member, meta.size) == ("zip", f"data/{KAGGLE_MEMBER}", len(kaggle_lines(2)))
    with pytest.raises(UnreadableFile):
        backfill_module.recognise(as_kaggle_two(tmp_path / "two.zip"))


# ---- stopping: no parser process outlives the backfill


def big_kaggle_file(path: Path) -> Path:
    """Just over the size parsed in a child process (a real file: nothing in the code is patched)."""
    template = json.dumps(kaggle_record("1501.00000", 0, abstract="x" * 1500))
    count = PROCESS_THRESHOLD_BYTES // len(template) + 2000
    with path.open("w") as out:
        for n in range(count):
            out.write(template.replace("1501.00000", f"15{n // 90000 + 1:02d}.{n % 90000 + 1:05d}") + "\n")
    return path


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the parser process")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_backfill_leaves_no_parser_process(tmp_path: Path, how: signal.Signals) -> None:
    path = big_kaggle_file(tmp_path / KAGGLE_MEMBER)
    env = {**os.environ, "HOTPAPERS_DB": str(tmp_path / "cli.db"), "PYTHONPATH": str(ROOT)}
    env.pop("HOTPAPERS_CONFIG", None)
    backfill = subprocess.Popen([sys.executable, "-c", "import sys; from bot.cli import main; "
                                 "sys.exit(main(['backfill', sys.argv[1]]))", str(path)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: children_of(backfill.pid), 90), "the parser process never started"
        wait_for(lambda: False, 1.0)  # let it parse and fill the queue
        helpers = children_of(backfill.pid)
        backfill.send_signal(how)
        _, err = backfill.communicate(timeout=90)
        assert wait_for(lambda: not any(alive(pid) for pid in helpers), 60), "a parser process is still running"
        if how == signal.SIGTERM:
            assert backfill.returncode == 130 and b"Traceback" not in err
            assert err.decode().strip().splitlines()[-1] == (
                "hotpapers: backfill interrupted; run the same command again to continue where it stopped")
    finally:
        if backfill.poll() is None:
            backfill.kill()
            backfill.wait()
