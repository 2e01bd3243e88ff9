"""Every country's name in the six languages, from CLDR (through `babel`), for prominence.

Owns `country_names`: {ISO 3166 alpha-2 code: names} in en, es, ru, uk, zh and fa, read once
from CLDR's territory names (`extractors.cldr`, through babel: a maintained source, not a hand
list). The tagger counts them to weigh a topic against every other country a text names ("an
article on oil that names Iran once among Saudi Arabia, Russia and the US is about none of
them"). Russian and Ukrainian
decline names, so a one-word name in Cyrillic becomes a stem without its last vowel
(Франция → `Франци*`: Франции, Францию); Chinese names match inside words anyway.
"""

from __future__ import annotations

import re
from functools import lru_cache

from extractors.cldr import territories

LANGUAGES = ("en", "es", "ru", "uk", "zh", "fa")
_CODE = re.compile(r"[A-Z]{2}\Z")
_NOT_COUNTRIES = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"}  # unknown, unions, pseudo
_CYRILLIC_END = re.compile(r"^([а-яёіїєґ]{4,}?)[аяуюоеиіыйь]$", re.IGNORECASE)


@lru_cache(maxsize=1)
def country_names() -> dict[str, tuple[str, ...]]:
    """{code: names in the six languages}, each name as a watchlist phrase (maybe a stem)."""
    names: dict[str, set[str]] = {}
    for language in (*LANGUAGES, "zh_Hant"):  # Traditional Chinese too (Taiwan, Hong Kong)
        for code, name in territories(language).items():
            if _CODE.match(code) and code not in _NOT_COUNTRIES:
                names.setdefault(code, set()).add(_phrase(name.strip(), language))
    return {code: tuple(sorted(found)) for code, found in sorted(names.items())}


def _phrase(name: str, language: str) -> str:
    if language in ("ru", "uk") and " " not in name and (m := _CYRILLIC_END.match(name)):
        return m.group(1) + "*"
    return name
