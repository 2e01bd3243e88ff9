"""The two example articles of ../shared/seeds/ (English, January 2026)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

SOURCE = "seeds"
# The files hold a date line and the text; their headlines and outlet, as published.
TITLES = {
    "000": "The Kremlin media response to the Maduro heist",
    "001": "Russian Military Bloggers Say Venezuela Raid Shows Moscow Must Move Faster In Ukraine",
}


def read(shared: Path) -> Iterator[dict]:
    for path in sorted((shared / "seeds").glob("0*.txt")):
        raw = path.read_text(encoding="utf-8")
        date = re.search(r"date (\d{4}-\d{2}-\d{2})", raw)
        prefix = path.name[:3]
        yield {
            "id": f"{SOURCE}:{prefix}",
            "title": TITLES[prefix],
            "text": re.sub(r"\A\s*date \d{4}-\d{2}-\d{2}\s*", "", raw),
            "language": "en",
            "outlet": f"example article {prefix}",
            "country": "",
            "origin": f"shared/seeds/{path.name}",
            "published": date.group(1) if date else "",
        }
