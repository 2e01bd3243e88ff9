"""People and cities as ids that do not depend on the script they were written in.

`names.py` keys Latin and Cyrillic names by sound (`Мадуро`, `Maduro` -> `name:madur`), which
cannot reach Chinese or Persian (`马杜罗`, `مادورو`). This module resolves names to one id in
every script, from two tables:
- people (`people.yaml` beside this file): one id per person, with the forms newsrooms use
  in each language: `person:maduro`;
- cities: CLDR's exemplar city of every time zone (through `babel`), in every language of
  `names.LANGUAGES` (English from the zone id): `加拉加斯`, `Каракас`, `کاراکاس`, `Caracas`
  all give `city:caracas`. Maintained upstream, about 400 cities, not a hand list.

Matching, by script: a one-word Latin or Cyrillic form by its phonetic key (`names.name_key`,
so case endings match: `Путина`, `Каракасе`), and only when the word is capitalised (a word
whose key is under four letters, `Kyiv`, `Київ`, `Рим`, only as itself); a form of
several words as a phrase (each word may take a short ending); Chinese forms as substrings;
Persian and Arabic forms where a word starts. Pure apart from reading the two tables once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from events.names import LANGUAGES, phonetic
from extractors.cldr import exemplar_cities

PEOPLE = Path(__file__).with_name("people.yaml")

# Time zones whose city is no city of the news (research stations, US counties) or whose name
# is a common word or a person's name in news text ("Troll", "Center", "Vostok", "Darwin").
_SKIP_AREAS = ("Antarctica/", "Etc/", "Arctic/")
_SKIP_CITIES = frozenset(
    (
        "christmas",
        "easter",
        "midway",
        "wake",
        "resolute",
        "regina",
        "stanley",
        "oral",
        "jersey",
        "truk",
        "darwin",
        "creston",
        "dawson",
        "currie",
        "lindeman",
        "hope",
    )
)
_MIN_KEY = 4
_ENDING = frozenset("aeioumsvgk")  # what case endings leave after `phonetic`: -а -у -ом -ого -ах
_MAX_ENDING = 3
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)


def _is_cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"


def _is_arabic(c: str) -> bool:
    return "\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff"


def _fold(text: str) -> str:
    """Lower case, accents off, ё as е: the form phrases are matched in."""
    text = unicodedata.normalize("NFKD", text.lower().replace("ё", "е"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _key(word: str) -> str:
    """The phonetic form of one word, less one final vowel (Мадуро/Maduro, Путин/Putin)."""
    key = phonetic(word)
    return key[:-1] if len(key) >= 5 and key[-1] in "aeiou" else key


def _candidates(word: str) -> Iterator[str]:
    """The keys a word of text may have: itself, then less a case ending of up to three
    letters (Путина, Каракасе, Zełenskiego), the shortest cut first."""
    full = phonetic(word)
    for cut in range(0, _MAX_ENDING + 1):
        if cut and (len(full) - cut < _MIN_KEY or full[-cut] not in _ENDING):
            break
        stem = full[: len(full) - cut]
        yield stem[:-1] if len(stem) >= 5 and stem[-1] in "aeiou" else stem


@dataclass(slots=True)
class Gazetteer:
    """Forms of names, by how they are matched, each to its id. A key two ids share (Karachi
    and Caracas both start `karak`) is kept only at its full length."""

    keys: dict[str, str] = field(default_factory=dict)  # phonetic key of one word -> id
    ambiguous: set[str] = field(default_factory=set)
    # one word whose key is too short to match by sound (Kyiv, Київ, Рим): the word itself,
    # folded, matched whole
    short: dict[str, str] = field(default_factory=dict)
    # phrases by the first letters of their first word (folded), so a text runs only the
    # patterns whose first word it has; each with that word, tested as a substring first
    phrases: dict[str, list[tuple[str, re.Pattern[str], str]]] = field(default_factory=dict)
    # Chinese forms (substrings) and Persian or Arabic ones (where a word starts), by their
    # first character: a text tries only the forms that start with one of its characters
    # (every form, for every text, cost ~0.2 ms of the ~0.6 a text takes; session 20)
    cjk: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    arabic: dict[str, list[tuple[str, re.Pattern[str], str]]] = field(default_factory=dict)

    def add(self, form: str, ident: str) -> None:
        form = form.strip()
        if not form:
            return
        if _is_cjk(form[0]):
            if len(form) >= 2:
                self.cjk.setdefault(form[0], []).append((form, ident))
        elif _is_arabic(form[0]):
            pattern = re.compile(r"(?<![\u0600-\u06ff])" + re.escape(form))
            self.arabic.setdefault(form[0], []).append((form, pattern, ident))
        else:
            words = _WORD.findall(form)
            if len(words) == 1:
                key = _key(words[0])
                if len(key) < _MIN_KEY:  # too short to match by sound: the word itself
                    self._add_unique(self.short, _fold(words[0]), ident)
                else:
                    self._add_unique(self.keys, key, ident)
            elif words:
                body = r"\w{0,3}\s+".join(re.escape(_fold(w)) for w in words)
                pattern = re.compile(rf"(?<!\w){body}\w{{0,3}}(?!\w)")
                first = _fold(words[0])
                self.phrases.setdefault(first[:3], []).append((first, pattern, ident))

    def _add_unique(self, table: dict[str, str], key: str, ident: str) -> None:
        """`key` -> `ident` in `table`, unless another id has the key too: then in neither."""
        if key in self.ambiguous:
            return
        if table.setdefault(key, ident) != ident:
            self.ambiguous.add(key)
            del table[key]

    def find(self, text: str) -> set[str]:
        found: set[str] = set()
        chars = set(text)
        for first in chars.intersection(self.cjk):
            found.update(ident for form, ident in self.cjk[first] if form in text)
        for first in chars.intersection(self.arabic):
            found.update(
                ident
                for form, pattern, ident in self.arabic[first]
                if form in text and pattern.search(text)
            )
        for word in _WORD.findall(text):
            if word[0].isupper() and not _is_cjk(word[0]):
                if (short := self.short.get(_fold(word))) is not None:
                    found.add(short)
                    continue
                for key in _candidates(word):
                    if key in self.keys:
                        found.add(self.keys[key])
                        break
        folded = _fold(text)
        for start in {w[:3] for w in _WORD.findall(folded)}:
            for first, pattern, ident in self.phrases.get(start, ()):
                if first in folded and pattern.search(folded):  # a substring test first:
                    found.add(ident)  # most patterns of a prefix have no first word here
        return found


def _people(path: Path) -> Iterator[tuple[str, str]]:
    table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for person, forms in table.items():
        for form in forms or ():
            yield str(form), f"person:{person}"


def _cities(languages: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(name, `city:<id>`) for the exemplar city of every zone in every language; the id is
    the zone's last part, lower case (`America/Caracas` -> `city:caracas`)."""
    for language in languages:
        for zone, city in exemplar_cities(language).items():
            if zone.startswith(_SKIP_AREAS) or zone.count("/") != 1:
                continue
            if zone.split("/")[1].lower() in _SKIP_CITIES:
                continue
            ident = "city:" + zone.split("/")[1].lower()
            yield zone.split("/")[1].replace("_", " "), ident
            if city:
                yield city, ident


@cache
def gazetteer(path: Path = PEOPLE, languages: tuple[str, ...] = LANGUAGES) -> Gazetteer:
    """The tables, built once per process."""
    table = Gazetteer()
    for form, ident in _people(path):
        table.add(form, ident)
    for form, ident in _cities(languages):
        table.add(form, ident)
    return table


def resolved_ids(text: str) -> set[str]:
    """`person:` and `city:` ids of the people and cities `text` names, in any script."""
    return gazetteer().find(text)
