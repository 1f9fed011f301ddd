"""Backfilling the Kaggle arXiv metadata file: parsing, malformed lines, resuming, idempotence, the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.backfill import BackfillProgress, MalformedLine, backfill_file, parse_line
from bot.cli import main as cli
from bot.cli.backfill import ProgressReport
from bot.store import IngestCounts, Store


def kaggle_record(paper_id: str, n: int = 0, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": paper_id,
        "submitter": "Ada Lovelace",
        "authors": "A. Lovelace, C. Babbage and others",
        "title": f"Analytical engines\n  number {n}",
        "comments": "12 pages, 3 figures",
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": "cs.LG stat.ML",
        "license": None,
        "abstract": f"  We build engine {n}.\nIt computes Bernoulli numbers.\n",
        "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                     {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"}],
        "update_date": "2008-11-13",
        "authors_parsed": [["Lovelace", "Ada", ""], ["Babbage", "Charles", "Jr"]],
    }
    record.update(fields)
    return record


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def kaggle_file(tmp_path: Path, count: int = 10, malformed_at: int | None = 4) -> Path:
    lines = [json.dumps(kaggle_record(f"0704.{n:04d}", n)) for n in range(1, count + 1)]
    if malformed_at is not None:
        lines.insert(malformed_at, '{"id": "0704.9999", "title": "cut off in the mid')
    return write_lines(tmp_path / "arxiv-metadata.json", lines)


def test_a_line_becomes_a_paper() -> None:
    paper = parse_line(json.dumps(kaggle_record("0704.0001", 1)))

    assert paper.id == "0704.0001"
    assert paper.version == 2
    assert paper.title == "Analytical engines number 1"
    assert paper.authors == ("Ada Lovelace", "Charles Babbage Jr")
    assert paper.abstract == "We build engine 1. It computes Bernoulli numbers."
    assert paper.primary_category == "cs.LG" and paper.categories == ("cs.LG", "stat.ML")
    assert paper.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert paper.updated == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert paper.comment == "12 pages, 3 figures" and paper.journal_ref is None and paper.doi is None
    assert paper.mailing is None


# The first record of the Kaggle dataset (abstract shortened): TeX accents in "authors", a wrapped title.
FIRST_KAGGLE_LINE = json.dumps({
    "id": "0704.0001", "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
    "comments": "37 pages, 15 figures; published version", "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009", "report-no": "ANL-HEP-PR-07-12", "categories": "hep-ph",
    "license": None,
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented.\n",
    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                 {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"}],
    "update_date": "2008-11-13",
    "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""], ["Nadolsky", "P. M.", ""],
                       ["Yuan", "C. -P.", ""]],
}, separators=(",", ":"), ensure_ascii=True)


def test_a_real_kaggle_line() -> None:
    paper = parse_line(FIRST_KAGGLE_LINE)

    assert paper.id == "0704.0001" and paper.version == 2
    assert paper.title == ("Calculation of prompt diphoton production cross sections at Tevatron and LHC"
                           " energies")
    assert paper.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert paper.categories == ("hep-ph",) and paper.primary_category == "hep-ph"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007" and paper.doi == "10.1103/PhysRevD.76.013009"
    assert paper.abstract.startswith("A fully differential calculation") and "\n" not in paper.abstract
    assert paper.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)


def test_ids_keep_their_digits_even_when_written_as_numbers() -> None:
    line = json.dumps(kaggle_record("X")).replace('"id": "X"', '"id": 704.0010')
    assert parse_line(line).id == "0704.0010"
    assert parse_line(json.dumps(kaggle_record("1501.00001"))).id == "1501.00001"


def test_old_style_ids_are_kept_canonical() -> None:
    paper = parse_line(json.dumps(kaggle_record("hep-th/9901001", categories="hep-th", versions=[
        {"version": "v1", "created": "Fri, 1 Jan 1999 00:00:00 GMT"}])))
    assert paper.id == "hep-th/9901001" and paper.version == 1
    assert parse_line(json.dumps(kaggle_record("math.GT/0309136", categories="math.GT"))).id == "math/0309136"


def test_authors_fall_back_to_the_plain_author_string() -> None:
    paper = parse_line(json.dumps(kaggle_record("0704.0001", authors_parsed=[])))
    assert paper.authors == ("A. Lovelace", "C. Babbage", "others")


@pytest.mark.parametrize("line", [
    "", "not json", "[]", '"a string"', json.dumps({"id": "0704.0001"}),
    json.dumps(kaggle_record("not-an-id")), json.dumps(kaggle_record("0704.0001", categories="")),
    json.dumps(kaggle_record("0704.0001", title="   ")),
    json.dumps(kaggle_record("0704.0001", versions=[{"version": "v1", "created": "yesterday"}])),
    json.dumps(kaggle_record("0704.0001", versions="v1")), "\xff\xfe",
])
def test_a_malformed_line_is_refused(line: str) -> None:
    with pytest.raises(MalformedLine):
        parse_line(line)


def test_a_file_is_loaded_with_malformed_lines_counted(tmp_path: Path) -> None:
    path = kaggle_file(tmp_path, count=10, malformed_at=4)
    store = Store(tmp_path / "db")

    result = backfill_file(store, path, batch_size=3)

    assert (result.counts.new, result.counts.skipped, result.malformed) == (10, 0, 1)
    assert store.paper_count() == 10
    assert store.search("engine 7")[0].id == "0704.0007"
    assert store.title_suggestions("analytical eng")[0].id == "0704.0010"
    store.close()


def test_running_it_again_adds_nothing(tmp_path: Path) -> None:
    path = kaggle_file(tmp_path)
    store = Store(tmp_path / "db")
    backfill_file(store, path)

    again = backfill_file(store, path)

    assert again.already_done and again.counts.new == 0
    assert store.paper_count() == 10
    store.close()


def test_a_changed_file_is_read_again_and_only_changes_count(tmp_path: Path) -> None:
    path = kaggle_file(tmp_path, malformed_at=None)
    store = Store(tmp_path / "db")
    backfill_file(store, path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["versions"].append({"version": "v3", "created": "Wed, 1 Aug 2007 10:00:00 GMT"})
    records[0]["title"] = "Analytical engines, revised"
    write_lines(path, [json.dumps(record) for record in records])
    os.utime(path, ns=(1, 1))

    result = backfill_file(store, path)

    assert (result.counts.new, result.counts.updated, result.counts.skipped) == (0, 1, 9)
    revised = store.paper("0704.0001")
    assert revised is not None and revised.version == 3 and revised.title == "Analytical engines, revised"
    store.close()


def test_an_interrupted_backfill_resumes_where_it_stopped(tmp_path: Path) -> None:
    path = kaggle_file(tmp_path, count=10, malformed_at=4)
    store = Store(tmp_path / "db")
    batches = 0

    def interrupt_after_two_batches(progress: BackfillProgress) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_file(store, path, batch_size=3, progress=interrupt_after_two_batches)
    stored_before = store.paper_count()
    assert stored_before == 6

    resumed = backfill_file(store, path, batch_size=3)

    assert resumed.resumed_from_line > 0
    assert (resumed.counts.new, resumed.counts.skipped) == (4, 0)
    assert store.paper_count() == 10
    assert resumed.malformed == 0  # the malformed line was in the part already read
    checkpoint = store.backfill_checkpoint(str(path.resolve()))
    assert checkpoint is not None and checkpoint.done and checkpoint.malformed == 1
    assert checkpoint.counts.new == 10
    store.close()


def test_a_store_reopened_after_the_interruption_resumes_too(tmp_path: Path) -> None:
    path = kaggle_file(tmp_path, count=10, malformed_at=None)
    first = Store(tmp_path / "db")

    def stop(progress: BackfillProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_file(first, path, batch_size=4, progress=stop)
    first.close()

    second = Store(tmp_path / "db")
    resumed = backfill_file(second, path, batch_size=4)
    assert resumed.counts.new == 6 and second.paper_count() == 10
    second.close()


def test_cli_backfill_prints_progress_and_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = kaggle_file(tmp_path, count=10, malformed_at=4)
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)

    assert cli(["backfill", str(path)]) == 0
    first = capsys.readouterr()
    assert "10 new" in first.out and "1 malformed" in first.out
    assert "100%" in first.err and "\r" not in first.err  # not a terminal: plain lines, no redrawn bar

    assert cli(["backfill", str(path)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    store = Store(tmp_path / "cli.db")
    assert store.paper_count() == 10
    store.close()


def test_cli_backfill_of_a_missing_file_fails_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "cli.db"))
    assert cli(["backfill", str(tmp_path / "nope.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]


def test_a_big_file_is_parsed_in_a_child_process_and_resumes_too(tmp_path: Path) -> None:
    path = kaggle_file(tmp_path, count=10, malformed_at=4)
    store = Store(tmp_path / "db")

    def stop(progress: BackfillProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_file(store, path, batch_size=3, progress=stop, process_threshold=0)  # every file is big
    assert store.paper_count() == 3

    resumed = backfill_file(store, path, batch_size=3, process_threshold=0)

    assert (resumed.counts.new, resumed.malformed) == (7, 1)
    assert store.paper_count() == 10
    store.close()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_bar_is_redrawn_in_place() -> None:
    terminal = _Terminal()
    report = ProgressReport(terminal)

    report(BackfillProgress(50, 100, 5, IngestCounts(new=5), 0))
    report(BackfillProgress(100, 100, 10, IngestCounts(new=10), 1))
    report.finish()

    shown = terminal.getvalue()
    assert shown.count("\r") == 2 and shown.endswith("\n")
    assert "[###############...............]  50.0%" in shown
    assert "100.0% 10 lines · 10 new · 0 updated · 0 unchanged · 1 malformed" in shown


class _CtrlCAtTheFirstProgressLine(io.StringIO):
    """A person's stderr: they press Ctrl-C (a real SIGINT to this process) once a progress line shows."""

    def __init__(self) -> None:
        super().__init__()
        self.pressed = False

    def flush(self) -> None:
        super().flush()
        if "backfill: " in self.getvalue() and not self.pressed:
            self.pressed = True
            signal.raise_signal(signal.SIGINT)


def test_cli_backfill_stopped_with_ctrl_c_says_how_to_resume_and_the_same_command_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = kaggle_file(tmp_path, count=10, malformed_at=None)
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)
    command = ["backfill", "--batch", "4", str(path)]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C raises KeyboardInterrupt

    stderr = _CtrlCAtTheFirstProgressLine()
    with contextlib.redirect_stderr(stderr):
        assert cli(command) == 130
    assert "Traceback" not in stderr.getvalue()
    assert stderr.getvalue().strip().splitlines()[-1] == (
        "hotpapers: backfill interrupted; run the same command again to continue where it stopped")
    store = Store(tmp_path / "cli.db")
    assert store.paper_count() == 4  # the first batch, stored before its progress line showed
    store.close()

    assert cli(command) == 0
    out = capsys.readouterr().out
    assert "(resumed at line 5)" in out and "6 new, 0 updated, 0 unchanged" in out
    store = Store(tmp_path / "cli.db")
    assert store.paper_count() == 10
    store.close()
