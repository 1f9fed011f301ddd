"""Follow-up notices: what changed on a paper someone watches (saved it, or voted for it) since it was last
looked at — a new version (with its comment), code released, a journal reference or DOI — one notice per
(person, paper, event), told in the person's next DM digest, at most :data:`PER_DM` in full.

A paper's first look only records how it is (nothing that was already true is news). The look runs when a
watcher's DM is planned, over the papers that person watches, comparing with the ``followup_seen`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.models import Notice, Paper, PaperExtras
from bot.render import code_link
from bot.store import Store
from bot.store.notices import Seen

PER_DM = 5  # notices shown in full in one DM; the rest are summarised in a line


def state(paper: Paper, extras: PaperExtras) -> Seen:
    """What a watched paper looks like now."""
    code = code_link(paper, extras)
    published = paper.journal_ref or (f"DOI {paper.doi}" if paper.doi else None)
    return Seen(paper.version, code.url if code else None, published)


def changes(before: Seen, now: Seen, paper: Paper) -> list[tuple[str, str]]:
    """The (event, detail) pairs between two looks at a paper."""
    found = []
    if now.version > before.version:
        found.append((f"v{now.version}", paper.comment or ""))
    if now.code and not before.code:
        found.append(("code", now.code))
    if now.published and not before.published:
        found.append(("published", now.published))
    return found


def scan(store: Store, now: datetime, user_id: int) -> int:
    """Look at the papers the user watches; add the notices of what changed since the last look at each (for
    everyone watching it, so a paper is looked at for whoever's DM comes first); returns how many."""
    ids = store.watched_papers(user_id)
    if not ids:
        return 0
    seen = store.followup_seen(ids)
    context = store.post_context(ids, now)
    current: dict[str, Seen] = {}
    changed: dict[str, list[tuple[str, str]]] = {}
    for paper_id in ids:
        paper = store.paper(paper_id)
        if paper is None:
            continue
        look = state(paper, context.of(paper_id))
        before = seen.get(paper_id)
        if before == look:
            continue
        current[paper_id] = look
        if before is not None:
            changed[paper_id] = changes(before, look, paper)
    watchers = store.watchers(list(changed)) if changed else {}
    notices = [Notice(user, paper_id, event, detail, now) for paper_id, events in changed.items()
               for event, detail in events for user in sorted(watchers.get(paper_id, ()))]
    return store.record_followups(current, notices)


def pending(store: Store, user_id: int) -> list[tuple[Notice, Paper]]:
    """The user's untold notices with their papers, oldest first."""
    found = []
    for notice in store.pending_notices(user_id):
        paper = store.paper(notice.paper_id)
        if paper is not None:
            found.append((notice, paper))
    return found


def for_dm(store: Store, now: datetime, user_id: int) -> list[tuple[Notice, Paper]]:
    """:func:`scan` the user's papers, then their untold notices (one trip to the store for a DM)."""
    scan(store, now, user_id)
    return pending(store, user_id)


def keys(notices: Sequence[tuple[Notice, Paper]]) -> list[tuple[str, str]]:
    return [(notice.paper_id, notice.event) for notice, _ in notices]
