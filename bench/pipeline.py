"""Benchmark: `newswatch ingest` against plain trafilatura, a naive loop and trafilatura's CLI.

What it measures, for N article pages (default N = 1,000 then N = 10,000), in one run, every
contender against the same pages on the same loopback servers (politeness off for all):

- (a) the ceiling: plain `trafilatura.extract(html, url=url)` over the N pages, already in
  memory, on every core (a process pool forked after the pages were built, so nothing is
  copied to the workers, and after one page was extracted, so lazy set-up is done once).
- (b) the baseline: a naive loop, one feed and one page at a time through one keep-alive
  `httpx.Client`, `feedparser.parse`, `trafilatura.extract`, a keyword match on the
  watchlist's aliases and one DuckDB INSERT (autocommit) per article.
- (t) trafilatura's own command line, `trafilatura --parallel <cores> -i urls.txt -o DIR`,
  given the N page URLs, with a config file that sets SLEEP_TIME = 0 (its per-domain delay)
  and SSRF_PROTECTION = off (it refuses loopback addresses otherwise); an article is a file
  it wrote.
- (c) `newswatch ingest --all-sources`: the real command, in a child process, a fresh DuckDB
  file, the watchlist of `seeds/`, and the settings a loopback run needs:
  NEWSWATCH_ALLOWED_HOSTS (the servers), NEWSWATCH_PER_HOST_DELAY=0 and
  NEWSWATCH_RESPECT_ROBOTS=false; everything else is the defaults (NEWSWATCH_EXTRACT_WORKERS
  passes through when set, to see memory against the number of workers). The command runs
  without Prefect (issue 18: PREFECT_API_URL points at a closed port, and it never imports
  Prefect). c's time is the whole command, from process start to exit. The full-text search
  index is its own flow: `newswatch index` runs after c and its time is printed beside c's,
  not counted in it.
- (d) c with NEWSWATCH_LINK_EVENTS=false: ingest without event linking (no embedding in the
  workers, no linking step), for issue 17's cost target, c's wall time / d's <= 1.20.
- (e) for information only: newswatch's `extract_article` the way a is run.

For each: articles per second (N pages in / wall seconds), CPU milliseconds per article (user
+ system of the process and all its children), and peak memory of the process tree: "peak MB",
the largest sum of the resident set sizes of the process and all its descendants, sampled
every 0.1 s (a page shared by forked processes counts once per process, so this over-states
a pool), and "PSS MB", the largest proportional set size of the tree, sampled every 0.3 s (a
shared page counts once in all; bench/harness.py). c's memory target is judged on PSS.

The final table holds the targets of issue 19: c >= 0.80 a at N = 10,000 (>= 0.65 at
N = 1,000), c >= 2.5 b, c >= 2 t, peak memory of c's process tree < 500 MB: its proportional
set size (a page shared by the forked workers counts once in all), the largest seen, sampled
every 0.3 s; the RSS sum is printed beside it; and issue 17's: c's wall time at most 1.20 d's.

The pages, in turn: the real article pages of `../shared/corpus/pages/` (155, general news:
one of them is about a watchlist topic) and pages about the topics built from real dated news
text (`bench/topic_pages.py`: ~940 Russian Telegram posts and ~240 CCTV items that name a
topic's country; about two thirds of them are tagged `about`, so event linking embeds and
compares about a third of the articles; c's notes print how many). Until session 9 only the
corpus pages were served, and linking embedded 26 of 9,872 articles: c/d measured nothing.
Both lists are repeated to N/2 under distinct URLs. Each copy is changed so that no two
are copies of each other: every third word of the text (outside scripts and styles; a
Cyrillic word or a CJK character counts as a word) is replaced by a word of the same page,
drawn with a seed per copy, so word shingles differ and neither the content hash nor the MinHash
index folds them. Copies keep the page's markup, size and language, so extraction costs what
it costs on the real page. They are listed through N/40 RSS feeds (at least 10, at most 250).
A child process serves everything from 8 loopback hosts (127.0.0.2 .. 127.0.0.9, pages
spread round-robin) with ready-made responses and keep-alive; its CPU time is shown apart.

Run: `.venv/bin/python bench/pipeline.py [--n 1000 10000] [--only a,b,t,c,d,e]
[--pages mixed|corpus] [--py-spy FILE]` (`--pages corpus`: the corpus pages alone, issue 19's
own workload)
(`--py-spy x.txt`: c's main process sampled while it holds the GIL, as folded stacks).
`NEWSWATCH_EXTRACT_WORKERS` and `NEWSWATCH_HOLD_WAREHOUSE` in the environment pass on to
ingest's runs (and are printed); other `NEWSWATCH_` settings do not.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gzip
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness import (
    Target,
    TreeSampler,
    add_sizes,
    at_least,
    at_most,
    below,
    child_server,
    children_cpu,
    children_of,
    corpus_missing,
    cpu_of,
    final_table,
    machine,
    mb,
    own_cpu,
    ratio,
)
from topic_pages import topic_pages

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "pages"
WATCHLIST = REPO / "seeds" / "watchlist.yaml"
HOSTS = 8
ITEMS_PER_FEED = 40
MAX_FEEDS = 250
SEED = 20260105
PR_SET_CHILD_SUBREAPER = 36
MEMORY_LIMIT = 500 * 2**20


# --- the pages ---------------------------------------------------------------------------------

_SKIP = re.compile(rb"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_TEXT_NODE = re.compile(rb">([^<]+)")
# A word: ASCII letters and digits, a run of Cyrillic letters, or one CJK character (the bench's
# Russian and Chinese topic pages are changed as the corpus pages are).
_WORD = re.compile(rb"[A-Za-z0-9]+|(?:[\xd0-\xd3][\x80-\xbf])+|[\xe4-\xe9][\x80-\xbf]{2}")
REPLACE_EVERY = 3  # word shingles are 3 words: each one gets a replaced word


@dataclass(frozen=True, slots=True)
class PageTemplate:
    """A corpus page cut at every third word of its text, and the words it can put there."""

    url: str
    chunks: tuple[bytes, ...]
    vocabulary: tuple[bytes, ...]

    @classmethod
    def of(cls, url: str, html: bytes) -> PageTemplate:
        chunks, vocabulary, last = [], set(), 0
        for start, end in _outside_scripts(html):
            for node in _TEXT_NODE.finditer(html, start, end):
                for k, word in enumerate(_WORD.finditer(node.group(1))):
                    w = word.group()
                    if (w.isalpha() or w[0] >= 0x80) and len(w) >= 3:
                        vocabulary.add(w)
                    if k % REPLACE_EVERY == 0:
                        chunks.append(html[last : node.start(1) + word.start()])
                        last = node.start(1) + word.end()
        chunks.append(html[last:])
        return cls(url, tuple(chunks), tuple(sorted(vocabulary)) or (b"word",))

    def copy(self, number: int) -> bytes:
        words = random.Random(SEED + number).choices(self.vocabulary, k=len(self.chunks) - 1)
        parts: list[bytes] = [b""] * (2 * len(self.chunks) - 1)
        parts[0::2], parts[1::2] = self.chunks, words
        return b"".join(parts)


def _outside_scripts(html: bytes) -> Iterator[tuple[int, int]]:
    position = 0
    for block in _SKIP.finditer(html):
        yield position, block.start()
        position = block.end()
    yield position, len(html)


def load_templates(pages: str = "mixed", root: Path = CORPUS) -> list[PageTemplate]:
    """`mixed`: corpus pages and topic pages (bench/topic_pages.py) in turn, page 2k a corpus
    page and page 2k + 1 a page about a watchlist topic, each list cycled; `corpus`: the
    corpus pages alone (issue 19's own workload, and the bench's before session 9)."""
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    corpus = [
        PageTemplate.of(rec.get("url") or f"https://corpus.example/{rec['id']}", _read(root, rec))
        for rec in index
    ]
    if pages == "corpus":
        return corpus
    topics = [PageTemplate.of(url, html) for url, html in topic_pages()]
    pairs = max(len(corpus), len(topics))
    return [t for k in range(pairs) for t in (corpus[k % len(corpus)], topics[k % len(topics)])]


def _read(root: Path, rec: dict[str, Any]) -> bytes:
    return gzip.decompress((root / rec["file"]).read_bytes())


def page_body(templates: Sequence[PageTemplate], number: int) -> bytes:
    return templates[number % len(templates)].copy(number)


def feed_count(n: int) -> int:
    return max(10, min(MAX_FEEDS, n // ITEMS_PER_FEED))


def page_path(number: int) -> str:
    return f"/articles/{number:06d}.html"


def feed_path(feed: int) -> str:
    return f"/feeds/{feed:04d}.xml"


def feed_pages(n: int, feed: int) -> range:
    """The page numbers feed `feed` lists: an even share of the N."""
    feeds = feed_count(n)
    return range(feed * n // feeds, (feed + 1) * n // feeds)


def feed_body(n: int, feed: int, page_url: Callable[[int], str], now: datetime) -> bytes:
    items = []
    for number in feed_pages(n, feed):
        url = page_url(number)
        when = format_datetime(now - timedelta(seconds=5 * number), usegmt=True)
        items.append(
            f"<item><title>Bench article {number}</title><link>{url}</link>"
            f"<guid>{url}</guid><pubDate>{when}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {feed}</title><link>http://bench.example/{feed}</link>"
        f"<description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


# --- the servers (in a child process) ----------------------------------------------------------


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


NOT_FOUND = _response("404 Not Found", b"not found\n", "text/plain")


async def _answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, responses: dict[bytes, bytes]
) -> None:
    """Answer GETs on one kept-alive connection with the ready-made responses."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].split(b"?", 1)[0]
            writer.write(responses.get(target, NOT_FOUND))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


