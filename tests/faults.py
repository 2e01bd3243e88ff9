"""A fault-injection HTTP server on 127.0.0.1: every bad answer a real crawl meets, on demand.

Each fault is a source: a feed at `/f/<fault>.xml` that is itself the fault (a body that
trickles, resets, never ends, bombs, redirects away, is not a feed, ...) or a good feed whose
first article page is the fault and whose second page is fine. `FAULTS` says, per fault, how
many articles a run must store and what error must be recorded, so the acceptance test
(tests/test_faults.py) and the bench (bench/faults.py) check the same things.

Bodies are generated, never read from disk: article pages are made of seeded pseudo-random
words (distinct texts, so no page is folded into another as a copy), and the 2 GB bodies are
written 64 KB at a time until the client hangs up, never held in memory. Trickling routes wait
on the server's `stop` event, so they end as soon as the server does.
"""

from __future__ import annotations

import gzip
import random
import socket
import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

TWO_GB = 2 * 1024**3
BOMB_UNPACKED = 256 * 1024**2
MANY_ENTRIES = 100_000
_DAY = "Mon, 05 Jan 2026"


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault source. `articles`: what a run stores from it (None: the per-source limit,
    for the feed with 100,000 entries); `feed_error`/`page_error`: the error_kind recorded
    for the feed (feed_state) or for the faulty page's entry (entries), None when none."""

    name: str
    what: str
    articles: int | None
    feed_error: str | None = None
    page_error: str | None = None


FAULTS = (
    Fault("slow-feed", "feed body trickles at 1 byte/s", 0, feed_error="timeout"),
    Fault("slow-page", "article page trickles at 1 byte/s", 1, page_error="timeout"),
    Fault("reset-feed", "connection reset mid-body (feed)", 0, feed_error="connection"),
    Fault("reset-page", "connection reset mid-body (page)", 1, page_error="connection"),
    Fault("short-page", "page body shorter than its Content-Length", 1, page_error="truncated"),
    Fault("truncated-gzip", "gzip page body cut in half", 1, page_error="truncated"),
    Fault("gzip-bomb", "1 MB gzip feed that unpacks to 256 MB", 0, feed_error="too_large"),
    Fault("huge-body", "2 GB feed body with Content-Length", 0, feed_error="too_large"),
    Fault("huge-chunked", "2 GB feed body, chunked, no length", 0, feed_error="too_large"),
    Fault("redirect-chain", "endless redirect chain", 0, feed_error="too_many_redirects"),
    Fault("redirect-private", "feed redirects to 10.20.30.40", 0, feed_error="refused_address"),
    Fault(
        "redirect-link-local",
        "page redirects to 169.254.169.254",
        1,
        page_error="refused_address",
    ),
    Fault("wrong-type", "feed served as image/png", 2),
    Fault("no-type", "feed served without Content-Type", 2),
    Fault("lying-charset", "UTF-8 feed and pages labelled ISO-8859-1", 2),
    Fault("html-as-feed", "an HTML page where the feed should be", 0, feed_error="not_a_feed"),
    Fault("many-entries", "a feed with 100,000 new entries", None),
    Fault("script-links", "entries linking javascript: and data: URLs", 2),
    Fault("status-500", "feed answers 500", 0, feed_error="http_status"),
    Fault("status-503", "feed answers 503 with Retry-After", 0, feed_error="http_status"),
    Fault("status-429", "feed answers 429 with Retry-After", 0, feed_error="http_status"),
)
RETRY_AFTER_S = {"status-503": 3600, "status-429": 7200}
PRIVATE_TARGET = "http://10.20.30.40/feed.xml"
LINK_LOCAL_TARGET = "http://169.254.169.254/latest/meta-data/"


def fault_sources(base: str, faults: tuple[Fault, ...] = FAULTS) -> list[dict[str, str]]:
    """feeds.yaml items for `faults`, served at `base`."""
    return [
        {
            "name": f.name,
            "kind": "rss",
            "url": f"{base}/f/{f.name}.xml",
            "language": "en",
            "country": "US",
        }
        for f in faults
    ]


# --- generated bodies -------------------------------------------------------------------------

_VOCABULARY = (
    "harbour council minister river market grain winter border treaty vote parliament "
    "energy pipeline court ruling strike union factory coast storm budget railway bridge "
    "election observer mayor province garrison ceasefire convoy shipment tariff port "
    "refinery drought harvest reservoir satellite airport customs embassy envoy summit "
    "inquiry audit ledger scandal protest curfew bulletin commission charter reform"
)
_WORDS = _VOCABULARY.split()
_CYRILLIC = "пограничный совет министр река рынок зерно зима договор голосование"


