"""The error tree of newswatch, at the bottom of the layers.

Every error we raise on purpose is a `NewswatchError`; the CLI turns one into a single line on
stderr and exit code 1. Errors carry their facts as attributes (`url`, `status`, `path`,
`line`, ...) and build the message from them. `kind` is the short, stable string stored in the
warehouse (`fetches.error_kind`, `feed_state.last_error_kind`) so analysts can group failures
with SQL: a fetch failure's class names its kind 1:1 (`FETCH_ERRORS`), and the poll scheduler
weighs failures by it (`pipeline/schedule.py`). `transient` says whether trying again later may
help, so retry logic asks "can this be retried?", not "which class is it?".

It lives in `extractors/`, the lowest package, and imports nothing of ours: extractors,
warehouse, flows and the CLI all raise from it. `newswatch.errors` re-exports every name.
"""

from __future__ import annotations

__all__ = [
    "FEED_PARSE_ERRORS",
    "FETCH_ERRORS",
    "BadContentEncoding",
    "BadUrl",
    "BodyTooLarge",
    "BodyTruncated",
    "CaBundleError",
    "ConfigError",
    "ConnectionFailed",
    "DatabaseInUse",
    "DnsFailure",
    "ExtractionError",
    "FeedParseError",
    "FeedParserCrashed",
    "FetchError",
    "FetchTimeout",
    "HttpStatusError",
    "MalformedFeed",
    "NewswatchError",
    "NotAFeed",
    "PermanentFetchError",
    "PermanentHttpStatus",
    "RefusedAddress",
    "RobotsDisallowed",
    "TelegramNotPublic",
    "TlsError",
    "TooManyRedirects",
    "TransientFetchError",
    "TransientHttpStatus",
    "WarehouseError",
    "http_status_error",
]


class NewswatchError(Exception):
    """Root of every error newswatch raises on purpose. A subclass names its `kind` in its
    class statement (`class DnsFailure(PermanentFetchError, kind="dns")`)."""

    kind = "error"
    transient = False

    def __init_subclass__(cls, *, kind: str | None = None, **rest: object) -> None:
        super().__init_subclass__(**rest)
        if kind is not None:
            cls.kind = kind


class ConfigError(NewswatchError, kind="config"):
    """A config file or setting is missing or wrong; the message names the file, entry and fix."""

    def __init__(self, path: str, problem: str, *, line: int | None = None, fix: str = "") -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.fix = fix
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}" + (f" ({fix})" if fix else ""))


class FetchError(NewswatchError, kind="fetch"):
    """An HTTP fetch did not produce a usable body. `detail` is the message without the URL
    (what `fetches.error_message` stores); `status` is the HTTP status when there was one."""

    def __init__(self, url: str, detail: str, *, status: int | None = None) -> None:
        self.url = url
        self.detail = detail
        self.status = status
        super().__init__(f"{url}: {detail}")


class TransientFetchError(FetchError, kind="transient"):
    """A fetch failed in a way that may pass: timeout, connection error, 429, 5xx."""

    transient = True


class PermanentFetchError(FetchError, kind="permanent"):
    """A fetch failed in a way that will not pass by itself: 404, 410, refused address, bad TLS."""


# Transient fetch failures.


class FetchTimeout(TransientFetchError, kind="timeout"):
    """No complete answer within the time allowed (`seconds`, when known)."""

    def __init__(self, url: str, seconds: float | None = None) -> None:
        self.seconds = seconds
        detail = f"no complete answer in {seconds:g} s" if seconds is not None else "timed out"
        super().__init__(url, detail)


class ConnectionFailed(TransientFetchError, kind="connection"):
    """The connection could not be opened, or broke before the answer was complete."""


class BodyTruncated(TransientFetchError, kind="truncated"):
    """The body ended before its declared end (Content-Length, chunking, gzip trailer)."""

    def __init__(self, url: str, received: int, reason: str) -> None:
        self.received = received
        self.reason = reason
        super().__init__(url, f"body cut off after {received} bytes: {reason}")


class HttpStatusError(FetchError, kind="http_status"):
    """The server answered with an error status (4xx, 5xx). `retry_after_s` is the server's
    Retry-After, when it sent one."""

    def __init__(
        self, url: str, status: int, reason: str = "", *, retry_after_s: float | None = None
    ) -> None:
        self.reason = reason
        self.retry_after_s = retry_after_s
        super().__init__(url, f"HTTP {status} {reason}".strip(), status=status)


class TransientHttpStatus(HttpStatusError, TransientFetchError, kind="http_status"):
    """408, 425, 429 or a 5xx: the server may answer next time."""


class PermanentHttpStatus(HttpStatusError, PermanentFetchError, kind="http_status"):
    """Any other 4xx (404, 410, 401, 403, ...): asking again will not help."""


# Permanent fetch failures.


class DnsFailure(PermanentFetchError, kind="dns"):
    """The URL's host name does not resolve."""


class RefusedAddress(PermanentFetchError, kind="refused_address"):
    """The host resolves to an address we may not contact (private, loopback, link-local)."""


class TooManyRedirects(PermanentFetchError, kind="too_many_redirects"):
    """More redirects than allowed (`limit`)."""

    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(url, f"more than {limit} redirects")


class TlsError(PermanentFetchError, kind="tls"):
    """The TLS handshake failed (bad certificate, no common protocol)."""


class BadUrl(PermanentFetchError, kind="bad_url"):
    """The URL is not an http(s) URL with a host."""


class CaBundleError(PermanentFetchError, kind="ca_bundle"):
    """The source's `ca_bundle` (feeds.yaml) cannot be read as PEM certificates."""


class BodyTooLarge(PermanentFetchError, kind="too_large"):
    """The body (on the wire, or unpacked) is over the cap (`limit` bytes)."""

    def __init__(self, url: str, limit: int, *, declared: int | None = None) -> None:
        self.limit = limit
        self.declared = declared
        detail = (
            f"Content-Length {declared} is over the {limit}-byte body cap"
            if declared is not None
            else f"body larger than the {limit}-byte cap"
        )
        super().__init__(url, detail)


class BadContentEncoding(PermanentFetchError, kind="bad_encoding"):
    """The body's Content-Encoding is unsupported or its bytes do not decode."""


class RobotsDisallowed(PermanentFetchError, kind="robots_disallowed"):
    """The site's robots.txt disallows the URL for newswatch."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "the site's robots.txt disallows this URL for newswatch")


# A body that arrived but is not a feed we can use.


class FeedParseError(FetchError, kind="not_a_feed"):
    """A feed body held no entries we could recover (not a feed, or broken beyond repair)."""


class NotAFeed(FeedParseError, kind="not_a_feed"):
    """The body is something else (an HTML page, empty, another XML document)."""


class FeedParserCrashed(FeedParseError, kind="parser_error"):
    """The feed parser itself failed on the body."""


class MalformedFeed(FeedParseError, kind="malformed"):
    """The feed is broken; `recovered` entries could be read all the same (a partial poll
    when there are some)."""

    def __init__(self, url: str, detail: str, *, recovered: int = 0) -> None:
        self.recovered = recovered
        super().__init__(url, detail)


class TelegramNotPublic(FeedParseError, kind="telegram_not_public"):
    """The Telegram channel has no public preview page (`t.me/s/<name>`)."""


class ExtractionError(NewswatchError, kind="extraction"):
    """A page yielded no article text."""


class WarehouseError(NewswatchError, kind="warehouse"):
    """The DuckDB warehouse could not be opened or written (lock held, bad migration)."""


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
    CaBundleError,
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
