"""Expected failures: each carries a one-line message a user can act on."""


class HotPapersError(Exception):
    """Base of every expected failure; the command line prints its message without a traceback."""


class InvalidPaperId(HotPapersError, ValueError):
    """Text that is not an arXiv id or URL; the message shows accepted forms."""


class UnknownCategory(HotPapersError, ValueError):
    """A category code or name not in the arXiv taxonomy."""


class UpstreamError(HotPapersError):
    """An outside service failed after retries, or answered with an error."""


class NotFound(HotPapersError):
    """The thing asked for does not exist (for example a well-formed arXiv id with no paper)."""


class DatabaseUnusable(HotPapersError):
    """The database cannot be opened or is not a Hot Papers database; the message names the SQLite path, or the
    PostgreSQL URL without its password."""


class StoreBusy(HotPapersError):
    """Another process held the database's write lock for longer than this caller may wait."""