def article_text(name: str, number: int) -> list[str]:
    """Four paragraphs of distinct, seeded text for page `number` of fault `name`."""
    rng = random.Random(f"{name}/{number}")
    return [" ".join(rng.choice(_WORDS) for _ in range(60)).capitalize() + "." for _ in range(4)]


def article_page(name: str, number: int, *, title: str | None = None) -> bytes:
    title = title or f"{name} report {number}"
    paragraphs = "".join(f"<p>{p}</p>" for p in article_text(name, number))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><nav>Home | World</nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article>"
        "<footer>Fault Gazette</footer></body></html>"
    ).encode()


def feed(base: str, name: str, items: list[str], title: str | None = None) -> bytes:
    """An RSS feed of `items` (already-built <item> elements)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title or name}</title><link>{base}/</link><description>faults</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(link: str, title: str, guid: str, description: str = "", hour: int = 10) -> str:
    desc = f"<description><![CDATA[{description}]]></description>" if description else ""
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<pubDate>{_DAY} {hour:02d}:00:00 GMT</pubDate>{desc}</item>"
    )


def two_page_feed(base: str, name: str) -> bytes:
    """A good feed of two articles: page 1 is the fault (when there is one), page 2 is fine."""
    items = [
        item(f"{base}/p/{name}/{n}.html", f"{name} report {n}", f"{name}-{n}", hour=9 + n)
        for n in (1, 2)
    ]
    return feed(base, name, items)


@cache
def many_entries_feed(base: str) -> bytes:
    """100,000 short items, ~5 MB: under the default 10 MB body cap, as a real backlog is."""
    items = "".join(f"<item><link>{base}/m/{n}</link></item>" for n in range(MANY_ENTRIES))
    return feed(base, "many-entries", [items])


@cache
def gzip_bomb() -> bytes:
    """One gzip member of 256 MB of zeros: about 250 KB on the wire."""
    out = []
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    for _ in range(BOMB_UNPACKED // len(zeros)):
        out.append(compressor.compress(zeros))
    out.append(compressor.flush())
    return b"".join(out)


# --- the server -------------------------------------------------------------------------------


class FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        with self.server.lock:
            self.server.hits.append(path)
        base = self.server.base
        parts = path.strip("/").split("/")
        if path == "/robots.txt":
            self.send_body(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif parts[0] == "f" and len(parts) == 2:
            self.feed_route(parts[1].removesuffix(".xml"), base)
        elif parts[0] == "p" and len(parts) == 3:
            self.page_route(parts[1], int(parts[2].removesuffix(".html")))
        elif parts[0] == "m" and len(parts) == 2:
            self.send_body(200, article_page("many", int(parts[1])), "text/html; charset=utf-8")
        elif parts[0] == "chain" and len(parts) == 2:
            self.redirect(f"/chain/{int(parts[1]) + 1}")
        else:
            self.send_body(404, b"not found\n", "text/plain")

    # --- feeds

    def feed_route(self, name: str, base: str) -> None:
        rss = "application/rss+xml; charset=utf-8"
        good = two_page_feed(base, name)
        if name == "slow-feed":
            self.trickle(good, rss)
        elif name == "reset-feed":
            self.reset_after(good, rss, keep=len(good) // 3)
        elif name == "gzip-bomb":
            self.send_body(200, gzip_bomb(), rss, Content_Encoding="gzip")
        elif name == "huge-body":
            self.endless(rss, chunked=False)
        elif name == "huge-chunked":
            self.endless(rss, chunked=True)
        elif name == "redirect-chain":
            self.redirect("/chain/1")
        elif name == "redirect-private":
            self.redirect(PRIVATE_TARGET)
        elif name == "wrong-type":
            self.send_body(200, good, "image/png")
        elif name == "no-type":
            self.send_body(200, good, None)
        elif name == "lying-charset":
            self.send_body(200, _cyrillic_feed(base), "application/rss+xml; charset=iso-8859-1")
        elif name == "html-as-feed":
            self.send_body(200, article_page(name, 0), rss)
        elif name == "many-entries":
            self.send_body(200, many_entries_feed(base), rss)
        elif name == "script-links":
            self.send_body(200, _script_feed(base), rss)
        elif name.startswith("status-"):
            status = int(name.removeprefix("status-"))
            retry = RETRY_AFTER_S.get(name)
            extra = {"Retry_After": str(retry)} if retry else {}
            self.send_body(status, b"<h1>unavailable</h1>", "text/html", **extra)
        else:
            self.send_body(200, good, rss)

    # --- pages: page 1 of a fault's feed is the fault, every other page is fine

    def page_route(self, name: str, number: int) -> None:
        html = "text/html; charset=utf-8"
        page = article_page(name, number)
        if number != 1:
            if name == "lying-charset":
                page = _cyrillic_page(number)
                html = "text/html; charset=iso-8859-1"
            self.send_body(200, page, html)
        elif name == "slow-page":
            self.trickle(page, html)
        elif name == "reset-page":
            self.reset_after(page, html, keep=len(page) // 3)
        elif name == "short-page":
            self.send_head(200, html, Content_Length=str(len(page) + 5000))
            self.write(page)
            self.close_connection = True
        elif name == "truncated-gzip":
            packed = gzip.compress(page + b"<!--" + b"padding " * 2000 + b"-->")
            self.send_body(200, packed[: len(packed) // 2], html, Content_Encoding="gzip")
        elif name == "redirect-link-local":
            self.redirect(LINK_LOCAL_TARGET)
        else:
            self.send_body(200, page, html)

    # --- ways to answer

    def send_head(self, status: int, content_type: str | None, **headers: str) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def send_body(self, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
        self.send_head(status, content_type, Content_Length=str(len(body)), **headers)
        self.write(body)

    def write(self, data: bytes) -> bool:
        """Write; False when the client has gone (a timeout, a refusal): stop answering."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            self.close_connection = True
            return False

    def redirect(self, location: str) -> None:
        self.send_body(302, b"", "text/plain", Location=location)

    def trickle(self, body: bytes, content_type: str) -> None:
        """One byte a second, until the client gives up or the server stops."""
        self.send_head(200, content_type, Content_Length=str(len(body)))
        for byte in body:
            if not self.write(bytes([byte])) or self.server.stop.wait(1.0):
                break
        self.close_connection = True

    def reset_after(self, body: bytes, content_type: str, keep: int) -> None:
        """Send the headers and `keep` bytes, then reset the connection (RST, not FIN)."""
        self.send_head(200, content_type, Content_Length=str(len(body)))
        self.write(body[:keep])
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def endless(self, content_type: str, *, chunked: bool) -> None:
        """A 2 GB body, 64 KB at a time, until the client hangs up."""
        block = b"<!-- " + b"x" * (64 * 1024 - 10) + b" -->"
        if chunked:
            self.send_head(200, content_type, Transfer_Encoding="chunked")
            frame = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        else:
            self.send_head(200, content_type, Content_Length=str(TWO_GB))
            frame = block
        sent = 0
        while sent < TWO_GB and not self.server.stop.is_set() and self.write(frame):
            sent += len(block)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return


