"""Persian captions of one Iranian news account on Instagram (2019-08 .. 2020-01).

../shared/corpus/multilingual/persian_instagram/khabar_fouri.json (GPL-3.0, from
MohammadHeydari/Persian-News-Agencies-on-Instagram-Dataset): the account `khabar_fouri`
("خبرهای فوری و مهم", bio: "the most urgent news of Iran and the world"), ~900 posts with a
caption, a date and a post URL. It is an Iranian outlet (country IR): under issue 16's
home-country rule its items on Iran's government, Majlis, courts, ministries, prices and rial
are about Iran even when they do not name it. `read` yields every post with a caption; the
title is the caption's first line of words (after the leading emoji line), the text the rest.
The id is the post's shortcode from its URL.

How the labelled candidates were chosen (before any labelling, by keyword on the caption, in
this order, each group capped and shuffled with a fixed seed; see CANDIDATES): every caption
naming Ukraine, Venezuela or Taiwan; captions with sport words; with show/film/music words;
with company, market, currency or price words; naming Iran or Tehran; naming the president,
Majlis, Guardian Council, IRGC, judiciary, ministers or the Leader; and a random sample of
the rest. A second round (SECOND_ROUND, drawn after the first was labelled) took every
remaining caption naming Iran with an oil, stock, gold or "world" word, for market and sport
hard negatives. A third round (THIRD_ROUND, helper H16, drawn from what the first two left)
took every remaining caption naming Iran, Tehran, Iranians or the national team together with
a sport, show, company, advertising, market or car word. A fifth round (issue 16, helper H16)
took 60 captions at random from what the first three left, no keyword
(`build_devset.py --candidates persian_instagram --others 60 --seed 5`). A sixth round (issue
16, helper H16c) read every remaining caption; the hard negatives found (Iran's clubs,
athletes, actors, hosts and advertisers) and six frame items about Iran were added.
"""

from __future__ import annotations

import json
import pathlib
import random
import re
from collections.abc import Iterator

from _common import keyword_round

SOURCE = "persian_instagram"
PATH = "corpus/multilingual/persian_instagram/khabar_fouri.json"

CANDIDATES = [
    ("others", r"اوکراین|ونزوئلا|مادورو|کاراکاس|تایوان|تایپه", 40),
    ("sport", r"ورزشی|فوتبال|پرسپولیس|استقلال|تیم ملی|لیگ|والیبال|کشتی|فیفا|سرمربی", 40),
    ("show", r"سینما|بازیگر|خواننده|فیلم|سریال|کنسرت|جشنواره|هنرمند|موسیقی|تلویزیون", 30),
    ("economy", r"شرکت|بورس|سهام|دلار|یورو|سکه|طلا|قیمت|نفت|بنزین|خودرو|ارز|بانک", 35),
    ("iran", r"ایران|تهران", 35),
    (
        "state",
        r"روحانی|مجلس|شورای نگهبان|سپاه|قوه قضاییه|رئیسی|وزیر|وزارت|رهبر|خامنه|"
        r"لاریجانی|ظریف|جهانگیری|نماینده",
        35,
    ),
]


SECOND_ROUND = [("markets", r"(?s)(?=.*ایران)(?=.*(?:نفت|بورس|جهانی|برنت|اوپک|سهام|طلا))")]
THIRD_ROUND = (
    r"(?s)(?=.*(?:ایران|تهران|تیم ملی|ایرانی))(?=.*(?:فوتبال|تیم|باشگاه|لیگ|جام|قهرمان|کشتی|"
    r"والیبال|پرسپولیس|استقلال|سینما|فیلم|بازیگر|خواننده|کنسرت|شرکت|بورس|سهام|نفت|طلا|مسابق|"
    r"المپیک|سریال|پیج|فالو|برند|خودرو|غذا|رستوران|موسیقی|هنرمند|ستاره))"
)


def read(shared: pathlib.Path) -> Iterator[dict]:
    """Every post with a non-empty caption, in file order."""
    account = json.loads((shared / PATH).read_text(encoding="utf-8"))
    for index, post in enumerate(account["posts"]):
        caption = (post.get("caption") or "").strip()
        if not caption:
            continue
        url = post.get("url") or ""
        code = url.rstrip("/").rsplit("/", 1)[-1] if url else str(index)
        title, text = _split(caption)
        yield {
            "id": f"{SOURCE}:{code}",
            "title": title,
            "text": text,
            "language": "fa",
            "outlet": account.get("username") or "khabar_fouri",
            "country": "IR",
            "origin": f"shared/{PATH}#posts[{index}] {url}".strip(),
            "published": (post.get("date") or "")[:10],
        }


def _split(caption: str) -> tuple[str, str]:
    """First line with letters is the title; the rest (from the next line) is the text."""
    lines = caption.split("\n")
    for n, line in enumerate(lines):
        if re.search(r"\w{2}", line):
            return line.strip(" .#"), "\n".join(lines[n + 1 :]).strip()
    return "", caption


def candidates(shared: pathlib.Path, seed: int = 16, n_random: int = 30) -> list[dict]:
    """The posts shown to the labeller: keyword groups (capped, seeded) plus random others."""
    items = list(read(shared))
    rng = random.Random(seed)
    chosen = keyword_round(items, CANDIDATES, rng, _full)
    rest = [i for i in items if i["id"] not in chosen]
    chosen.update((i["id"], i) for i in rng.sample(rest, n_random))
    for _, pattern in SECOND_ROUND:
        chosen.update(
            (i["id"], i) for i in items if i["id"] not in chosen and re.search(pattern, _full(i))
        )
    chosen.update(
        (i["id"], i) for i in items if i["id"] not in chosen and re.search(THIRD_ROUND, _full(i))
    )
    return list(chosen.values())


def _full(item: dict) -> str:
    return f"{item['title']}\n{item['text']}"