async def _run_servers(conn: Connection, n: int, pages: str) -> None:
    """Build the pages and feeds, serve them from HOSTS loopback hosts, tell the parent where,
    serve until it says stop. One asyncio loop with ready-made responses keeps the servers'
    CPU time small (~0.1 ms a request): it shares the machine with what is measured."""
    responses: list[dict[bytes, bytes]] = [{} for _ in range(HOSTS)]
    servers = [
        await asyncio.start_server(
            lambda r, w, h=h: _answer(r, w, responses[h]), f"127.0.0.{h + 2}", 0
        )
        for h in range(HOSTS)
    ]
    hosts = [f"127.0.0.{h + 2}:{s.sockets[0].getsockname()[1]}" for h, s in enumerate(servers)]

    def page_url(number: int) -> str:
        return f"http://{hosts[number % HOSTS]}{page_path(number)}"

    templates = load_templates(pages)
    for number in range(n):
        html = page_body(templates, number)
        responses[number % HOSTS][page_path(number).encode()] = _response(
            "200 OK", html, "text/html"
        )
    now = datetime.now(UTC)
    feeds = []
    for feed in range(feed_count(n)):
        body = feed_body(n, feed, page_url, now)
        responses[feed % HOSTS][feed_path(feed).encode()] = _response(
            "200 OK", body, "application/rss+xml"
        )
        feeds.append(f"http://{hosts[feed % HOSTS]}{feed_path(feed)}")
    size = sum(len(r) for host in responses for r in host.values())
    conn.send({"hosts": hosts, "feeds": feeds, "bytes": size})
    stop = asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
    await stop
    for server in servers:
        server.close()


