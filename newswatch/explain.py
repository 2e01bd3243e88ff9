"""What `newswatch explain ARTICLE_ID` prints: why an article is tagged as it is.

The score parts are not stored, so the article is tagged again with the current watchlist and
shown in full (parts, weights, spans, snippets), next to what the warehouse holds for it, with
a note when that came from another watchlist version.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractors.topics import Watchlist


def render_explanation(
    console: Console, wl: Watchlist, article: dict[str, Any], stored: list[dict[str, Any]]
) -> None:
    """Print the article's header, its stored matches and the current explanation."""
    when = article["published"].strftime("%Y-%m-%d") if article["published"] else "no date"
    console.print(
        f"[bold]{escape(article['title'] or '(no title)')}[/bold]\n"
        f"article {article['id']} · {escape(article['outlet'] or '')} · "
        f"{article['language'] or '?'} · {when} · {len(article['text'])} chars\n"
        f"{escape(article['canonical_url'] or '')}"
    )
    _print_stored(console, wl, article, stored)
    args = (article["title"], article["text"], article["language"], article.get("country"))
    explained = wl.explain(*args)
    matches = {m.topic: m for m in wl.tag(*args)}
    console.print(
        f"\nUnder the current watchlist {wl.version}: "
        + (", ".join(f"{t} {m.relevance} {m.score:.3f}" for t, m in matches.items()) or "no topic")
    )
    for topic, parts in explained.items():
        match = matches[topic]
        console.print(
            f"\n[bold]{topic}[/bold] ({escape(wl.name(topic))}): {match.relevance}, "
            f"score {match.score:.3f} (about from {wl.weights.threshold:.2f})"
        )
        console.print(_parts_table(parts, wl.weights.weights))
        console.print(
            f"{parts['title_matches']:.0f} title and {parts['text_matches']:.0f} text matches, "
            f"{parts['strong_matches']:.0f} of them through aliases that are not weak"
        )
        console.print(_evidence_table(match, parts))


def _print_stored(
    console: Console, wl: Watchlist, article: dict[str, Any], stored: list[dict[str, Any]]
) -> None:
    version = article.get("watchlist_version")
    if version is None and stored:
        version = stored[0]["watchlist_version"]
    summary = ", ".join(f"{m['topic']} {m['relevance']} {m['score']:.3f}" for m in stored)
    if version is None:
        note = "never tagged"
    elif version == wl.version:
        note = f"tagged with watchlist {version}, the current one"
    else:
        note = f"tagged with watchlist {version}, not the current {wl.version}: `newswatch retag`"
    console.print(f"Stored: {summary or 'no topic'} ({note})")


def _parts_table(parts: dict[str, float], weights: dict[str, float]) -> Table:
    table = Table("part", "value", "weight", show_edge=False)
    for part, weight in weights.items():
        value = parts[part]
        shown = "n/a" if value < 0 else f"{value:.3f}"  # a text too short to have parts
        table.add_row(part, shown, f"{weight:.2f}")
    return table


def _evidence_table(match: Any, parts: dict[str, float]) -> Table:
    table = Table("field", "start", "end", "matched", "alias or rule", "snippet", show_edge=False)
    for e in match.evidence:
        table.add_row(
            e.field, str(e.start), str(e.end), escape(e.matched), escape(e.alias), escape(e.snippet)
        )
    shown = len(match.evidence)
    total = int(parts["title_matches"] + parts["text_matches"])
    if shown < total:
        table.caption = f"the first {shown} of {total} matches"
    return table
