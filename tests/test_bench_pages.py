"""bench/pipeline.py's workload: half its pages are about the watchlist's topics, so event
linking has work to do (before session 9 it embedded 26 of 9,872 articles), and copies of a
Russian or Chinese page are not copies of each other (CJK pages were served identical)."""

from __future__ import annotations

from pathlib import Path

from extractors.articles import extract_article
from extractors.fingerprints import content_hash
from extractors.topics import load_watchlist
from tests.conftest import REPO, bench_module, shared_file


def test_half_the_bench_pages_are_topic_pages_and_a_third_are_about_a_topic() -> None:
    shared_file("corpus/multilingual/README.md")
    shared_file("corpus/pages/index.json")
    bench = bench_module("pipeline")
    templates = bench.load_templates()
    assert len(bench.load_templates("corpus")) == 155
    watchlist = load_watchlist(Path(REPO / "seeds" / "watchlist.yaml"))
    about, texts = 0, set()
    numbers = range(0, 120)
    for number in numbers:
        template = templates[number % len(templates)]
        article = extract_article(bench.page_body(templates, number), template.url)
        matches = watchlist.tag(article.title or "", article.text, article.language)
        about += any(m.relevance == "about" for m in matches)
        texts.add(content_hash(article.text))
        if number % 2:  # a topic page: Russian or Chinese
            assert template.url.startswith(("https://telegram.example/", "https://cctv.example/"))
    assert 0.25 <= about / len(numbers) <= 0.45  # about a third: linking embeds these
    assert len(texts) == len(numbers)  # no two are copies


def test_copies_of_a_chinese_topic_page_differ() -> None:
    shared_file("corpus/multilingual/README.md")
    shared_file("corpus/pages/index.json")
    bench = bench_module("pipeline")
    templates = bench.load_templates()
    chinese = next(k for k, t in enumerate(templates) if t.url.startswith("https://cctv."))
    first = bench.page_body(templates, chinese)
    again = bench.page_body(templates, chinese + len(templates))  # the same page, next cycle
    assert first != again
    texts = [extract_article(body, templates[chinese].url).text for body in (first, again)]
    assert content_hash(texts[0]) != content_hash(texts[1])
