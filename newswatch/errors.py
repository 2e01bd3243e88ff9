"""The error tree of newswatch.

Every error we raise on purpose is a `NewswatchError`; the CLI turns one into a single line on
stderr and exit code 1. Errors carry their facts as attributes and build the message from them.
`kind` is the short, stable string stored in the warehouse (`fetches.error_kind`,
`feed_state.last_error_kind`) so analysts can group failures with SQL.

This module imports nothing of ours, so every package (extractors included) may raise from it.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Root of every error newswatch raises on purpose."""

    kind = "error"
    transient = False


class ConfigError(NewswatchError):
    """A config file or setting is missing or wrong; the message names the file, entry and fix."""

    kind = "config"

    def __init__(self, path: str, problem: str, *, line: int | None = None, fix: str = "") -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.fix = fix
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}" + (f" ({fix})" if fix else ""))


class FetchError(NewswatchError):
    """An HTTP fetch did not produce a usable body."""

    kind = "fetch"

    def __init__(self, url: str, message: str, *, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(f"{url}: {message}")


class TransientFetchError(FetchError):
    """A fetch failed in a way that may pass: timeout, connection error, 429, 5xx."""

    kind = "transient"
    transient = True


class PermanentFetchError(FetchError):
    """A fetch failed in a way that will not pass by itself: 404, 410, refused address, bad TLS."""

    kind = "permanent"


class FeedParseError(NewswatchError):
    """A feed body held no entries we could recover (not a feed, or broken beyond repair)."""

    kind = "not_a_feed"


class ExtractionError(NewswatchError):
    """A page yielded no article text."""

    kind = "extraction"


class WarehouseError(NewswatchError):
    """The DuckDB warehouse could not be opened or written (lock held, bad migration)."""

    kind = "warehouse"


class DatabaseInUse(WarehouseError):
    """Another process holds the DuckDB file (DuckDB allows one writer, and no reader beside
    a writer in another process); it passes when that process ends."""

    transient = True