def _cyrillic_feed(base: str) -> bytes:
    items = [
        item(f"{base}/p/lying-charset/{n}.html", f"Новости дня {n}", f"lying-{n}", hour=9 + n)
        for n in (2, 3)
    ]
    return feed(base, "lying-charset", items, title="Вести")


def _cyrillic_page(number: int) -> bytes:
    words = _CYRILLIC.split()
    rng = random.Random(f"cyrillic/{number}")
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(words) for _ in range(60)) + ".</p>" for _ in range(4)
    )
    title = f"Новости дня {number}"
    return (
        f'<!doctype html><html lang="ru"><head><title>{title}</title></head><body>'
        f"<article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


def _script_feed(base: str) -> bytes:
    items = [
        item("javascript:alert(document.cookie)", "Click me", "script-js"),
        item(
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "Data item",
            "script-data",
            description="<p>A notice carried whole by the feed.</p>"
            "<script>alert('xss')</script><img src=x onerror=alert(1)>",
        ),
        item(f"{base}/p/script-links/2.html", "script-links report 2", "script-good"),
    ]
    return feed(base, "script-links", items)


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.hits: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    @property
    def host_port(self) -> str:
        return self.base.removeprefix("http://")

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up on a fault is the point; anything else is printed."""
        if isinstance(sys.exc_info()[1], OSError | ValueError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve_faults() -> Iterator[FaultServer]:
    """Serve the faults on 127.0.0.1 (a free port) until the block ends."""
    server = FaultServer()
    gzip_bomb()  # made once, before any client waits for it
    thread = threading.Thread(target=server.serve_forever, name="fault-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()
