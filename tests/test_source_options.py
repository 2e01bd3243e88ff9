"""Per-source options in feeds.yaml against loopback servers (issue 18): a site that answers
403 unless a browser User-Agent is sent, an HTTPS site whose certificate chains to a CA of our
own (passed through `ca_bundle`), and a feed without dates whose articles take the page's."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from extractors.errors import ConfigError
from extractors.records import Source
from fetching.fetch import Fetcher, Request, fetch_many
from newswatch.config import BROWSER_USER_AGENT, load_sources
from newswatch.options import fetch_options, ingest_options, poll_options
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer, serve_snapshot
from pipeline import ingest as steps
from pipeline.extract import start_worker_server
from pipeline.poll import poll_sources
from tests.conftest import ScriptedHandler
from tests.test_polling import answer, route, rss
from warehouse.db import connect

REPO = Path(__file__).resolve().parents[1]


def _settings(server: SnapshotServer, **more: object) -> Settings:
    return Settings(allowed_hosts=server.host_port, per_host_delay=0, feed_timeout=5, **more)


def _source(url: str, **options: object) -> Source:
    return Source("S", "rss", url, "en", "US", "S", **options)  # type: ignore[arg-type]


# --- feeds.yaml: the options are read and checked with their line ----------------------------


def _feeds(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "sources:\n  - name: A\n    kind: rss\n    url: https://a.example/feed\n"
        f"    language: en\n    country: US\n{extra}",
        encoding="utf-8",
    )
    return path


def test_options_are_read_from_feeds_yaml(tmp_path: Path) -> None:
    path = _feeds(
        tmp_path,
        "    user_agent: browser\n    ca_bundle: certs/cfca.pem\n    dates: page\n"
        "    paused: true\n",
    )
    (source,) = load_sources(path)
    assert source.user_agent == BROWSER_USER_AGENT
    assert source.ca_bundle == str(tmp_path / "certs" / "cfca.pem")  # beside feeds.yaml
    assert (source.dates, source.paused) == ("page", True)
    (plain,) = load_sources(_feeds(tmp_path, "    user_agent: MyReader/1.0\n"))
    assert (plain.user_agent, plain.ca_bundle, plain.dates, plain.paused) == (
        "MyReader/1.0",
        None,
        "feed",
        False,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    dates: pages\n", "field 'dates' must be `feed`"),
        ("    ca_bundle: ''\n", "field 'ca_bundle' must be the path of a PEM file"),
        ("    user_agent: ''\n", "field 'user_agent' must be one line"),
        ("    paused: maybe\n", "field 'paused'"),
    ],
)
def test_bad_options_name_their_line(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sources(_feeds(tmp_path, extra))
    assert caught.value.line == 7, str(caught.value)
    assert message in str(caught.value)


def test_the_seed_file_carries_the_options_real_sites_need() -> None:
    sources = {s.name: s for s in load_sources(REPO / "seeds" / "feeds.yaml")}
    for name in ("TASS (English)", "TASS (Russian)", "Agencia EFE"):
        assert sources[name].user_agent == BROWSER_USER_AGENT, name
    for name in ("Xinhua (English, world)", "Xinhua (Chinese, world)"):
        assert (sources[name].ca_bundle or "").endswith("certs/cfca-root.pem"), name
    assert sources["Press TV"].dates == "page"


# --- a browser User-Agent --------------------------------------------------------------------


def _browsers_only(scripted: SnapshotServer, path: str, body: bytes, ctype: str) -> None:
    def reply(handler: ScriptedHandler, _query: str) -> None:
        if "Mozilla/5.0" in handler.headers.get("User-Agent", ""):
            handler.send_body(200, body, ctype)
        else:
            handler.send_body(403, b"Forbidden", "text/html")

    route(scripted, path, reply)


def test_a_site_that_refuses_non_browsers_answers_the_browser_user_agent(
    scripted: SnapshotServer,
) -> None:
    _browsers_only(scripted, "/rss", rss("a", "b"), "application/rss+xml")
    options = poll_options(_settings(scripted))
    url = f"{scripted.base}/rss"
    sources = [_source(url), _source(url, user_agent=BROWSER_USER_AGENT)]
    ours, browser = poll_sources(options, sources, {}, {})
    assert ours.fetch.status == 403 and ours.failed
    assert browser.fetch.status == 200 and len(browser.parsed.entries) == 2  # type: ignore[union-attr]
    agents = [h["User-Agent"] for _p, h in scripted.requests]  # type: ignore[attr-defined]
    assert sorted(a.startswith("newswatch/") for a in agents) == [False, True]


def test_the_user_agent_survives_redirects_and_asks_robots_txt(scripted: SnapshotServer) -> None:
    answer(scripted, "/old", 301, b"", "text/plain", Location="/article")
    _browsers_only(scripted, "/article", b"<html><body>text</body></html>", "text/html")
    _browsers_only(scripted, "/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")

    async def fetch() -> list[object]:
        async with Fetcher(fetch_options(_settings(scripted))) as fetcher:
            request = Request(f"{scripted.base}/old", user_agent=BROWSER_USER_AGENT)
            return [await fetcher.fetch(request, robots=True)]

    (result,) = asyncio.run(fetch())
    assert result.ok, result  # type: ignore[attr-defined]
    paths = [p for p, h in scripted.requests if h["User-Agent"] == BROWSER_USER_AGENT]  # type: ignore[attr-defined]
    assert paths == ["/robots.txt", "/old", "/article"]


# --- a CA of our own through ca_bundle -------------------------------------------------------


def _ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a certificate for 127.0.0.1 signed by it: (CA PEM, server
    certificate PEM, server key PEM)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newswatch test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[tuple[SnapshotServer, Path]]:
    """A scripted server speaking HTTPS on 127.0.0.1 with a certificate from our own CA;
    yields it (its `base` is https://) and the CA's PEM file."""
    ca, cert, key = _ca_and_server_cert(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serve_snapshot(tmp_path, 0, ScriptedHandler) as srv:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
        srv.routes = {}  # type: ignore[attr-defined]
        srv.requests = []  # type: ignore[attr-defined]
        srv.lock = threading.Lock()  # type: ignore[attr-defined]
        srv.base = srv.base.replace("http://", "https://")
        yield srv, ca


def test_a_ca_bundle_lets_a_private_ca_through(https_site: tuple[SnapshotServer, Path]) -> None:
    srv, ca = https_site
    answer(srv, "/rss", 200, rss("a"), "application/rss+xml")
    options = fetch_options(Settings(allowed_hosts=srv.base.removeprefix("https://")))
    url = f"{srv.base}/rss"
    without, with_bundle, missing = fetch_many(
        options,
        [
            Request(url),
            Request(url, ca_bundle=str(ca)),
            Request(url, ca_bundle=str(ca.parent / "nowhere.pem")),
        ],
    )
    assert without.error_kind == "tls", without
    assert with_bundle.ok and with_bundle.status == 200, with_bundle
    assert missing.error_kind == "ca_bundle" and "no such file" in (missing.error_message or "")


# --- dates: page -----------------------------------------------------------------------------

PAGE = """<html><head><title>{title}</title>{meta}</head><body><article><h1>{title}</h1>
<p>{text}</p></article></body></html>"""
TEXT = (
    "The central bank of the republic raised its key interest rate again on Monday, "
    "citing inflation that has stayed above its target for most of the past year. " * 4
)


def _undated_feed(base: str, dated: bool) -> bytes:
    date = "<pubDate>Sat, 01 Jan 2000 00:00:00 GMT</pubDate>" if dated else ""
    items = "".join(
        f"<item><title>Story {n}</title><link>{base}/news/{n}</link><guid>g{n}</guid>{date}</item>"
        for n in (1, 2)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Undated</title>'
        f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("dated", "dates", "second"),
    [
        (False, "page", dt.date(2026, 1, 6)),  # Press TV: no dates in the feed
        (True, "feed", dt.date(2000, 1, 1)),  # the feed's date beats htmldate's reading
        (True, "page", dt.date(2026, 1, 6)),  # unless the source says the page knows better
    ],
)
def test_dates_page_takes_each_article_date_from_its_page(
    scripted: SnapshotServer, tmp_path: Path, dated: bool, dates: str, second: dt.date
) -> None:
    # Story 1 states its date in its markup; story 2 only in its text. A `dated` feed gives
    # every item the same wrong date (a placeholder, as some CMSs do).
    meta = '<meta property="article:published_time" content="2026-01-05T08:30:00+00:00">'
    answer(scripted, "/rss", 200, _undated_feed(scripted.base, dated), "text/xml")
    answer(scripted, "/robots.txt", 404, b"", "text/plain")
    # The pages, like TASS's, answer browsers only: the source's user_agent reaches the
    # page fetches (through the warehouse's sources table) as well as the feed's.
    one = PAGE.format(title="One", meta=meta, text=TEXT).encode()
    _browsers_only(scripted, "/news/1", one, "text/html")
    two = PAGE.format(title="Two", meta="", text="Published 6 January 2026. " + TEXT).encode()
    _browsers_only(scripted, "/news/2", two, "text/html")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"sources:\n  - name: Undated\n    kind: rss\n    url: {scripted.base}/rss\n"
        f"    language: en\n    country: IR\n    dates: {dates}\n    user_agent: browser\n",
        encoding="utf-8",
    )
    settings = _settings(
        scripted,
        feeds=feeds,
        db=tmp_path / "data" / "nw.duckdb",
        watchlist=REPO / "seeds" / "watchlist.yaml",
        extract_workers=1,
    )
    start_worker_server()
    with steps.open_run(ingest_options(settings), uuid.uuid4().hex) as run:
        sources = load_sources(feeds)
        steps.ingest_sources(run, sources, True, lambda _n: True, logging.getLogger("t"))
    with connect(settings.db, read_only=True) as con:
        got = dict(con.execute("SELECT title, published FROM articles").fetchall())
    assert got["One"] == dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)
    assert got["Two"] is not None and got["Two"].date() == second, got
