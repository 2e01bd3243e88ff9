"""The HTTP fetcher: the one place that builds the httpx client and talks to the network.

Feeds and pages are untrusted: every connection (so every redirect hop) goes to an address
checked first, and loopback, private, link-local, multicast and reserved ones are refused
unless the host is listed in `allowed_hosts` (the demo and tests list their own loopback
server; see `fetching.guard`). Bodies are capped on the wire and unpacked, a cut-off body is
an error (`fetching.bodies`), and requests are capped in total time and redirects.

Failures are the error tree's (`newswatch.errors`): httpx's and the guard's exceptions are
translated here, at the boundary, into `TransientFetchError` (timeouts, connection errors,
cut-off bodies, 429 and 5xx) and `PermanentFetchError` (DNS, refused address, TLS, bad URL,
404, 410, caps, redirects) subclasses carrying their facts, `raise ... from exc`. A failure
of one URL never stops the batch: `Fetcher.fetch` turns the error that ended it into data,
a `FetchResult` whose `error_kind` is the error's `kind` (the strings stored in `fetches`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from extractors.errors import (
    BadUrl,
    CaBundleError,
    ConnectionFailed,
    DnsFailure,
    FetchError,
    FetchTimeout,
    RefusedAddress,
    RobotsDisallowed,
    TlsError,
    TooManyRedirects,
    http_status_error,
)
from extractors.records import FetchResult
from fetching.bodies import BodyLimits, read_body
from fetching.guard import AddressRefused, DnsError, GuardedBackend

REDIRECTS = (301, 302, 303, 307, 308)
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Request:
    """One URL to fetch, with the validators of the last good fetch (for conditional GET),
    and what its source needs (feeds.yaml): its own User-Agent instead of the fetcher's, and
    a PEM file of CA certificates trusted besides the system's (for every redirect hop)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    user_agent: str | None = None
    ca_bundle: str | None = None


TransportFactory = Callable[[], httpx.AsyncBaseTransport]


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """What a fetcher may do: who it says it is, where it may go, how long and how much.

    `timeout` is the whole request's (every redirect hop and the body included); the body
    caps are on the wire and after gzip/deflate; `per_host_delay` is the least time between
    the starts of two requests to one host. `transport`, when set, makes each host's
    connection pool (tests hand in one aimed at their loopback server); by default each host
    gets a pool whose every connection goes through the address guard, refusing private and
    loopback addresses unless the host is in `allowed_hosts`."""

    user_agent: str
    timeout: float = 20.0
    allowed_hosts: tuple[str, ...] = ()
    max_body_bytes: int = 10 * 1024 * 1024
    max_unpacked_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 10
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    transport: TransportFactory | None = None