def _serve(conn: Connection, n: int, pages: str) -> None:
    asyncio.run(_run_servers(conn, n, pages))


@dataclass(slots=True)
class Servers:
    pid: int
    hosts: list[str]
    feeds: list[str]
    bytes: int

    def cpu_s(self) -> float:
        return cpu_of(self.pid)


@contextmanager
def bench_servers(n: int, pages: str = "mixed") -> Iterator[Servers]:
    with child_server(_serve, n, pages) as (_conn, info, pid):
        yield Servers(pid, info["hosts"], info["feeds"], info["bytes"])


# --- one run ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    """One run: `pages` in, `articles` stored (or extracted), wall and CPU seconds, peak RSS
    (summed over the tree) and peak proportional set size (0 when not sampled)."""

    name: str
    pages: int
    articles: int
    wall_s: float
    cpu_s: float
    peak_rss: int = 0
    server_cpu_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    peak_pss: int = 0

    @property
    def rate(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0

    @property
    def key(self) -> str:
        return self.name.split()[0]


def _reap_orphans(keep: set[int], deadline_s: float = 30.0) -> None:
    """Wait for the processes a run left behind (re-parented to us, the subreaper), so their
    CPU time is counted; `keep` are our own children that stay (the servers)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        left = [p for p in children_of().get(os.getpid(), []) if p not in keep]
        if not left:
            return
        for pid in left:
            with suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)


