"""The address guard and the body limits, checked without contacting anything refused.

Names resolve through a test resolver (a dictionary), so a host can be made to resolve to
10.x, 169.254.x or a mix without any DNS; every connection httpcore opens is recorded at the
network backend, so "never contacted" is an assertion, not a hope. Beneath both, the netguard
hook (tests/netguard.py) refuses any socket to anywhere but 127.0.0.1.
"""

from __future__ import annotations

import gzip
import ipaddress
import random
import socket
import zlib
from collections.abc import Iterator

import httpcore
import pytest

from fetching import guard
from fetching.fetch import Request, fetch_many
from newswatch.options import fetch_options
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer
from tests import netguard
from tests.faults import FaultServer, serve_faults


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    with serve_faults() as srv:
        yield srv


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (host, port) httpcore's real backend is asked to connect to."""
    seen: list[tuple[str, int]] = []
    real = httpcore.AnyIOBackend.connect_tcp

    async def recording(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((host, port))
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", recording)
    return seen


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver the test fills: host name -> addresses. Unknown names do not resolve."""
    table: dict[str, list[str]] = {}

    async def resolve(host: str, port: int) -> list[guard.Address]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        if host not in table:
            raise guard.DnsError(f"cannot resolve {host}: unknown test name")
        return [ipaddress.ip_address(a) for a in table[host]]

    monkeypatch.setattr(guard, "resolve", resolve)
    return table


def _fetch(settings: Settings, url: str, timeout: float = 2.0):
    return fetch_many(fetch_options(settings, timeout), [Request(url)])[0]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "private"),  # reserved, which Python also counts as private
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 around 169.254.169.254
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo, client 10.0.0.1
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_refused_ranges(address: str, reason: str | None) -> None:
    assert guard.refusal(ipaddress.ip_address(address)) == reason


def test_names_of_private_addresses_are_never_contacted(
    settings: Settings, names: dict[str, list[str]], connects: list[tuple[str, int]]
) -> None:
    names.update(
        {
            "metadata.test": ["169.254.169.254"],
            "intranet.test": ["10.1.2.3"],
            "mixed.test": ["8.8.8.8", "10.0.0.1"],  # one private address is enough
            "v6.test": ["fd00::1"],
        }
    )
    for host, reason in [
        ("metadata.test", "link-local"),
        ("intranet.test", "private"),
        ("mixed.test", "private"),
        ("v6.test", "private"),
    ]:
        result = _fetch(settings, f"http://{host}/feed.xml")
        assert result.error_kind == "refused_address", host
        assert f"{host} resolves to" in (result.error_message or "")
        assert f"a {reason} address" in (result.error_message or "")
    for url in ("http://10.0.0.1/x", "https://[::ffff:169.254.169.254]/"):
        assert _fetch(settings, url).error_kind == "refused_address", url
    assert _fetch(settings, "http://nowhere.test/").error_kind == "dns"
    assert connects == []


def test_numeric_host_forms_are_judged_by_their_address(
    settings: Settings, connects: list[tuple[str, int]]
) -> None:
    # libc reads these as 127.0.0.1 without DNS; the guard judges what they resolve to.
    for url in ("http://2130706433/", "http://0x7f000001/", "http://127.1/"):
        result = _fetch(settings, url)
        assert result.error_kind == "refused_address", url
        assert "127.0.0.1, a loopback address" in (result.error_message or ""), url
    assert connects == []


def test_redirect_hops_are_checked_before_connecting(
    settings: Settings, faults: FaultServer, connects: list[tuple[str, int]]
) -> None:
    allowed = settings.model_copy(update={"allowed_hosts": faults.host_port})
    port = int(faults.host_port.rsplit(":", 1)[1])
    private = _fetch(allowed, f"{faults.base}/f/redirect-private.xml")
    link_local = _fetch(allowed, f"{faults.base}/p/redirect-link-local/1.html")
    assert (private.error_kind, private.final_url) == (
        "refused_address",
        "http://10.20.30.40/feed.xml",
    )
    assert private.url == f"{faults.base}/f/redirect-private.xml"
    assert "10.20.30.40 is a private address" in (private.error_message or "")
    assert link_local.error_kind == "refused_address"
    assert "link-local" in (link_local.error_message or "")
    assert {c for c in connects} == {("127.0.0.1", port)}


def test_allowed_name_connects_to_the_address_it_was_checked_at(
    settings: Settings,
    server: SnapshotServer,
    names: dict[str, list[str]],
    connects: list[tuple[str, int]],
) -> None:
    port = int(server.host_port.rsplit(":", 1)[1])
    names["feeds.test"] = ["127.0.0.1"]
    allowed = settings.model_copy(update={"allowed_hosts": f"feeds.test:{port}"})
    result = _fetch(allowed, f"http://feeds.test:{port}/feeds/demo-wire.xml")
    assert result.ok, result.error_message
    # httpcore was handed the checked address, not the name: nothing resolves it again.
    assert connects == [("127.0.0.1", port)]
    # Another port of the same name is not allowed, and the name is no pass for its address.
    assert _fetch(allowed, f"http://feeds.test:{port + 1}/").error_kind == "refused_address"
    assert _fetch(allowed, f"http://127.0.0.1:{port}/").error_kind == "refused_address"
    assert len(connects) == 1


def test_only_http_and_https(settings: Settings, connects: list[tuple[str, int]]) -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "data:,x"):
        assert _fetch(settings, url).error_kind == "bad_url", url
    assert connects == []


def test_netguard_refuses_other_addresses_before_any_packet() -> None:
    before = len(netguard.violations)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="netguard"):
            sock.connect(("10.255.255.1", 9))
        with pytest.raises(socket.gaierror, match="netguard"):
            socket.getaddrinfo("example.org", 80)
    finally:
        sock.close()
        refused = netguard.violations[before:]
        del netguard.violations[before:]  # expected here; any other test fails on one
    assert len(refused) == 2


# --- body limits --------------------------------------------------------------------------------


def test_body_faults_are_errors_not_short_pages(settings: Settings, faults: FaultServer) -> None:
    s = settings.model_copy(
        update={"allowed_hosts": faults.host_port, "max_unpacked_bytes": 8_000_000}
    )
    cases = {
        "/p/short-page/1.html": ("truncated", "expected"),
        "/p/truncated-gzip/1.html": ("truncated", "the gzip stream has no end"),
        "/p/reset-page/1.html": ("connection", "connection broken"),
        "/f/gzip-bomb.xml": ("too_large", "body larger than the 8000000-byte cap"),
        "/f/huge-body.xml": ("too_large", "Content-Length 2147483648"),
        "/f/huge-chunked.xml": ("too_large", "cap"),
        "/f/redirect-chain.xml": ("too_many_redirects", "more than 5 redirects"),
    }
    urls = [faults.base + path for path in cases]
    results = fetch_many(fetch_options(s, 2.0), [Request(u) for u in urls])
    for (path, (kind, words)), result in zip(cases.items(), results, strict=True):
        assert (result.error_kind, result.body) == (kind, b""), path
        assert words in (result.error_message or ""), (path, result.error_message)


def test_slow_body_is_cut_at_the_total_time(settings: Settings, faults: FaultServer) -> None:
    s = settings.model_copy(update={"allowed_hosts": faults.host_port})
    result = _fetch(s, f"{faults.base}/p/slow-page/1.html", timeout=0.5)
    assert result.error_kind == "timeout" and result.body == b""


def _serve(scripted: SnapshotServer, path: str, body: bytes, encoding: str) -> None:
    def answer(handler, _query):  # type: ignore[no-untyped-def]
        handler.send_body(200, body, "text/html", Content_Encoding=encoding)

    scripted.routes[path] = answer  # type: ignore[attr-defined]


def test_good_encoded_bodies_decode_whole(settings: Settings, scripted: SnapshotServer) -> None:
    page = b"<html><body>" + b"<p>paragraph</p>" * 5000 + b"</body></html>"
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    bodies = {
        "/gzip": (gzip.compress(page), "gzip"),
        "/two-members": (gzip.compress(page[:1000]) + gzip.compress(page[1000:]), "gzip"),
        "/zlib": (zlib.compress(page), "deflate"),
        "/raw-deflate": (raw_deflate.compress(page) + raw_deflate.flush(), "deflate"),
        "/identity": (page, "identity"),
    }
    for path, (body, encoding) in bodies.items():
        _serve(scripted, path, body, encoding)
    _serve(scripted, "/brotli", b"\x00\x01", "br")
    s = settings.model_copy(update={"allowed_hosts": scripted.host_port})
    urls = [f"{scripted.base}{p}" for p in [*bodies, "/brotli"]]
    results = fetch_many(fetch_options(s, 2.0), [Request(u) for u in urls])
    for url, result in zip(urls[:-1], results, strict=False):
        assert result.ok and result.body == page, url
    assert results[-1].error_kind == "bad_encoding"


@pytest.mark.parametrize("step", [1, 2, 7, 4096, 1_000_000])
def test_decoder_is_exact_whatever_the_chunking(step: int) -> None:
    from fetching.bodies import _Decoder
    from newswatch.errors import BodyTruncated

    page = random.Random(step).randbytes(50_000)
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    encoded = {
        "gzip": gzip.compress(page[:20_000]) + gzip.compress(page[20_000:]) + b"\0",
        "deflate": zlib.compress(page),
        "x-gzip": gzip.compress(page),
    }
    for coding, body in [*encoded.items(), ("deflate", raw.compress(page) + raw.flush())]:
        decoder = _Decoder("https://x.test/", coding, 1_000_000)
        for start in range(0, len(body), step):
            decoder.feed(body[start : start + step])
        assert decoder.finish() == page, coding
    cut = _Decoder("https://x.test/", "gzip", 1_000_000)
    cut.feed(encoded["gzip"][: len(encoded["gzip"]) // 2])
    with pytest.raises(BodyTruncated, match="cut off"):
        cut.finish()