class Fetcher:
    """Fetches many URLs concurrently within global and per-host limits.

    Each host gets its own small httpx transport (sharing one TLS context): httpcore scans its
    whole connection pool on every request, so one pool with connections to many hosts gets
    slower the more hosts a poll touches. Requests go to the transport directly, not through
    `httpx.AsyncClient`: we follow redirects ourselves (checking every hop) and keep no
    cookies, and the client's layers for those cost more per conditional GET (~0.3 ms) than
    the request itself. Use as `async with Fetcher(...) as fetcher`."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self.timeout = options.timeout
        self._tls: dict[str, ssl.SSLContext] = {}  # by CA bundle; the system's: system_tls()
        # One pool per host and trust store (a source's `ca_bundle` gets its own).
        self._transports: dict[tuple[str, str | None], httpx.AsyncBaseTransport] = {}
        self._headers = {"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._timeouts = httpx.Timeout(options.timeout).as_dict()
        self._limits = BodyLimits(options.max_body_bytes, options.max_unpacked_bytes)
        self._global = asyncio.Semaphore(options.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(options.per_host_concurrency)
        )
        self._next_start: dict[str, float] = {}
        self._robots = RobotsCache(self)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for transport in self._transports.values():
            await transport.aclose()
        self._transports.clear()

    def _transport(self, host: str, ca_bundle: str | None) -> httpx.AsyncBaseTransport:
        key = (host, ca_bundle)
        if key not in self._transports:
            made = self.options.transport
            tls = self._tls_for(ca_bundle)
            self._transports[key] = made() if made else build_transport(self.options, tls)
        return self._transports[key]

    def _tls_for(self, ca_bundle: str | None) -> ssl.SSLContext:
        """The system's trust store, plus the certificates of `ca_bundle` when given."""
        if ca_bundle is None:
            return system_tls()
        if ca_bundle not in self._tls:
            self._tls[ca_bundle] = tls_with_bundle(ca_bundle)
        return self._tls[ca_bundle]

    async def fetch_all(
        self, requests: Sequence[Request], *, robots: bool = False
    ) -> list[FetchResult]:
        """Fetch all `requests`; with `robots`, each host's robots.txt is asked first."""
        fetches = (self.fetch(r, robots=robots) for r in requests)
        return list(await asyncio.gather(*fetches))

    async def fetch(self, request: Request, *, robots: bool = False) -> FetchResult:
        """One request, with redirects, within `self.timeout` seconds in all. Whatever
        happens comes back as a `FetchResult`: the `FetchError` that ended a failed request
        becomes its `error_kind` and `error_message`."""
        started = time.perf_counter()
        try:
            return await self._fetch_or_raise(request, robots, started)
        except FetchError as exc:
            return _failure(request.url, started, exc)

    async def _fetch_or_raise(self, request: Request, robots: bool, started: float) -> FetchResult:
        if robots and not await self._robots.allowed(request):
            raise RobotsDisallowed(request.url)
        host = (urlsplit(request.url).hostname or "").lower()
        async with self._global, self._per_host[host]:
            await self._wait_turn(host)
            try:
                # asyncio.timeout, not wait_for: no extra task per request.
                async with asyncio.timeout(self.timeout):
                    return await self._fetch(request, started)
            except TimeoutError as exc:
                raise FetchTimeout(request.url, self.timeout) from exc

    async def _wait_turn(self, host: str) -> None:
        """Keep `per_host_delay` seconds between the starts of two requests to one host."""
        delay = self.options.per_host_delay
        if delay <= 0:
            return
        now = time.monotonic()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + delay
        if start > now:
            await asyncio.sleep(start - now)

    async def _fetch(self, request: Request, started: float) -> FetchResult:
        url = request.url
        headers = _conditional_headers(request)
        if request.user_agent:
            headers["User-Agent"] = request.user_agent
        moved_to: str | None = None  # set while every hop so far was permanent
        permanent = True
        for _hop in range(self.options.max_redirects + 1):
            try:
                _check_scheme(url)
                response = await self._get(url, headers, request.ca_bundle)
            except (AddressRefused, DnsError, ValueError, httpx.TransportError) as exc:
                raise translate(url, exc) from exc
            if isinstance(response, FetchResult):
                return replace(response, url=request.url, moved_to=moved_to)
            status, location = response
            url = urljoin(url, location)
            permanent = permanent and status in (301, 308)
            moved_to = url if permanent else None
            # Validators belong to the old URL; the source's User-Agent goes on.
            headers = {k: v for k, v in headers.items() if k == "User-Agent"}
        raise TooManyRedirects(url, self.options.max_redirects)

    async def _get(
        self, url: str, headers: dict[str, str], ca_bundle: str | None = None
    ) -> FetchResult | tuple[int, str]:
        """One request: a result, or (status, location) when it redirects."""
        started = time.perf_counter()
        request = httpx.Request(
            "GET", url, headers={**self._headers, **headers}, extensions={"timeout": self._timeouts}
        )
        try:
            transport = self._transport(request.url.host, ca_bundle)
        except CaBundleError as exc:
            raise CaBundleError(url, exc.detail) from exc
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location:
                return response.status_code, location
            try:
                body = await read_body(response, self._limits, url)
            except FetchError as exc:  # the answer came, its body is refused: keep its facts
                return _result(url, response, b"", exc, started)
            return _result(url, response, body, None, started)
        finally:
            await response.aclose()


def _check_scheme(url: str) -> None:
    """Only http(s) URLs with a host are fetched. The address check itself happens when a
    connection is opened (`fetching.guard.GuardedBackend`), on the address connected to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUrl(url, f"not an http(s) URL: {url!r}")


def translate(url: str, exc: Exception) -> FetchError:
    """Our error for what httpx (or the address guard) raised while fetching `url`."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, AddressRefused):
        return RefusedAddress(url, str(exc))
    if isinstance(exc, DnsError):
        return DnsFailure(url, str(exc))
    if isinstance(exc, (ValueError, httpx.InvalidURL)):
        return BadUrl(url, str(exc))
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(url)
    if _is_tls(exc):
        return TlsError(url, _describe(exc))
    return ConnectionFailed(url, _describe(exc))


def _conditional_headers(request: Request) -> dict[str, str]:
    headers = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


