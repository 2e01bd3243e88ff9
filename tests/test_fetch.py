"""The fetcher against a real loopback server: bodies, failures as data, the address guard."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx

from extractors.records import FetchResult
from fetching import guard
from fetching.fetch import Fetcher, FetchOptions, Request, fetch_many, translate
from newswatch.errors import (
    BadUrl,
    ConnectionFailed,
    DnsFailure,
    FetchTimeout,
    PermanentFetchError,
    RefusedAddress,
    TlsError,
    TransientFetchError,
    http_status_error,
)
from newswatch.options import fetch_options
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer


def _fetch(settings: Settings, url: str, timeout: float = 2.0):
    return fetch_many(fetch_options(settings, timeout), [Request(url)])[0]


def test_fetches_a_feed_with_headers(settings: Settings, server: SnapshotServer) -> None:
    result = _fetch(settings, f"{server.base}/feeds/demo-wire.xml")
    assert result.ok, result.error_message
    assert result.status == 200
    assert b"<rss" in result.body
    assert result.content_type.startswith("application/rss+xml")
    assert result.elapsed_ms > 0


def test_http_errors_are_data(settings: Settings, server: SnapshotServer) -> None:
    missing = _fetch(settings, f"{server.base}/no/such/page.html")
    assert (missing.status, missing.error_kind) == (404, "http_status")
    broken = _fetch(settings, f"{server.base}/faults/500.xml")
    assert (broken.status, broken.error_kind) == (500, "http_status")
    assert broken.body == b""


def test_slow_page_times_out(settings: Settings, server: SnapshotServer) -> None:
    result = _fetch(settings, f"{server.base}/faults/hang.html", timeout=0.5)
    assert result.error_kind == "timeout"
    assert "0.5" in (result.error_message or "")


def test_redirect_loop_is_cut(settings: Settings, server: SnapshotServer) -> None:
    result = _fetch(settings, f"{server.base}/faults/redirect-loop")
    assert result.error_kind == "too_many_redirects"


def test_body_cap(settings: Settings, server: SnapshotServer) -> None:
    capped = settings.model_copy(update={"max_body_bytes": 100_000})
    result = _fetch(capped, f"{server.base}/faults/big.xml")
    assert result.error_kind == "too_large"


def test_loopback_refused_unless_allowed(settings: Settings, server: SnapshotServer) -> None:
    strict = settings.model_copy(update={"allowed_hosts": ""})
    hits_before = len(server.hits)  # type: ignore[attr-defined]
    result = _fetch(strict, f"{server.base}/faults/500.xml")
    assert result.error_kind == "refused_address"
    assert "NEWSWATCH_ALLOWED_HOSTS" in (result.error_message or "")
    assert len(server.hits) == hits_before  # type: ignore[attr-defined]  # never contacted


def test_other_port_on_allowed_host_is_refused(settings: Settings, server: SnapshotServer) -> None:
    result = _fetch(settings, "http://127.0.0.1:9/feed.xml")
    assert result.error_kind == "refused_address"


def test_private_and_odd_schemes_refused(settings: Settings) -> None:
    for url in ("http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]:80/"):
        assert _fetch(settings, url).error_kind == "refused_address", url
    assert _fetch(settings, "file:///etc/passwd").error_kind == "bad_url"


def test_failures_are_the_error_tree() -> None:
    """httpx's and the guard's exceptions become ours, with the URL and whether trying again
    may help; the stored kind is the class's."""
    cases = [
        (httpx.ConnectTimeout("slow"), FetchTimeout, True),
        (httpx.ConnectError("connection refused"), ConnectionFailed, True),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate"), TlsError, False),
        (guard.DnsError("cannot resolve a.test"), DnsFailure, False),
        (guard.AddressRefused("a.test is a private address"), RefusedAddress, False),
        (httpx.InvalidURL("bad"), BadUrl, False),
    ]
    for raised, cls, transient in cases:
        error = translate("https://a.test/x", raised)
        assert type(error) is cls, raised
        assert isinstance(error, TransientFetchError if transient else PermanentFetchError)
        assert (error.url, error.transient) == ("https://a.test/x", transient)


def test_status_errors_are_transient_or_permanent(
    settings: Settings, server: SnapshotServer
) -> None:
    missing = _fetch(settings, f"{server.base}/no/such/page.html")
    broken = _fetch(settings, f"{server.base}/faults/500.xml")
    assert (missing.error_kind, missing.error_message) == ("http_status", "HTTP 404 Not Found")
    assert not http_status_error(missing.url, 404).transient
    assert http_status_error(broken.url, 500).transient


class _ToLoopback(httpx.AsyncHTTPTransport):
    """Sends every request, whatever its host, to the loopback server in `port`."""

    port = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await super().handle_async_request(request)


def test_an_injected_transport_carries_every_request(server: SnapshotServer) -> None:
    """FetchOptions.transport replaces the guarded per-host pools: a feed of a public-looking
    host is answered by the loopback server, with no allow-list and no DNS."""
    _ToLoopback.port = int(server.host_port.rsplit(":", 1)[1])
    options = FetchOptions(user_agent="newswatch-test", timeout=2, transport=_ToLoopback)
    result = fetch_many(options, [Request("https://wire.example.org/feeds/demo-wire.xml")])[0]
    assert result.ok, result.error_message
    assert b"<rss" in result.body
    assert result.url == "https://wire.example.org/feeds/demo-wire.xml"


def test_a_kept_alive_connection_the_server_closed_is_not_reused() -> None:
    """A server may close a kept-alive connection once it has answered: the fetcher's pool
    notices the idle connection is gone, and the next request opens a new one instead of
    failing on the dead one ("server disconnected without sending a response")."""
    served: list[int] = []
    closed = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for n in (1, 2):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)  # one request, small enough for one read here
                body = f"answer {n}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                served.append(n)
            closed.set()  # closed after answering, keep-alive or not

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    options = FetchOptions(
        user_agent="newswatch-test", timeout=5, allowed_hosts=(f"127.0.0.1:{port}",)
    )

    async def twice() -> list[FetchResult]:
        async with Fetcher(options) as fetcher:
            first = await fetcher.fetch(Request(f"http://127.0.0.1:{port}/a"))
            assert await asyncio.to_thread(closed.wait, 5), "the server did not close"
            second = await fetcher.fetch(Request(f"http://127.0.0.1:{port}/b"))
            return [first, second]

    try:
        results = asyncio.run(twice())
    finally:
        listener.close()
    assert [r.body for r in results] == [b"answer 1", b"answer 2"], results
    assert served == [1, 2]
