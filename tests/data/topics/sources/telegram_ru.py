"""Russian Telegram posts (2023-08 .. 2024-12) from ../shared/corpus/multilingual/telegram_ru/.

24 public channels, one JSON list per channel (CC BY 4.0, NKTKLN/telegram-news-classifier).
`read` yields every non-empty post; the labels file picks the items of the development set.
A post is read as newswatch's Telegram reader reads it (`extractors.telegram.post_title`): its
first line, clipped, is its title (channels put the headline there; a one-line post is its
own headline), and the whole post is its text.

How the labelled candidates were chosen (before any labelling, by keyword on the raw text):
every post naming Iran (`Иран|Тегеран|иранск|Хаменеи|Пезешкиан|Раиси`), Venezuela
(`Венесуэл|Каракас|Мадуро`) or Taiwan (`Тайван|Тайбэ`); posts naming Ukraine
(`Украин|Киев|Зеленск|ВСУ|Донбасс`), preferring those that also carry a sport, show, company,
market, food or brand word (`матч|сборн|футбол|хокке|турнир|чемпион|клуб|фильм|сериал|
концерт|Евровидени|певиц|актёр|актер|компани|акци|рынок|нефть|курс|биржа|бренд|ресторан|
борщ|сало`), up to a cap (see CANDIDATES); and a seeded random sample of posts naming none. A
second round (SECOND_ROUND, drawn after the first was labelled, from the posts it left) took
posts naming any topic's country together with a sport, show, company, market or food word,
for more hard negatives. A third round (THIRD_ROUND, helper H16) took every remaining post
naming a topic's country within 100 characters of such a word (and one more game post).
A fifth round (issue 16, helper H16) took 40 posts at random (seed 7) from the unlabelled
posts naming a topic (pattern `(?i)украин|киев|иран|тегеран|венесуэл|тайван`). A sixth round
(issue 16, helper H16c) read every remaining post with a frame word within 60 characters of a
topic's country and every remaining post naming one without a war or state word; the hard
negatives and false friends found were added (the labels file says which search found each).
"""

from __future__ import annotations

import json
import pathlib
import random
import re
from collections.abc import Iterator

from _common import keyword_round

from extractors.telegram import post_title

SOURCE = "telegram_ru"
FOLDER = "corpus/multilingual/telegram_ru"

# Channel name -> ISO 3166 country of the outlet. BBC Russian is the BBC's (GB); the rest are
# Russian channels (news, Moscow city news, tech and science channels).
COUNTRY = {"BBC News | Русская служба": "GB"}

CANDIDATES = [
    ("iran", r"Иран|Тегеран|иранск|Хаменеи|Пезешкиан|Раиси", 90),
    ("venezuela", r"Венесуэл|Каракас|Мадуро", 20),
    ("taiwan", r"Тайван|Тайбэ", 20),
    (
        "ukraine-frame",
        r"(?s)(?=.*(?:Украин|украин|Киев|Зеленск|ВСУ|Донбасс))"
        r"(?=.*(?:матч|сборн|футбол|хокке|турнир|чемпион|клуб|фильм|сериал|концерт|Евровидени|"
        r"певиц|актёр|актер|компани|акци|рынок|нефть|курс|биржа|бренд|ресторан|борщ|сало))",
        45,
    ),
    ("ukraine", r"Украин|украин|Киев|Зеленск|ВСУ|Донбасс", 30),
]
_TOPIC = r"Украин|украин|Киев|Иран|иранск|Тегеран|Венесуэл|Тайван"
SECOND_ROUND = [
    ("sport", r"матч|сборн|футбол|хокке|турнир|чемпион|УЕФА|ФИФА|олимпи|боксер|теннис", 15),
    ("show", r"фильм|сериал|концерт|Евровидени|певиц|певец|актёр|актер|рэпер|шоу", 15),
    ("company", r"компани|акци[ия]|бренд|Wildberries|Ozon|выручк|прибыл", 15),
    ("market", r"нефть|нефти|Brent|курс|биржа|рынок|цен[аы]", 15),
    ("food", r"борщ|сало|ресторан|блюд|кухн|шаурм|\bчай|фисташ|мандарин", 10),
]

THIRD_ROUND = (
    r"\bматч|сборн|футбол|хокке|турнир|чемпион|УЕФА|ФИФА|олимпи|боксер|теннис|фильм|сериал|"
    r"концерт|Евровидени|певиц|певец|актёр|актер|рэпер|шоу|компани|бренд|выручк|прибыл|нефт|"
    r"Brent|курс (?:рубл|доллар|валют)|биржа|рынок|борщ|сало|ресторан|блюд|кухн|выставк|музе|"
    r"фестивал|игры\b"
)


def read(shared: pathlib.Path) -> Iterator[dict]:
    """Every non-empty post of every channel, in file and message order."""
    for path in sorted((shared / FOLDER).glob("*_messages.json")):
        channel_id = path.name.split("_")[0]
        for post in json.loads(path.read_text(encoding="utf-8")):
            raw = (post.get("text") or "").strip()
            if not raw:
                continue
            title, text = post_title(raw), raw
            channel = post.get("channel") or ""
            yield {
                "id": f"{SOURCE}:{channel_id}:{post['message_id']}",
                "title": title,
                "text": text,
                "language": "ru",
                "outlet": channel,
                "country": COUNTRY.get(channel, "RU"),
                "origin": f"shared/{FOLDER}/{path.name}#{post['message_id']}",
                "published": (post.get("date") or "")[:10],
            }


def candidates(shared: pathlib.Path, seed: int = 16, n_random: int = 25) -> list[dict]:
    """The posts shown to the labeller: keyword groups (capped, seeded) plus random others."""
    items = list(read(shared))
    rng = random.Random(seed)
    chosen = keyword_round(items, CANDIDATES, rng, _full)
    anyword = "|".join(p for _, p, _ in CANDIDATES[:3]) + r"|Украин|украин|Киев"
    rest = [i for i in items if i["id"] not in chosen and not re.search(anyword, _full(i))]
    chosen.update((i["id"], i) for i in rng.sample(rest, n_random))
    for _, pattern, cap in SECOND_ROUND:
        hits = [
            i
            for i in items
            if i["id"] not in chosen
            and re.search(pattern, _full(i))
            and re.search(_TOPIC, _full(i))
        ]
        rng.shuffle(hits)
        chosen.update((i["id"], i) for i in hits[:cap])
    return list(chosen.values())


def _full(item: dict) -> str:
    return f"{item['title']}\n{item['text']}"
