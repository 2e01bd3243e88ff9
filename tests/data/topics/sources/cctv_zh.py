"""CCTV's evening news 新闻联播, 2025-01 .. 2026-08 (zh): ../shared/corpus/multilingual/cctv_zh/,
one Markdown file per day; every `### headline` section is one item, its `[查看原文](url)` link
the item's URL. One outlet (CCTV, China), so the whole source falls in one split. A sixth round
(issue 16, helper H16c) read every remaining item with a frame word within 40 characters of a
topic's name and added the hard negatives found."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

SOURCE = "cctv_zh"
LINK = re.compile(r"\[查看原文\]\((\S+?)\)")


def read(shared: Path) -> Iterator[dict]:
    folder = shared / "corpus" / "multilingual" / "cctv_zh"
    for path in sorted(folder.glob("20*.md")):
        day = f"{path.stem[:4]}-{path.stem[4:6]}-{path.stem[6:]}"
        sections = re.split(r"^### ", path.read_text(encoding="utf-8"), flags=re.M)[1:]
        for k, section in enumerate(sections):
            title, _, body = section.partition("\n")
            link = LINK.search(body)
            text = LINK.sub("", body).replace("**央视网消息**（新闻联播）：", "").strip()
            yield {
                "id": f"{SOURCE}:{path.stem}:{k}",
                "title": title.strip(),
                "text": text,
                "language": "zh",
                "outlet": "CCTV 新闻联播",
                "country": "CN",
                "origin": f"shared/corpus/multilingual/cctv_zh/{path.name}#{k}"
                + (f" {link.group(1)}" if link else ""),
                "published": day,
            }
