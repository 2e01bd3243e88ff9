"""The error tree: at the bottom of the layers, re-exported by newswatch, kinds stable."""

from __future__ import annotations

import pytest

import extractors.errors as bottom
import newswatch.errors as top
from extractors.errors import (
    FEED_PARSE_ERRORS,
    FETCH_ERRORS,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    NewswatchError,
    PermanentFetchError,
    TransientFetchError,
    http_status_error,
)


def test_newswatch_errors_re_exports_every_name() -> None:
    assert top.__all__ == bottom.__all__
    assert [n for n in bottom.__all__ if getattr(top, n) is not getattr(bottom, n)] == []


def test_kinds_are_the_strings_stored_today() -> None:
    # The strings fetching/fetch.py, fetching/bodies.py and the feed parsers store in
    # fetches.error_kind / feed_state.last_error_kind before the fetcher raised these.
    assert set(FETCH_ERRORS) == {
        "timeout", "connection", "truncated", "http_status", "dns", "refused_address", "tls",
        "bad_url", "too_many_redirects", "too_large", "bad_encoding", "robots_disallowed",
        "ca_bundle",  # issue 18: a source's ca_bundle that cannot be read
    }  # fmt: skip
    assert set(FEED_PARSE_ERRORS) == {
        "not_a_feed",
        "parser_error",
        "malformed",
        "telegram_not_public",
    }
    for cls in (*FETCH_ERRORS.values(), *FEED_PARSE_ERRORS.values()):
        assert issubclass(cls, FetchError) and cls.__doc__


@pytest.mark.parametrize(
    ("status", "transient"), [(404, False), (410, False), (403, False), (429, True), (503, True)]
)
def test_http_status_error_is_transient_for_429_and_5xx(status: int, transient: bool) -> None:
    error = http_status_error("https://example.org/a", status, "Reason", retry_after_s=30.0)
    assert (error.kind, error.status, error.retry_after_s) == ("http_status", status, 30.0)
    assert error.transient is transient
    assert isinstance(error, TransientFetchError if transient else PermanentFetchError)
    assert str(error) == f"https://example.org/a: HTTP {status} Reason"


def test_errors_carry_their_facts() -> None:
    error = BodyTooLarge("https://example.org/big", 1000, declared=5000)
    assert (error.url, error.limit, error.declared, error.kind) == (
        "https://example.org/big", 1000, 5000, "too_large",
    )  # fmt: skip
    assert error.detail == "Content-Length 5000 is over the 1000-byte body cap"
    timeout = FetchTimeout("https://example.org/slow", 7.5)
    assert timeout.transient and timeout.detail == "no complete answer in 7.5 s"
    assert isinstance(timeout, NewswatchError)
