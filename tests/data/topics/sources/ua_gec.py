"""Ukrainian texts of UA-GEC 2.1.3 (PyPI package `ua-gec`, CC BY 4.0), read where pip put them.

UA-GEC is a grammatical-error-correction corpus: essays, posts, letters and translations
written by ~500 Ukrainians, each with its corrected version. `read` yields the corrected
(target) side of every document, first annotator (`*.a1.txt` under `data/gec-fluency/`), with
the document's metadata (`data/metadata.csv`). The author is the split unit (`outlet`); the
country is UA for texts the author wrote (essays, text donations) and "" for translations,
whose original is someone else's (mostly Russian or English). The first line is the title
when it is short (under 150 characters), as in most essays; otherwise the title is "".

How the labelled candidates were chosen (before any labelling, by keyword on the text, in this
order, each group capped and shuffled with a fixed seed; see CANDIDATES): every text naming
Iran, Taiwan or Venezuela; texts on Ukraine's state (Rada, president, government, ministers,
elections, hryvnia, war); texts with sport, show, company/brand or food/culture words that
also name Ukraine, Kyiv or another Ukrainian place; texts naming Ukraine or Kyiv; and a random
sample of the rest. A second round (SECOND_ROUND, drawn after the first was labelled, from what
the first left) added every remaining text with a sport word that names a Ukrainian place and
more of the authors' own texts with state words, for more sport hard negatives and more
home-country items. A sixth round (issue 16, helper H16c) read every remaining text naming
Ukraine, Kyiv or another Ukrainian city or region and added the hard negatives found.
"""

from __future__ import annotations

import csv
import pathlib
import random
import re
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution

from _common import keyword_round

SOURCE = "ua_gec"
PACKAGE = "ua-gec"

_UA = r"(?:Україн|україн|Київ|Києв|Львів|Харків|Одес|Дніпр|Донбас|Крим)"
CANDIDATES = [
    ("others", r"Іран|іранськ|Тегеран|Тайван|Венесуел|Каракас|Мадуро", 40),
    (
        "state",
        r"Верховн\w* Рад|Зеленськ|Порошенк|Кабмін|уряд|міністр|Міністр|президент|Президент|"
        r"вибор|гривн|депутат|парламент|війн|окупац|ЗСУ",
        70,
    ),
    (
        "frames",
        rf"(?s)(?=.*{_UA})(?=.*(?:футбол|збірн|Шахтар|Динамо|чемпіонат|матч|олімпі|фільм|"
        r"серіал|концерт|Євробачен|співа|актор|компані|Укрзалізниц|ПриватБанк|Нова пошта|"
        r"бренд|Укрпошт|ресторан|борщ|сало|вареник|вишиванк|кухн))",
        50,
    ),
    ("ukraine", _UA, 30),
]
SECOND_ROUND = [
    (
        "sport",
        rf"(?s)(?=.*{_UA})(?=.*(?:футбол|збірн|Шахтар|Динамо|чемпіонат|матч|олімпі|спорт|"
        r"турнір|кубок|Кубок))",
        20,
        False,
    ),
    ("state-own", CANDIDATES[1][1], 40, True),
]


def root() -> pathlib.Path | None:
    """Where the installed ua-gec distribution keeps its data, or None if it is not installed.
    (Found through the distribution's metadata, not by importing `ua_gec`, whose name this
    module shares.)"""
    try:
        data = pathlib.Path(str(distribution(PACKAGE).locate_file("ua_gec/data")))
    except PackageNotFoundError:
        return None
    return data if data.is_dir() else None


def version() -> str:
    return distribution(PACKAGE).version


def read(shared: pathlib.Path) -> Iterator[dict]:
    """Every document's corrected text (annotator 1). `shared` is unused: the text ships in
    the installed package; nothing is yielded when the package is absent."""
    data = root()
    if data is None:
        return
    meta = _metadata(data / "metadata.csv")
    origin = f"pypi:{PACKAGE}-{version()}/ua_gec/data"
    for path in sorted(data.glob("gec-fluency/*/target/*.a1.txt")):
        doc_id = path.name.split(".")[0]
        row = meta.get(doc_id, {})
        raw = path.read_text(encoding="utf-8").strip()
        first, _, rest = raw.partition("\n")
        title, text = (first.strip(), rest.strip()) if len(first) < 150 and rest else ("", raw)
        kind = row.get("submission_type", "")
        yield {
            "id": f"{SOURCE}:{doc_id}",
            "title": title,
            "text": text,
            "language": "uk",
            "outlet": f"ua-gec author {row.get('author_id', doc_id)}",
            "country": "" if kind == "translation" else "UA",
            "origin": f"{origin}/{path.relative_to(data)}",
            "published": "",
        }


def _metadata(path: pathlib.Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle) if row.get("id")}


def candidates(shared: pathlib.Path, seed: int = 16, n_random: int = 25) -> list[dict]:
    """The texts shown to the labeller: keyword groups (capped, seeded) plus random others."""
    items = list(read(shared))
    rng = random.Random(seed)
    chosen = keyword_round(items, CANDIDATES, rng, _full)
    rest = [i for i in items if i["id"] not in chosen]
    chosen.update((i["id"], i) for i in rng.sample(rest, n_random))
    for _, pattern, cap, own_only in SECOND_ROUND:
        hits = [
            i
            for i in items
            if i["id"] not in chosen
            and re.search(pattern, _full(i))
            and (i["country"] == "UA" or not own_only)
        ]
        rng.shuffle(hits)
        chosen.update((i["id"], i) for i in hits[:cap])
    return list(chosen.values())


def _full(item: dict) -> str:
    return f"{item['title']}\n{item['text']}"