# --- (a), (e) extraction alone and (b) the naive loop, in child processes-------------------------

_PAGES: list[tuple[str, bytes]] = []


def _extract_newswatch(i: int) -> int:
    from extractors.articles import extract_article
    from newswatch.errors import ExtractionError

    url, html = _PAGES[i]
    try:
        return len(extract_article(html, url).text)
    except ExtractionError:
        return -1


def _extract_trafilatura(i: int) -> int:
    import trafilatura

    url, html = _PAGES[i]
    text = trafilatura.extract(html, url=url)
    return len(text) if text else -1


def _ceiling(conn: Connection, n: int, which: str, pages: str) -> None:
    """(a) / (e): extraction alone, pages in memory, one worker per core."""
    import trafilatura  # noqa: F401  (imported before forking, as a warm pool would have it)

    import extractors.articles  # noqa: F401

    templates = load_templates(pages)
    _PAGES.extend((t.url, page_body(templates, i)) for i, t in _numbered(templates, n))
    work = _extract_newswatch if which == "newswatch" else _extract_trafilatura
    work(0)  # lazy set-up (models, caches) happens once, before the workers fork
    started, cpu = time.perf_counter(), own_cpu()
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        sizes = list(pool.imap_unordered(work, range(n), chunksize=4))
        pool.close()
        pool.join()
    conn.send(
        {
            "wall": time.perf_counter() - started,
            "cpu": own_cpu() - cpu,
            "articles": sum(s > 0 for s in sizes),
        }
    )


def _numbered(templates: Sequence[PageTemplate], n: int) -> Iterator[tuple[int, PageTemplate]]:
    return ((i, templates[i % len(templates)]) for i in range(n))


def _keywords() -> list[tuple[str, list[str]]]:
    from extractors.topics import load_watchlist

    wl = load_watchlist(WATCHLIST)
    return [
        (
            topic,
            sorted(
                {
                    a.rstrip("*").lower()
                    for aliases in wl.topic(topic).aliases.values()
                    for a in aliases
                }
            ),
        )
        for topic in wl.topics
    ]


