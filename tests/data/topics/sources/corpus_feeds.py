"""Entries (title + summary) of the real feeds in ../shared/corpus/feeds/real/; the language is
py3langid's guess (feeds rarely say it), the outlet the host of the entries' links."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import py3langid

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import country_of, outlet_of

from extractors.feeds import parse_feed

SOURCE = "corpus_feeds"


def read(shared: Path) -> Iterator[dict]:
    real = shared / "corpus" / "feeds" / "real"
    seen: set[tuple[str, str]] = set()
    for path in sorted(real.rglob("*")):
        if not path.is_file() or path.suffix == ".opml":
            continue
        parsed = parse_feed(path.read_bytes(), "http://feeds.invalid/")
        rel = path.relative_to(real)
        hosts = Counter(outlet_of(e.url) for e in parsed.entries if e.url)
        hosts.pop("feeds.invalid", None)
        outlet = hosts.most_common(1)[0][0] if hosts else f"{parsed.title or rel}"
        for n, entry in enumerate(parsed.entries):
            text = " ".join((entry.summary or "").split())
            title = entry.title.strip()
            if (not title and not text) or (title, text) in seen:
                continue
            seen.add((title, text))
            yield {
                "id": f"{SOURCE}:{re.sub(r'[^a-z0-9]+', '-', str(rel).lower())}-{n}",
                "title": title,
                "text": text,
                "language": py3langid.classify(f"{title} {text}")[0],
                "outlet": outlet,
                "country": country_of(outlet),
                "origin": f"shared/corpus/feeds/real/{rel}#entry{n} {entry.url}".strip(),
                "published": entry.published.date().isoformat() if entry.published else "",
            }
