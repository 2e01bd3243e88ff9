"""The typed records that cross newswatch's boundaries (DESIGN.md, "Records at the boundaries").

They are frozen: a stage builds new records instead of editing old ones, so a record can be
handed to a process pool or a loader without anyone changing it underneath. A stage that can
fail on one item puts the failure on the record (`error_kind`, `error_message`) so one bad item
never stops a batch; the loader stores failures like any other row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors.fingerprints import Fingerprint

SOURCE_KINDS = ("rss", "atom", "jsonfeed", "telegram", "substack", "sitemap")


@dataclass(frozen=True, slots=True)
class Source:
    """A configured feed or channel, as validated from `feeds.yaml`."""

    name: str
    kind: str
    url: str
    language: str
    country: str
    outlet: str
    tags: tuple[str, ...] = ()
    # Bounds of the adaptive poll interval in seconds; None: the settings' defaults.
    min_interval_s: int | None = None
    max_interval_s: int | None = None
    # Kept with its history and never polled (`paused: true` in feeds.yaml).
    paused: bool = False
    # What the fetches for this source need (feeds.yaml): its own User-Agent (None: ours),
    # an extra PEM file of CA certificates to trust, and whether dates come from the
    # article pages ("page") instead of the feed's items ("feed").
    user_agent: str | None = None
    ca_bundle: str | None = None
    dates: str = "feed"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed. `content` is set when the feed carries the whole text itself
    (a Telegram post): such an entry becomes an article without fetching a page."""

    guid: str
    url: str
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    author: str = ""
    content: str | None = None
    views: int | None = None


def unique_entries(entries: Iterable[FeedEntry | None]) -> tuple[FeedEntry, ...]:
    """Drop missing entries and repeated guids, keeping the first of each."""
    seen: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry is not None and entry.guid not in seen:
            seen[entry.guid] = entry
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed body yielded. A broken feed still yields the entries that could be
    recovered, with `error_kind`/`error_message` saying what was wrong."""

    format: str
    title: str = ""
    entries: tuple[FeedEntry, ...] = ()
    error_kind: str | None = None
    error_message: str | None = None
    # Child sitemaps of a sitemap index, for the poller to follow.
    children: tuple[str, ...] = ()
    # How often the feed says it changes (<ttl>, sy:updatePeriod), in seconds.
    ttl_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    """What a sitemap body yielded: a `<urlset>` lists articles (`entries`), a
    `<sitemapindex>` lists other sitemaps (`sitemaps`). `format` says which it was
    ("sitemap" or "sitemapindex"), or "unknown" when the body is neither."""

    format: str
    entries: tuple[FeedEntry, ...] = ()
    sitemaps: tuple[str, ...] = ()
    error_kind: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one HTTP fetch: a body, or an error as data."""

    url: str
    final_url: str
    status: int | None
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    elapsed_ms: float = 0.0
    fetched_at: datetime | None = None
    error_kind: str | None = None
    error_message: str | None = None
    not_modified: bool = False
    # Schedule hints from the server, in seconds: Retry-After (429/503), Cache-Control max-age.
    retry_after_s: float | None = None
    max_age_s: float | None = None
    # Where an unbroken chain of permanent redirects (301/308) led: poll there from now on.
    moved_to: str | None = None
    # The body's length in bytes once the body itself is let go (`without_body`).
    body_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None and not self.not_modified

    @property
    def size(self) -> int:
        """How many bytes the body had, whether or not it is still held."""
        return len(self.body) if self.body_bytes is None else self.body_bytes

    def without_body(self) -> FetchResult:
        """The same fetch without its body (archived and handed on: the fetch log needs only
        its size), so a batch's pages are not held twice while they are extracted."""
        return replace(self, body=b"", body_bytes=self.size)


def poll_result(fetch: FetchResult, parsed: ParsedFeed | None, unchanged: bool = False) -> str:
    """How one poll of a feed ended: not_modified (304), unchanged (the same body as last
    time, not parsed), failed (no body, or a body with no entries and an error), partial
    (entries recovered from a broken feed) or ok."""
    if fetch.not_modified:
        return "not_modified"
    if unchanged:
        return "unchanged"
    if fetch.error_kind or parsed is None or (not parsed.entries and parsed.error_kind):
        return "failed"
    return "partial" if parsed.error_kind else "ok"


def poll_error(fetch: FetchResult, parsed: ParsedFeed | None) -> tuple[str | None, str | None]:
    """The kind and message of what went wrong in a poll: the fetch's, else the parser's."""
    if fetch.error_kind:
        return fetch.error_kind, fetch.error_message
    return (parsed.error_kind, parsed.error_message) if parsed else (None, None)


@dataclass(frozen=True, slots=True)
class Article:
    """The text and metadata extracted from one page (or one self-contained feed entry)."""

    url: str
    canonical_url: str
    title: str
    text: str
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    language: str | None = None
    site_name: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One matched span: which alias matched where, with a short snippet around it."""

    field: str  # "title" or "text"
    start: int
    end: int
    matched: str
    alias: str
    snippet: str


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """An article's relation to one watchlist topic, with the evidence behind the score."""

    topic: str
    relevance: str  # "about" or "mention"
    score: float
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class EntryKey:
    """Which feed entry an article came from."""

    source: str
    guid: str


@dataclass(frozen=True, slots=True)
class ProcessedPage:
    """One page (or self-contained entry) after extraction, fingerprinting and tagging:
    what the loader stores. `entries` are the feed entries that linked to it (two feeds may
    link the same URL). On failure `article` is None and the error says why."""

    entries: tuple[EntryKey, ...]
    source: str
    outlet: str
    fetched_at: datetime
    article: Article | None = None
    content_hash: str = ""
    matches: tuple[TopicMatch, ...] = ()
    signature: bytes | None = None  # MinHash of the text (extractors.fingerprints)
    extractor_version: str = ""
    views: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    # Where the raw page is in the WARC archive (file relative to it, byte offset).
    archive_path: str | None = None
    archive_offset: int | None = None
    # The text's shingles and MinHash, as the worker computed them: the near-duplicate lookup
    # in the parent takes them instead of shingling the text again (None: it does).
    fingerprint: Fingerprint | None = field(default=None, compare=False, repr=False)
    # The embedding event linking asks for (the embedder's name, float32 bytes of the title and
    # lead's vector), computed in the worker for a page about a watchlist topic, so that the
    # parent does not embed on its one core (None: the parent embeds it, if it needs it).
    embedding: tuple[str, bytes] | None = field(default=None, compare=False, repr=False)