def _naive(conn: Connection, feeds: list[str], db: str) -> None:
    """(b): one feed, then one page at a time through one keep-alive `httpx.Client` (a bare
    `httpx.get` builds a client and a TLS context per request, ~16 ms, which no loop needs);
    one INSERT per article."""
    import duckdb
    import feedparser
    import httpx
    import trafilatura

    keywords = _keywords()
    started, cpu = time.perf_counter(), own_cpu()
    con = duckdb.connect(db)
    con.execute(
        "CREATE TABLE articles (url VARCHAR PRIMARY KEY, title VARCHAR, text VARCHAR,"
        " topics VARCHAR, fetched_at TIMESTAMPTZ)"
    )
    pages = articles = 0
    with httpx.Client(trust_env=False, timeout=20) as client:
        get = client.get
        for feed_url in feeds:
            feed = feedparser.parse(get(feed_url).content)
            for entry in feed.entries:
                html = get(entry.link).content
                pages += 1
                text = trafilatura.extract(html, url=entry.link)
                if not text:
                    continue
                lowered = text.lower()
                topics = [t for t, words in keywords if any(w in lowered for w in words)]
                con.execute(
                    "INSERT INTO articles VALUES (?, ?, ?, ?, ?)",
                    [entry.link, entry.get("title", ""), text, ",".join(topics), datetime.now(UTC)],
                )
                articles += 1
    con.close()
    conn.send(
        {
            "wall": time.perf_counter() - started,
            "cpu": own_cpu() - cpu,
            "articles": articles,
            "pages": pages,
        }
    )


def run_child(
    name: str, target: Callable[..., None], args: tuple, n: int, servers: Servers
) -> Result:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args))
    process.start()
    assert process.pid is not None
    sampler = TreeSampler(process.pid)
    server_cpu = servers.cpu_s()
    try:
        report = parent.recv()
    finally:
        process.join()
        peak = sampler.stop()
    return Result(
        name,
        report.get("pages", n),
        report["articles"],
        report["wall"],
        report["cpu"],
        peak,
        servers.cpu_s() - server_cpu,
    )


# --- (t) trafilatura's command line ------------------------------------------------------------


def run_trafilatura_cli(n: int, servers: Servers, tmp: Path) -> Result:
    """`trafilatura --parallel <cores>` over the N page URLs, no delay, loopback allowed."""
    import trafilatura

    urls, out, config = tmp / "urls.txt", tmp / "trafilatura-out", tmp / "trafilatura.cfg"
    urls.write_text(
        "".join(f"http://{servers.hosts[i % HOSTS]}{page_path(i)}\n" for i in range(n)),
        encoding="utf-8",
    )
    defaults = (Path(trafilatura.__file__).parent / "settings.cfg").read_text(encoding="utf-8")
    changed = re.sub(r"(?m)^SLEEP_TIME = .*$", "SLEEP_TIME = 0", defaults)
    config.write_text(re.sub(r"(?m)^SSRF_PROTECTION = .*$", "SSRF_PROTECTION = off", changed))
    cores = str(os.cpu_count() or 1)
    command = [str(Path(sys.executable).with_name("trafilatura")), "--parallel", cores]
    command += ["-i", str(urls), "-o", str(out), "--config-file", str(config)]
    cpu_before, server_cpu = children_cpu(), servers.cpu_s()
    started = time.perf_counter()
    log = (tmp / "trafilatura.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    sampler = TreeSampler(process.pid)
    code = process.wait()
    wall, peak = time.perf_counter() - started, sampler.stop()
    log.close()
    written = sum(1 for path in out.rglob("*") if path.is_file()) if out.is_dir() else 0
    notes = [f"exit code {code}; " + " ".join(command[1:4]) + " --config-file (sleep 0)"]
    if written == 0:
        tail = (tmp / "trafilatura.log").read_text(errors="replace")[-1500:]
        notes.append(f"wrote nothing; its log ends: {tail!r}")
    return Result(
        f"t trafilatura CLI, --parallel {cores}",
        n,
        written,
        wall,
        children_cpu() - cpu_before,
        peak,
        servers.cpu_s() - server_cpu,
        notes,
    )


# --- (c) newswatch ingest ----------------------------------------------------------------------


def write_feeds_file(path: Path, feeds: Sequence[str]) -> None:
    lines = ["sources:"]
    for i, url in enumerate(feeds):
        lines += [
            f'  - name: "Bench feed {i:04d}"',
            "    kind: rss",
            f"    url: {url}",
            "    language: en",
            "    country: US",
            f'    outlet: "Bench outlet {i % 97}"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# Settings of the user's environment that ingest's runs take (README, "How memory grows"):
# the number of workers, and whether the warehouse file is held open between steps.
PASSED_SETTINGS = ("NEWSWATCH_EXTRACT_WORKERS", "NEWSWATCH_HOLD_WAREHOUSE")


def passed_settings() -> dict[str, str]:
    return {name: os.environ[name] for name in PASSED_SETTINGS if name in os.environ}


def run_newswatch(
    n: int,
    servers: Servers,
    tmp: Path,
    py_spy: str | None,
    verbose: bool = False,
    link_events: bool = True,
) -> Result:
    feeds_file = tmp / "feeds.yaml"
    write_feeds_file(feeds_file, servers.feeds)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "PREFECT_"))}
    env |= passed_settings()
    # A closed port: the hand-run command must not reach for a Prefect server.
    env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"
    env["NEWSWATCH_LINK_EVENTS"] = "true" if link_events else "false"
    key = "c" if link_events else "d"
    name = "c newswatch ingest" if link_events else "d newswatch ingest, no event linking"
    # The search index is timed once, after c (d's database would give the same figure).
    return _run_ingest(name, n, servers, feeds_file, tmp / key, env, py_spy, verbose, link_events)