def _result(
    url: str,
    response: httpx.Response,
    body: bytes,
    body_error: FetchError | None,
    started: float,
) -> FetchResult:
    """The result of a response: a failure when its body was refused (`body_error`) or its
    status is an error (`http_status_error`: transient for 429 and 5xx), with the answer's
    facts (status, validators, Retry-After) either way."""
    status = response.status_code
    retry_after = _retry_after(response.headers.get("retry-after"))
    error = body_error
    if error is None and status >= 400:
        error = http_status_error(url, status, response.reason_phrase, retry_after_s=retry_after)
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=status,
        body=b"" if error else body,
        content_type=response.headers.get("content-type", ""),
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        fetched_at=datetime.now(UTC),
        error_kind=error.kind if error else None,
        error_message=error.detail if error else None,
        not_modified=status == 304,
        retry_after_s=retry_after,
        max_age_s=_max_age(response.headers.get("cache-control")),
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _max_age(value: str | None) -> float | None:
    match = _MAX_AGE.search(value or "")
    return float(match.group(1)) if match else None


def _failure(url: str, started: float, error: FetchError) -> FetchResult:
    """A request for `url` that got no answer: `error` (raised at `error.url`, the hop it
    reached) as data."""
    return FetchResult(
        url=url,
        final_url=error.url,
        status=None,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        fetched_at=datetime.now(UTC),
        error_kind=error.kind,
        error_message=error.detail,
    )


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _is_tls(exc: Exception) -> bool:
    text = f"{exc} {exc.__cause__}".lower()
    return "ssl" in text or "certificate" in text


@functools.cache
def system_tls() -> ssl.SSLContext:
    """The system's trust store, loaded once a process and shared by every fetcher (a context
    is safe to share between connections): loading it costs ~36 ms, and ingest makes a fetcher
    per batch of pages (~1.8% of an ingest's CPU at N = 2,000 on loopback, py-spy)."""
    return ssl.create_default_context()


def tls_with_bundle(ca_bundle: str) -> ssl.SSLContext:
    """The system's trust store plus the CA certificates in the PEM file `ca_bundle`; a
    file that cannot be read as such is a `CaBundleError` (our configuration's mistake)."""
    tls = ssl.create_default_context()
    try:
        tls.load_verify_locations(cafile=ca_bundle)
    except FileNotFoundError as exc:
        raise CaBundleError(ca_bundle, f"ca_bundle {ca_bundle}: no such file") from exc
    except (OSError, ssl.SSLError) as exc:
        raise CaBundleError(ca_bundle, f"ca_bundle {ca_bundle}: not PEM certificates") from exc
    return tls


def build_transport(options: FetchOptions, tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """The connection pool for one host: no proxies from the environment (a transport never
    reads them), as many connections as one host may have, and every connection opened
    through the address guard (httpx takes no network backend, so its pool is replaced by
    an identical one that has it)."""
    transport = httpx.AsyncHTTPTransport(verify=tls)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=options.per_host_concurrency,
        max_keepalive_connections=options.per_host_concurrency,
        keepalive_expiry=5.0,  # httpx's default
        network_backend=GuardedBackend(options.allowed_hosts),
    )
    return transport


def fetch_many(
    options: FetchOptions, requests: Sequence[Request], *, robots: bool = False
) -> list[FetchResult]:
    """Fetch `requests` concurrently; results in the same order. `robots`: honour robots.txt
    (for article pages; feeds are published to be polled)."""

    async def run() -> list[FetchResult]:
        async with Fetcher(options) as fetcher:
            return await fetcher.fetch_all(requests, robots=robots)

    return asyncio.run(run())


class RobotsCache:
    """robots.txt per origin, fetched once per fetcher through the same guard and limits.

    Read as Python's robotparser reads it: 401/403 disallow everything, other 4xx allow
    everything. A robots.txt that cannot be fetched (5xx, timeout) allows everything, so that
    a flaky server does not cost us its articles."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._parsers: dict[tuple[str, str | None, str | None], RobotFileParser] = {}
        self._locks: dict[tuple[str, str | None, str | None], asyncio.Lock] = defaultdict(
            asyncio.Lock
        )

    async def allowed(self, request: Request) -> bool:
        """Whether robots.txt lets us fetch `request`; robots.txt is asked the way the
        request will be (the source's User-Agent and CA bundle), since a site that refuses
        our own User-Agent refuses it for robots.txt too."""
        url = request.url
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        key = (origin, request.user_agent, request.ca_bundle)
        async with self._locks[key]:
            if key not in self._parsers:
                robots = Request(f"{origin}/robots.txt", None, None, *key[1:])
                self._parsers[key] = await self._load(robots)
        return self._parsers[key].can_fetch(self.fetcher.options.user_agent, url)

    async def _load(self, robots: Request) -> RobotFileParser:
        parser = RobotFileParser(robots.url)
        result = await self.fetcher.fetch(robots)
        if result.status in (401, 403):
            parser.parse(["User-agent: *", "Disallow: /"])
        elif result.ok:
            parser.parse(result.body.decode("utf-8", "replace").splitlines())
        else:
            parser.parse([])  # no rules: everything allowed
        return parser
