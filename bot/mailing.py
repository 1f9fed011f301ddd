"""What a mailing is in time: named by its US Eastern date, announced at 20:00 ET the evening before.

The one place that knows arXiv's announcement hour and how a mailing's date is written; pure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ANNOUNCEMENT_TIME = time(20, 0)


def announced_at(mailing: date) -> datetime:
    """When ``mailing`` went out: 20:00 US Eastern the evening before its date, in UTC."""
    return datetime.combine(mailing - timedelta(days=1), ANNOUNCEMENT_TIME, tzinfo=EASTERN).astimezone(UTC)


def parse_mailing_date(text: str) -> date | None:
    """A mailing date written ``YYYY-MM-DD`` (surrounding spaces ignored); None for anything else."""
    text = text.strip()
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