def _run_ingest(
    name: str,
    n: int,
    servers: Servers,
    feeds_file: Path,
    tmp: Path,
    env: dict[str, str],
    py_spy: str | None,
    verbose: bool,
    index_after: bool,
) -> Result:
    db = tmp / "data" / "newswatch.duckdb"
    env = env | {
        "NEWSWATCH_ALLOWED_HOSTS": ",".join(servers.hosts),
        "NEWSWATCH_PER_HOST_DELAY": "0",
        "NEWSWATCH_RESPECT_ROBOTS": "false",
    }
    command = [
        str(Path(sys.executable).with_name("newswatch")),
        "ingest",
        "--all-sources",
        "--feeds",
        str(feeds_file),
        "--watchlist",
        str(WATCHLIST),
        "--db",
        str(db),
    ]
    if py_spy:
        command = [
            "py-spy",
            "record",
            "--gil",
            "--rate",
            "50",
            "--format",
            "raw" if py_spy.endswith(".txt") else "flamegraph",
            "-o",
            py_spy,
            "--",
            *command,
        ]
    tmp.mkdir(parents=True, exist_ok=True)
    log = (tmp / "ingest.log").open("wb")
    cpu_before, server_cpu = children_cpu(), servers.cpu_s()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env | {"PYTHONUNBUFFERED": "1"} if verbose else env,
        stdout=subprocess.PIPE if verbose else log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    stamping = _stamp_lines(process, log, started) if verbose else None
    sampler = TreeSampler(process.pid)
    code = process.wait()
    wall = time.perf_counter() - started
    if stamping is not None:
        stamping.join()
    peak = sampler.stop()
    _reap_orphans({servers.pid})
    cpu = children_cpu() - cpu_before
    roles = sampler.cpu_by_role()
    log.close()
    output = (tmp / "ingest.log").read_text(encoding="utf-8", errors="replace")
    if code != 0:
        raise RuntimeError(f"newswatch ingest failed ({code}):\n{output[-3000:]}")
    articles, notes = _stored(db)
    lines = [_STAMP.sub("", line) if verbose else line for line in output.splitlines()]
    summary = [line for line in lines if line.startswith("ingest ")]
    if index_after:
        notes.append(_index_after(db, env))
    ranked = sorted(roles.items(), key=lambda kv: -kv[1])
    notes.append("CPU s by process (sampled): " + ", ".join(f"{r} {s:.1f}" for r, s in ranked))
    at_peak = sorted(sampler.peak_by_role.items(), key=lambda kv: -kv[1])
    notes.append(
        "RSS MB at the peak: "
        + ", ".join(f"{r} {b / 2**20:,.0f}" for r, b in at_peak)
        + f"; proportional set size then {sampler.peak_pss / 2**20:,.0f}"
    )
    by_role = sorted(sampler.max_pss_by_role.items(), key=lambda kv: -kv[1])
    notes.append(
        f"PSS MB at its peak ({sampler.max_pss / 2**20:,.0f}, shared pages counted once): "
        + ", ".join(f"{r} {b / 2**20:,.0f}" for r, b in by_role)
    )
    if verbose:
        print(output)
    return Result(
        name,
        n,
        articles,
        wall,
        cpu,
        peak,
        servers.cpu_s() - server_cpu,
        summary + notes,
        sampler.max_pss,
    )


