"""The `digest` flow: one Markdown file per day, per topic the stories, articles and outlets.

The digest is built in two steps: `build_digest` turns the warehouse rows of a day into a
plain `Digest` record (the content), `render_markdown` writes it out (the form). Output is
deterministic for the same database: rows are sorted on stable keys and no clock is read.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from extractors.topics import Watchlist, load_watchlist
from newswatch.settings import load_settings
from warehouse import queries
from warehouse.db import connect

EVIDENCE_QUOTES = 1


@dataclass(frozen=True, slots=True)
class DigestArticle:
    title: str
    outlet: str
    language: str | None
    url: str
    published: datetime
    score: float
    story_outlets: int
    story_first_outlet: str
    quote: str


@dataclass(frozen=True, slots=True)
class TopicSection:
    topic: str
    name: str
    about: tuple[DigestArticle, ...]
    mentions: tuple[DigestArticle, ...]
    outlets: tuple[tuple[str, int], ...]  # outlet, articles: most first


@dataclass(frozen=True, slots=True)
class Digest:
    day: date
    sections: tuple[TopicSection, ...]

    @property
    def empty(self) -> bool:
        return not any(s.about or s.mentions for s in self.sections)


def build_digest(day: date, rows: list[dict[str, Any]], watchlist: Watchlist) -> Digest:
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_topic[row["topic"]].append(row)
    sections = []
    for topic in watchlist.topics:
        topic_rows = by_topic.get(topic, [])
        about = tuple(_article(r) for r in topic_rows if r["relevance"] == "about")
        mentions = tuple(_article(r) for r in topic_rows if r["relevance"] == "mention")
        outlets = Counter(r["outlet"] for r in topic_rows)
        ranked = tuple(sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0])))
        sections.append(TopicSection(topic, watchlist.name(topic), about, mentions, ranked))
    return Digest(day, tuple(sections))


def _article(row: dict[str, Any]) -> DigestArticle:
    evidence = json.loads(row["evidence"]) if row["evidence"] else []
    # Quote the body where it can: the title is already on the line.
    in_text = [e for e in evidence if e["field"] == "text"]
    quote = (in_text or evidence)[0]["snippet"] if evidence else ""
    return DigestArticle(
        title=row["title"] or "(untitled)",
        outlet=row["outlet"],
        language=row["language"],
        url=row["canonical_url"],
        published=row["published"],
        score=row["score"],
        story_outlets=row["story_outlets"],
        story_first_outlet=row["story_first_outlet"],
        quote=quote,
    )


def render_markdown(digest: Digest) -> str:
    lines = [f"# newswatch digest: {digest.day.isoformat()}", ""]
    if digest.empty:
        lines += ["No watchlist article was published on this day.", ""]
        return "\n".join(lines)
    for section in digest.sections:
        lines += _render_section(section)
    return "\n".join(lines)


def _render_section(section: TopicSection) -> list[str]:
    lines = [f"## {section.name}", ""]
    if not section.about and not section.mentions:
        return [*lines, "Nothing today.", ""]
    if section.about:
        top = section.about[0]
        outlets = f"{top.story_outlets} outlet{'s' if top.story_outlets != 1 else ''}"
        lines += [
            f"Top story: **{_md(top.title)}**, carried by {outlets} "
            f"(first: {_md(top.story_first_outlet)}).",
            "",
            f"### About {section.name} ({len(section.about)})",
            "",
        ]
        lines += [_render_article(a) for a in section.about]
        lines.append("")
    if section.mentions:
        lines += [f"### Also mentioned ({len(section.mentions)})", ""]
        lines += [_render_article(a, quote=False) for a in section.mentions]
        lines.append("")
    outlets = ", ".join(f"{_md(o)} ({n})" for o, n in section.outlets)
    lines += [f"Outlets: {outlets}", ""]
    return lines


def _render_article(a: DigestArticle, *, quote: bool = True) -> str:
    spread = f", {a.story_outlets} outlets" if a.story_outlets > 1 else ""
    line = (
        f"- [{_md(a.title)}]({a.url}): {_md(a.outlet)}, {a.published:%H:%M} UTC"
        f"{f', {a.language}' if a.language else ''}{spread}"
    )
    if quote and a.quote:
        line += f"\n  > {_md(a.quote)}"
    return line


def _md(text: str) -> str:
    """Article text is untrusted: keep it from forming Markdown links, HTML or headings."""
    escaped = text.replace("\\", "\\\\").replace("\n", " ")
    for char in "[]<>*_`#|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def digest_path(out_dir: Path, day: date) -> Path:
    return out_dir / f"{day.isoformat()}.md"


def yesterday() -> date:
    return (datetime.now(UTC) - timedelta(days=1)).date()


@flow(name="digest")
def digest(
    day: str | None = None,
    all_days: bool = False,
    watchlist: str | None = None,
    db: str | None = None,
    out: str | None = None,
) -> list[str]:
    """Write the digest of `day` (default yesterday, UTC), or of every day with articles."""
    settings = load_settings(watchlist=watchlist, db=db)
    out_dir = Path(out) if out else settings.digests_dir
    wl = load_watchlist(settings.watchlist)
    written = []
    with connect(settings.db, read_only=True) as con:
        days = queries.article_days(con) if all_days else [_day(day)]
        for d in days:
            text = render_markdown(build_digest(d, queries.day_articles(con, d), wl))
            path = digest_path(out_dir, d)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(str(path))
    if len(days) == 1:
        create_markdown_artifact(markdown=text, key=f"digest-{days[0].isoformat()}")
    get_run_logger().info("digest written days=%d out=%s", len(written), out_dir)
    return written


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else yesterday()
