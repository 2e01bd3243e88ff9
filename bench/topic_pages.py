"""Pages about the watchlist's topics for bench/pipeline.py, built from real dated news text.

The corpus pages of `../shared/corpus/pages/` are general news: one in 155 is about a watchlist
topic, so an ingest of them embeds and links almost nothing, and "ingest with event linking
against without" measured nothing (session 9 found 26 of 9,872 articles embedded at
N = 10,000). A monitor's feeds are chosen for its topics; so half of the bench's pages are
these: every post of `../shared/corpus/multilingual/telegram_ru/` that names a topic's
country in its first 300 characters (Russian, ~940) and every item of `cctv_zh/` whose
headline names one (Chinese, ~240), each put in a plain article page (a header with a few
links, the headline, the text in paragraphs, a footer). Whether one is tagged `about` is the
tagger's call; bench/pipeline.py prints how many articles were embedded.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

MULTILINGUAL = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "multilingual"
_RU = re.compile(r"Украин|украин|Киев|Зеленск|Иран|Тегеран|Венесуэл|Мадуро|Тайван")
_ZH = re.compile(r"乌克兰|伊朗|台湾|委内瑞拉")
MIN_CHARS = 200


def topic_pages(root: Path = MULTILINGUAL) -> list[tuple[str, bytes]]:
    """(url, html) of every topic item, Russian posts then Chinese items, in file order."""
    items = [*_telegram_posts(root / "telegram_ru"), *_cctv_items(root / "cctv_zh")]
    return [(url, _page(title, text, lang)) for url, title, text, lang in items]


def _telegram_posts(folder: Path) -> Iterator[tuple[str, str, str, str]]:
    for path in sorted(folder.glob("*_messages.json")):
        for post in json.loads(path.read_text(encoding="utf-8")):
            raw = (post.get("text") or "").strip()
            if len(raw) < MIN_CHARS or not _RU.search(raw[:300]):
                continue
            first, _, rest = raw.partition("\n")
            title, text = (first.strip(), rest.strip()) if rest.strip() else (raw[:80], raw)
            url = f"https://telegram.example/{path.name.split('_')[0]}/{post['message_id']}"
            yield url, title, text, "ru"


def _cctv_items(folder: Path) -> Iterator[tuple[str, str, str, str]]:
    for path in sorted(folder.glob("*.md")):
        for k, item in enumerate(path.read_text(encoding="utf-8").split("\n### ")[1:]):
            title, _, text = item.partition("\n")
            if len(text.strip()) >= MIN_CHARS // 2 and _ZH.search(title):
                yield f"https://cctv.example/{path.stem}/{k}", title.strip(), text.strip(), "zh"


def _page(title: str, text: str, lang: str) -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    sections = ("world", "politics", "economy")
    nav = "".join(f'<li><a href="/section/{s}">{s}</a></li>' for s in sections)
    page = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>"
        f"<header><nav><ul>{nav}</ul></nav></header>"
        f"<main><article><h1>{html.escape(title)}</h1>{paragraphs}</article></main>"
        '<footer><p>© newswatch bench</p><a href="/about">about</a></footer></body></html>'
    )
    return page.encode("utf-8")