_STAMP = re.compile(r"^ *\d+\.\d\d  ")  # what `_stamp_lines` puts before a line


def _stamp_lines(process: subprocess.Popen[bytes], log: Any, started: float) -> threading.Thread:
    """Copy the command's output to `log`, each line after the seconds since `started` (when
    each stage of the run happened: `--verbose` only, as the pipe costs a little)."""

    def copy() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(f"{time.perf_counter() - started:7.2f}  ".encode() + line)

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def _index_after(db: Path, env: dict[str, str]) -> str:
    """Run `newswatch index` on c's database (what the search-index deployment does after
    each ingest); its time is reported, not counted in c's."""
    command = [str(Path(sys.executable).with_name("newswatch")), "index", "--db", str(db)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"newswatch index failed:\n{done.stdout}{done.stderr}")
    built = "; ".join(done.stdout.split("\n")[:2]).strip()
    return f"then `newswatch index` (not in c's time): {wall:.1f} s wall ({built})"


def _stored(db: Path) -> tuple[int, list[str]]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        failed = con.execute(
            "SELECT last_error_kind, count(*) FROM entries WHERE status = 'failed' GROUP BY ALL"
        ).fetchall()
        pending = con.execute("SELECT count(*) FROM entries WHERE status = 'pending'").fetchone()[0]  # type: ignore[index]
        # What event linking had to do: the articles it embedded and compared (those about a
        # watchlist topic, bench/topic_pages.py), and how many events they made.
        embedded, events = con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM event_links WHERE embedder <> 'none'"
        ).fetchone()  # type: ignore[misc]
    notes = [
        f"failed pages: {dict(failed) or 'none'}, still pending: {pending}",
        f"event linking embedded {embedded:,} of {articles:,} articles, in {events:,} events",
    ]
    return int(articles), notes


# --- the run -----------------------------------------------------------------------------------


RUNS = "a,b,t,c,d,e"


def bench(n: int, only: set[str], pages: str, py_spy: str | None, verbose: bool) -> bool:
    results: list[Result] = []
    with (
        bench_servers(n, pages) as servers,
        tempfile.TemporaryDirectory(prefix="nw-pipeline-") as tmp,
    ):
        print(
            f"\nN = {n:,}: {n:,} {pages} pages ({servers.bytes / 1e6:,.0f} MB served) in "
            f"{len(servers.feeds)} feeds on {HOSTS} loopback hosts; {os.cpu_count()} cores"
        )
        if passed := passed_settings():
            print("ingest runs with " + ", ".join(f"{k}={v}" for k, v in passed.items()))
        if "a" in only:
            name = "a trafilatura.extract, all cores"
            results.append(run_child(name, _ceiling, (n, "trafilatura", pages), n, servers))
        if "b" in only:
            args = (servers.feeds, str(Path(tmp) / "naive.duckdb"))
            results.append(run_child("b naive loop, one client", _naive, args, n, servers))
        if "t" in only:
            results.append(run_trafilatura_cli(n, servers, Path(tmp)))
        if "c" in only:
            results.append(run_newswatch(n, servers, Path(tmp), py_spy, verbose))
        if "d" in only:
            results.append(run_newswatch(n, servers, Path(tmp), None, verbose, False))
        if "e" in only:
            name = "e extract_article, all cores"
            results.append(run_child(name, _ceiling, (n, "newswatch", pages), n, servers))
    print_runs(results)
    return final_table(f"bench/pipeline.py, N = {n:,}", targets(n, results), baselines(results))


