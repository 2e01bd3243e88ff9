"""Article pages of ../shared/corpus/pages/ (many languages, 2014-2024), their text extracted
with `extractors.articles.extract_article`; pages with no article text are skipped."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import country_of, cut, outlet_of

from extractors.articles import extract_article
from newswatch.errors import NewswatchError

SOURCE = "corpus_pages"


def read(shared: Path) -> Iterator[dict]:
    pages = shared / "corpus" / "pages"
    for page in json.loads((pages / "index.json").read_text(encoding="utf-8")):
        raw = gzip.decompress((pages / page["file"]).read_bytes())
        try:
            article = extract_article(raw, page.get("url"))
        except NewswatchError:
            continue  # redirect stubs and pages with no text: nothing to tag
        outlet = outlet_of(page.get("url")) or f"unknown ({page['origin']['path']})"
        url = f" {page['url']}" if page.get("url") else ""
        yield {
            "id": f"{SOURCE}:{page['id']}",
            "title": article.title,
            "text": cut(article.text),
            "language": page.get("lang_guess") or article.language or "",
            "outlet": outlet,
            "country": country_of(outlet),
            "origin": f"shared/corpus/pages/{page['file']}{url}",
            "published": article.published.date().isoformat() if article.published else "",
        }
