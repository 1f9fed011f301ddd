"""Store part: what the posts about a paper said (SQL for this domain lives here).

Engagement snapshots (``bot/store/signals.py``) keep counts over time; this keeps, per (paper, source, post),
the post's latest observation with its words: author handle, first line, its own counts, link, and any code
repository the source linked the paper to. So a digest can show who is talking even when the source is down.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.models import CodeLink, DiscussionPost, PaperExtras, PostContext
from bot.store.base import Database, Migration, json_values
from bot.store.signals import _moment, _stamp

if TYPE_CHECKING:
    from bot.sources.observations import Observation

POSTS_PER_PAPER = 25  # the most engaged posts kept for reading; counts keep every post (signal_snapshots)


def _create_posts(db: Database) -> None:
    db.execute("""
        CREATE TABLE observed_posts (
            paper_id TEXT NOT NULL,
            source TEXT NOT NULL,
            post_id TEXT NOT NULL,
            url TEXT NOT NULL,
            author TEXT,
            text TEXT,                  -- the first line, as written
            counts TEXT NOT NULL,       -- JSON object metric -> count, of this post alone
            engagement INTEGER NOT NULL,
            repo TEXT,
            stars INTEGER,
            observed_at TEXT NOT NULL,  -- UTC, fixed-width ISO 8601
            PRIMARY KEY (paper_id, source, post_id)
        ) WITHOUT ROWID""")


class PostsStore:
    db: Database
    POSTS_MIGRATIONS: Sequence[Migration] = (_create_posts,)

    def record_posts(self, observations: Iterable[Observation], paper_ids: Iterable[str] | None = None) -> int:
        """Keep each observed post's latest words and counts, once per linked paper (only ``paper_ids`` if
        given); an older observation never overwrites a newer one. Returns the rows offered."""
        wanted = set(paper_ids) if paper_ids is not None else None
        rows = [(paper_id, o.source, o.post_id, o.url, o.author, o.text,
                 json.dumps(dict(o.counts), separators=(",", ":")), sum(o.counts.values()), o.repo, o.stars,
                 _stamp(o.observed_at))
                for o in observations for paper_id in o.paper_ids if wanted is None or paper_id in wanted]
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO observed_posts (paper_id, source, post_id, url, author, text, counts, engagement,"
                " repo, stars, observed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (paper_id, source, post_id) DO UPDATE SET url = excluded.url,"
                " author = excluded.author, text = excluded.text, counts = excluded.counts,"
                " engagement = excluded.engagement, repo = excluded.repo, stars = excluded.stars,"
                " observed_at = excluded.observed_at WHERE excluded.observed_at >= observed_posts.observed_at",
                rows)
        return len(rows)

    def post_context(self, paper_ids: Sequence[str], as_of: datetime, *, per_paper: int = POSTS_PER_PAPER
                     ) -> PostContext:
        """For each paper: its most engaged posts with words (best first, at most ``per_paper``), its code
        repository, and when its counts were last observed; and the newest of those moments."""
        ids = json.dumps(list(paper_ids))
        stamp = _stamp(as_of)
        in_ids = json_values(self.db)
        # One query, three parts (one round trip to a database server instead of three): 1 the best posts with
        # words, 2 the posts linking code (oldest first: the newest wins), 3 when the counts were last observed.
        rows = self.db.execute(
            "SELECT 1 AS part, paper_id, source, url, author, text, counts, repo, stars, observed_at, n FROM ("  # noqa: S608
            " SELECT *, ROW_NUMBER() OVER (PARTITION BY paper_id ORDER BY engagement DESC, source, post_id)"
            f" AS n FROM observed_posts WHERE paper_id IN {in_ids}"
            " AND observed_at <= ? AND (author IS NOT NULL OR text IS NOT NULL)) AS ranked WHERE n <= ?"
            " UNION ALL SELECT 2, paper_id, NULL, NULL, NULL, NULL, NULL, repo, stars, observed_at, 0"
            f" FROM observed_posts WHERE repo IS NOT NULL AND paper_id IN {in_ids} AND observed_at <= ?"
            " UNION ALL SELECT 3, paper_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, MAX(observed_at), 0"
            f" FROM signal_snapshots WHERE paper_id IN {in_ids} AND observed_at <= ? GROUP BY paper_id"
            " ORDER BY part, paper_id, n, observed_at", [ids, stamp, per_paper, ids, stamp, ids, stamp]).fetchall()
        posts: dict[str, list[DiscussionPost]] = defaultdict(list)
        code: dict[str, CodeLink] = {}
        seen: dict[str, str] = {}
        for part, paper_id, source, url, author, text, counts, repo, stars, observed, _ in rows:
            if part == 1:
                posts[paper_id].append(DiscussionPost(source, url, author, text, json.loads(counts),
                                                      _moment(observed)))
            elif part == 2:
                code[paper_id] = CodeLink(repo, stars)  # the newest wins
            else:
                seen[paper_id] = observed
        extras = {paper_id: PaperExtras(tuple(posts.get(paper_id, ())), code.get(paper_id),
                                        _moment(seen[paper_id]) if paper_id in seen else None)
                  for paper_id in set(posts) | set(code) | set(seen)}
        newest = max((e.as_of for e in extras.values() if e.as_of), default=None)
        return PostContext(extras, newest)