def print_runs(results: Sequence[Result]) -> None:
    header = (
        "run",
        "pages",
        "articles",
        "wall s",
        "articles/s",
        "CPU ms/article",
        "peak MB",
        "PSS MB",
        "server CPU ms/article",
    )
    rows = [header] + [
        (
            r.name,
            f"{r.pages:,}",
            f"{r.articles:,}",
            f"{r.wall_s:.1f}",
            f"{r.rate:.1f}",
            f"{1000 * r.cpu_s / r.pages:.1f}",
            mb(r.peak_rss),
            mb(r.peak_pss) if r.peak_pss else "-",
            f"{1000 * r.server_cpu_s / r.pages:.2f}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for r in results:
        for note in r.notes:
            print(f"  {r.key}: {note}")


def targets(n: int, results: Sequence[Result]) -> list[Target]:
    """Issue 19's targets; a contender not run leaves its line n/a."""
    by = {r.key: r for r in results}
    c = by.get("c")

    def versus(key: str) -> float | None:
        other = by.get(key)
        return ratio(c.rate if c else None, other.rate if other else None)

    floor = 0.80 if n >= 10_000 else 0.65
    lines = [
        at_least("ingest / plain trafilatura.extract on all cores (c/a)", versus("a"), floor),
        at_least("ingest / naive loop with one client (c/b)", versus("b"), 2.5),
        at_least("ingest / trafilatura CLI (c/t)", versus("t"), 2.0),
        below(
            "peak memory (PSS) of the ingest process tree, MB",
            c.peak_pss / 2**20 if c else None,
            MEMORY_LIMIT / 2**20,
            "{:,.0f}",
        ),
    ]
    d = by.get("d")
    lines.append(
        at_most(
            "event linking's cost: ingest wall time with / without (c/d, issue 17)",
            ratio(d.rate if d else None, c.rate if c else None),
            1.20,
        )
    )
    # For reference, plain trafilatura on all cores against the same two: what c/b and c/t
    # would be at a's speed (a bound on them until session 21, when c's extraction became
    # cheaper than plain trafilatura's and c overtook a).
    a = by.get("a")
    for key, label in (("b", "naive loop"), ("t", "trafilatura CLI")):
        other = by.get(key)
        if a and other:
            shown = f"{a.rate / other.rate:.2f}"
            lines.append(Target(f"plain trafilatura a / {label} ({key})", shown, "-", None, True))
    if "e" in by and c:
        e = by["e"]
        shown = f"{c.rate / e.rate:.2f}"
        lines.append(Target("ingest / extract_article on all cores (c/e)", shown, "-", None, True))
    return lines


def baselines(results: Sequence[Result]) -> list[str]:
    return [f"{r.key}: {r.name[2:]}: {r.rate:.1f} articles/s" for r in results]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_sizes(parser, "--n", [1000, 10000], "page counts")
    parser.add_argument("--only", default=RUNS, help=f"which runs (default all: {RUNS})")
    parser.add_argument(
        "--py-spy",
        help="profile c with py-spy into this file (.svg flame graph, .txt folded stacks)",
    )
    parser.add_argument(
        "--pages",
        choices=("mixed", "corpus"),
        default="mixed",
        help="mixed (default): corpus pages and pages about the topics in turn; corpus: the "
        "corpus pages alone, issue 19's workload, on which event linking has nothing to do",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print the ingest log, seconds since start first"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if corpus_missing(CORPUS / "index.json"):
        return 0
    if args.py_spy and not shutil.which("py-spy"):
        print("--py-spy needs py-spy on PATH: .venv/bin/pip install py-spy")
        return 1
    # Processes a run leaves behind (forkservers) come back to us, so their
    # CPU time is counted.
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    print(machine())
    only = set(args.only.split(","))
    passed = [bench(n, only, args.pages, args.py_spy, args.verbose) for n in args.n]
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
