"""Named people and places as ids that do not depend on the language they were written in.

Three sources, all offline:
- country names of CLDR (through `babel`) in the languages of `LANGUAGES`, plus a few short
  forms newsrooms use that CLDR lists only as variants (`США`, `آمریکا`): `country:VE`;
- the watchlist: every alias of a topic, in every language, names that topic: `topic:venezuela`
  (reached only through `watchlist_topics`, so a change to the watchlist's internals touches
  one function);
- other capitalised words of Latin and Cyrillic text, Cyrillic transliterated to Latin and
  reduced to a rough phonetic key (`Мадуро`, `Maduro`, `Madura` all give `name:madur`).

Chinese and Persian names other than countries and watchlist aliases are not transliterated:
that is left to the embedding.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any, Protocol

from extractors.cldr import territories

# The six languages of the issue plus the others of the development set (SemEval-2022 Task 8).
LANGUAGES = ("en", "es", "ru", "uk", "zh", "fa", "de", "fr", "it", "pl", "tr", "ar")

# Short forms CLDR keeps as `alt` variants that babel does not expose, as news writes them.
_EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "US": (
        "USA",
        "U.S.",
        "U.S.A.",
        "America",
        "США",
        "Америка",
        "EEUU",
        "EE.UU.",
        "EE. UU.",
        "Estados Unidos",
        "آمریکا",
        "امریکا",
        "美國",
        "USA",
        "Amerika",
        "Stany Zjednoczone",
        "ABD",
        "أمريكا",
        "الولايات المتحدة",
    ),
    "GB": (
        "Britain",
        "UK",
        "Британия",
        "Великобритания",
        "Британія",
        "بریتانیا",
        "انگلیس",
        "Reino Unido",
        "Großbritannien",
        "英國",
    ),
    "RU": ("Россия", "Росія", "روسیه", "俄罗斯", "俄羅斯", "Rusia", "Russland"),
    "CN": ("中国", "中國", "Китай", "چین", "PRC"),
    "TW": ("台湾", "臺灣", "台灣", "Тайвань", "تایوان"),
    "UA": ("Украина", "Україна", "اوکراین", "乌克兰", "烏克蘭"),
    "IR": ("Иран", "Іран", "ایران", "伊朗"),
    "KR": ("South Korea", "韩国", "韓國", "Южная Корея"),
    "KP": ("North Korea", "朝鲜", "北韓", "Северная Корея", "КНДР"),
}

# Capitalised words that are not names: months, weekdays, titles, sentence openers.
_STOP_TEXT = (
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday the this that these there "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
    "lunes martes miércoles jueves viernes sábado domingo "
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря "
    "president minister mister says said after before when while with from about "
    "presidente ministro según según después antes cuando "
    "президент министр заявил после"
)
_STOP_NAMES = frozenset(_STOP_TEXT.split())

_CYRILLIC_LATIN = (
    "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya i yi ye g"
)
_CYRILLIC = dict(
    zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ", _CYRILLIC_LATIN.split(" "), strict=True)
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)


def transliterate(word: str) -> str:
    """Cyrillic letters to Latin (a simple Russian/Ukrainian scheme), other letters kept."""
    out = []
    for c in word.lower():
        t = _CYRILLIC.get(c)
        out.append(c if t is None else "" if t == "_" else t)
    return "".join(out)


def _ascii(word: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
    ).lower()


_PHONETIC = (
    (re.compile(r"kh|ch|sh|zh"), lambda m: m.group(0)[0]),
    (re.compile(r"ph"), lambda m: "f"),
    (re.compile(r"[ckq]"), lambda m: "k"),
    (re.compile(r"[yj]"), lambda m: "i"),
    (re.compile(r"[zs]"), lambda m: "s"),
    (re.compile(r"w"), lambda m: "v"),
    (re.compile(r"h"), lambda m: ""),
    (re.compile(r"[^a-z]"), lambda m: ""),
    (re.compile(r"(.)\1+"), lambda m: m.group(1)),
)
_KEY_CHARS = 5  # the key keeps the stem: Мадуро, Мадуру, Maduro's all give `madur`


def phonetic(word: str) -> str:
    """A Latin or Cyrillic word as it sounds, roughly: transliterated, accents dropped,
    similar letters merged (Мадуро, Maduro -> `maduro`; Зеленский, Zelensky -> `selenski`)."""
    key = _ascii(transliterate(word))
    for pattern, repl in _PHONETIC:
        key = pattern.sub(repl, key)
    return key


def name_key(word: str) -> str:
    """A rough phonetic key of a Latin or Cyrillic name: `phonetic`, cut to its first five
    letters (which absorbs inflection)."""
    return phonetic(word)[:_KEY_CHARS]


def _is_cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"


def _stem(token: str) -> str:
    """Inflected languages change the ending: Венесуэла, Венесуэлы; Polska, Polski."""
    return token[:-1] if len(token) >= 5 and token[-1] in "aeiouyаеиоуыяюэєіїьй" else token


class _Countries:
    """Country names of every language, by the stem of their first word (spaced scripts) and
    as plain strings (Chinese, searched as substrings)."""

    def __init__(self, languages: Iterable[str]) -> None:
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.cjk: list[tuple[str, str]] = []
        for code, name in _all_names(languages):
            if _is_cjk(name[0]):
                self.cjk.append((name, code))
                continue
            tokens = tuple(_stem(t.lower()) for t in _WORD.findall(name))
            if tokens and (len(tokens) > 1 or len(tokens[0]) >= 3):
                self.by_first.setdefault(tokens[0], []).append((tokens, code))

    def find(self, text: str) -> set[str]:
        found = {code for name, code in self.cjk if name in text}
        tokens = [t.lower() for t in _WORD.findall(text)]
        for i, token in enumerate(tokens):
            for cut in range(0, min(4, len(token) - 2)):
                for names, code in self.by_first.get(token[: len(token) - cut], ()):
                    rest = tokens[i + 1 : i + len(names)]
                    if len(rest) == len(names) - 1 and all(
                        t.startswith(n) and len(t) - len(n) <= 3
                        for t, n in zip(rest, names[1:], strict=True)
                    ):
                        found.add(code)
        return found


def _all_names(languages: Iterable[str]) -> Iterable[tuple[str, str]]:
    for language in languages:
        for code, name in territories(language).items():
            if len(code) == 2 and code.isalpha() and code not in ("ZZ", "UN", "EZ", "QO"):
                yield code, name
    for code, names in _EXTRA_NAMES.items():
        for name in names:
            yield code, name


@cache
def _countries(languages: tuple[str, ...] = LANGUAGES) -> _Countries:
    return _Countries(languages)


def country_ids(text: str) -> set[str]:
    """`country:XX` for every country named in `text`, in any language of `LANGUAGES`."""
    return {f"country:{code}" for code in _countries().find(text)}


_SENTENCE_END = re.compile(r"[.!?…:;«»\"“”„]\s*$")


def name_ids(text: str) -> set[str]:
    """`name:<key>` for capitalised Latin or Cyrillic words that do not open a sentence."""
    found = set()
    for match in _WORD.finditer(text):
        word = match.group(0)
        if not word[0].isupper() or _is_cjk(word[0]) or len(word) < 4:
            continue
        before = text[max(0, match.start() - 3) : match.start()]
        if match.start() == 0 or _SENTENCE_END.search(before) or "\n" in before:
            continue
        if word.lower() in _STOP_NAMES or word.isupper():
            continue
        key = name_key(word)
        if len(key) >= 4:
            found.add(f"name:{key}")
    return found


class TopicTagger(Protocol):
    """What event linking uses of `extractors.topics.Watchlist`: `tag` and the topic ids of
    its matches."""

    def tag(self, title: str, text: str, language: str | None = None) -> list[Any]: ...


def watchlist_topics(
    watchlist: TopicTagger, title: str, lead: str, language: str | None
) -> set[str]:
    """`topic:<id>` for each watchlist topic whose aliases (any language) are in the title or
    lead. The only place that touches the watchlist: it uses its public `tag` method and the
    `topic` attribute of the matches."""
    return {f"topic:{match.topic}" for match in watchlist.tag(title, lead, language)}
