"""The error tree of newswatch.

Every error we raise on purpose is a `NewswatchError`; the CLI turns one into a single line on
stderr and exit code 1. Errors carry their facts as attributes and build the message from them.
`kind` is the short, stable string stored in the warehouse (`fetches.error_kind`,
`feed_state.last_error_kind`) so analysts can group failures with SQL.

This module imports nothing of ours, so every package (extractors included) may raise from it.

The fetch failures (one class per stored `error_kind`, under Transient/PermanentFetchError)
are copied verbatim from helper A's `extractors/errors.py` (issue 15), which this module will
re-export once both branches are merged: keep A's version then.
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
    """An HTTP fetch did not produce a usable body. `detail` is the message without the URL
    (what `fetches.error_message` stores); `status` is the HTTP status when there was one."""

    kind = "fetch"

    def __init__(self, url: str, detail: str, *, status: int | None = None) -> None:
        self.url = url
        self.detail = detail
        self.status = status
        super().__init__(f"{url}: {detail}")


class TransientFetchError(FetchError):
    """A fetch failed in a way that may pass: timeout, connection error, 429, 5xx."""

    kind = "transient"
    transient = True


class PermanentFetchError(FetchError):
    """A fetch failed in a way that will not pass by itself: 404, 410, refused address, bad TLS."""

    kind = "permanent"


# Transient fetch failures.


class FetchTimeout(TransientFetchError):
    """No complete answer within the time allowed (`seconds`, when known)."""

    kind = "timeout"

    def __init__(self, url: str, seconds: float | None = None) -> None:
        self.seconds = seconds
        detail = f"no complete answer in {seconds:g} s" if seconds is not None else "timed out"
        super().__init__(url, detail)


class ConnectionFailed(TransientFetchError):
    """The connection could not be opened, or broke before the answer was complete."""

    kind = "connection"


class BodyTruncated(TransientFetchError):
    """The body ended before its declared end (Content-Length, chunking, gzip trailer)."""

    kind = "truncated"

    def __init__(self, url: str, received: int, reason: str) -> None:
        self.received = received
        self.reason = reason
        super().__init__(url, f"body cut off after {received} bytes: {reason}")


class HttpStatusError(FetchError):
    """The server answered with an error status (4xx, 5xx). `retry_after_s` is the server's
    Retry-After, when it sent one."""

    kind = "http_status"

    def __init__(
        self, url: str, status: int, reason: str = "", *, retry_after_s: float | None = None
    ) -> None:
        self.reason = reason
        self.retry_after_s = retry_after_s
        super().__init__(url, f"HTTP {status} {reason}".strip(), status=status)


class TransientHttpStatus(HttpStatusError, TransientFetchError):
    """408, 425, 429 or a 5xx: the server may answer next time."""


# Permanent fetch failures.


class PermanentHttpStatus(HttpStatusError, PermanentFetchError):
    """Any other 4xx (404, 410, 401, 403, ...): asking again will not help."""


class DnsFailure(PermanentFetchError):
    """The URL's host name does not resolve."""

    kind = "dns"


class RefusedAddress(PermanentFetchError):
    """The host resolves to an address we may not contact (private, loopback, link-local)."""

    kind = "refused_address"


class TlsError(PermanentFetchError):
    """The TLS handshake failed (bad certificate, no common protocol)."""

    kind = "tls"


class BadUrl(PermanentFetchError):
    """The URL is not an http(s) URL with a host."""

    kind = "bad_url"


class TooManyRedirects(PermanentFetchError):
    """More redirects than allowed (`limit`)."""

    kind = "too_many_redirects"

    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(url, f"more than {limit} redirects")


class BodyTooLarge(PermanentFetchError):
    """The body (on the wire, or unpacked) is over the cap (`limit` bytes)."""

    kind = "too_large"

    def __init__(self, url: str, limit: int, *, declared: int | None = None) -> None:
        self.limit = limit
        self.declared = declared
        detail = (
            f"Content-Length {declared} is over the {limit}-byte body cap"
            if declared is not None
            else f"body larger than the {limit}-byte cap"
        )
        super().__init__(url, detail)


class BadContentEncoding(PermanentFetchError):
    """The body's Content-Encoding is unsupported or its bytes do not decode."""

    kind = "bad_encoding"


class RobotsDisallowed(PermanentFetchError):
    """The site's robots.txt disallows the URL for newswatch."""

    kind = "robots_disallowed"

    def __init__(self, url: str) -> None:
        super().__init__(url, "the site's robots.txt disallows this URL for newswatch")


# A body that arrived but is not a feed we can use.


class FeedParseError(FetchError):
    """A feed body held no entries we could recover (not a feed, or broken beyond repair)."""

    kind = "not_a_feed"


class NotAFeed(FeedParseError):
    """The body is something else (an HTML page, empty, another XML document)."""

    kind = "not_a_feed"


class FeedParserCrashed(FeedParseError):
    """The feed parser itself failed on the body."""

    kind = "parser_error"


class MalformedFeed(FeedParseError):
    """The feed is broken; stored as a partial poll when some entries were recovered."""

    kind = "malformed"


class TelegramNotPublic(FeedParseError):
    """The Telegram channel has no public preview page (`t.me/s/<name>`)."""

    kind = "telegram_not_public"


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


def _kinds(*classes: type[FetchError]) -> dict[str, type[FetchError]]:
    return {cls.kind: cls for cls in classes}


# Every fetch failure kind stored today, to its class (http_status: see `http_status_error`).
FETCH_ERRORS: dict[str, type[FetchError]] = _kinds(
    FetchTimeout,
    ConnectionFailed,
    BodyTruncated,
    HttpStatusError,
    DnsFailure,
    RefusedAddress,
    TlsError,
    BadUrl,
    TooManyRedirects,
    BodyTooLarge,
    BadContentEncoding,
    RobotsDisallowed,
)
FEED_PARSE_ERRORS: dict[str, type[FetchError]] = _kinds(
    NotAFeed, FeedParserCrashed, MalformedFeed, TelegramNotPublic
)

_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def http_status_error(
    url: str, status: int, reason: str = "", *, retry_after_s: float | None = None
) -> HttpStatusError:
    """The error for an error status: transient for 408, 425, 429 and 5xx, else permanent."""
    transient = status in _TRANSIENT_STATUSES or status >= 500
    cls = TransientHttpStatus if transient else PermanentHttpStatus
    return cls(url, status, reason, retry_after_s=retry_after_s)
