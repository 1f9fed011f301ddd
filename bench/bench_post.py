"""The daily post: how long a 10-paper digest is (characters, phone screens) before and after issue 12, what
its controls cost in requests for 1,000 servers, and what the chart costs to draw.

    .venv/bin/python -m bench post

The digest is the seed day's top 10 (``../shared/seeds``, with each paper's tweet as its stored post); "before"
is the renderer of commit 7825fde (read with ``git show``; skipped without git). A phone screen is modelled as
24 lines of 40 characters of embed text (a 390-point-wide phone at Discord's default font size); a markdown
link counts as its label only, since that is what a reader sees.
"""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.chart import engagement_chart
from bot.digest import Digest
from bot.models import DiscussionPost, Paper, PaperExtras, PostContext, RankedPaper, SourceSignal
from bot.render import digest_messages

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
LINE, SCREEN = 40, 24
SERVERS, RATE = 1000, 50
SEEN = datetime(2021, 7, 15, 8, 2, 56, tzinfo=UTC)


def seed_digest() -> tuple[Digest, PostContext] | None:
    files = sorted(SEEDS.glob("000_*.txt"))
    if not files:
        return None
    from tests.cogs.test_cogs_post import seed_tweets
    from tests.test_seed_golden import parse_seed

    text = files[0].read_text()
    papers, tweets = parse_seed(text)[:10], seed_tweets(text)[:10]
    ranked, extras = [], {}
    for paper, tweet in zip(papers, tweets, strict=True):
        url = f"https://x.com/{tweet.handle}/status/{tweet.status_id}"
        counts = {"retweets": paper.retweets, "likes": paper.favorites}
        ranked.append(RankedPaper(
            Paper(paper.paper_id, 1, paper.title, paper.authors, paper.abstract, paper.categories[0],
                  paper.categories), paper.rank, float(paper.retweets + paper.favorites),
            {"x": SourceSignal("x", counts, url)}))
        extras[paper.paper_id] = PaperExtras((DiscussionPost("x", url, tweet.handle, tweet.text, counts, SEEN),),
                                             as_of=SEEN)
    return Digest(date(2021, 7, 14), ("cs", "stat", "eess"), tuple(ranked), 50.0), PostContext(extras, SEEN)


def old_renderer() -> ModuleType | None:
    try:
        source = subprocess.run(["git", "show", "7825fde:bot/render.py"], cwd=ROOT, capture_output=True,
                                check=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "render_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("render_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_before"] = module
    spec.loader.exec_module(module)
    return module


def measure(messages: list[Any]) -> tuple[int, int, int]:
    """(characters Discord counts, lines on a phone, messages)."""
    counted, lines = 0, 0
    for message in messages:
        texts = [message.content or ""]
        for embed in message.embeds:
            counted += len(embed)
            author = embed.author.name if embed.author else None
            texts += [author or "", embed.title or "", embed.description or "", embed.footer.text or ""]
            lines += 2  # an embed's padding and colour bar
        counted += len(message.content or "")
        for text in texts:
            visible = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("**", "")
            lines += sum(max(1, math.ceil(len(line) / LINE)) for line in visible.splitlines()) if visible else 0
    return counted, lines, len(messages)


def main() -> None:
    built = seed_digest()
    if built is None:
        print(f"skipped: the seed post is not at {SEEDS}")
        return
    digest, context = built
    after = measure(digest_messages(digest, context=context))
    before_module = old_renderer()
    rows = [("after (this renderer)", after)]
    if before_module is not None:
        rows.insert(0, ("before (7825fde)", measure(before_module.digest_messages(digest))))
    for name, (chars, lines, messages) in rows:
        print(f"{name:24s} {chars:6,d} characters · {lines:4d} phone lines · {lines / SCREEN:4.1f} screens · "
              f"{messages} message(s)")
    messages = after[2]
    print(textwrap.dedent(f"""\
        requests for {SERVERS:,} servers' 10-paper digests: {SERVERS * messages:,} ({messages} message each;
          the menus ride in the same message) = {SERVERS * messages / RATE:.0f} s at {RATE} requests/s;
          a message per paper would be {SERVERS * 11:,} requests = {SERVERS * 11 / RATE:.0f} s.
          Clicks are interaction responses: exempt from the global limit."""))
    history = [(SEEN + timedelta(hours=h), {"x": SourceSignal("x", {"likes": 40 * h * h}),
                                            "hn": SourceSignal("hn", {"points": 30 * h}),
                                            "hf": SourceSignal("hf", {"upvotes": 5 * h})}) for h in range(48)]
    started = time.perf_counter()
    for _ in range(20):
        png = engagement_chart(history)
    elapsed = (time.perf_counter() - started) / 20
    print(f"chart: {len(png or b''):,} bytes PNG, {elapsed * 1000:.1f} ms per chart (48 snapshots, 3 sources)")


if __name__ == "__main__":
    main()
