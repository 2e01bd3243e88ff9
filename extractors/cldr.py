"""The two tables of CLDR that newswatch reads through `babel`: territory names and the
exemplar city of each time zone, per language.

Why a module: babel answers either question by loading the language's whole locale data
(about 2 MB of Python objects a language) and keeps it; taken directly for the thirteen
languages the tagger and event linking count, that left ~20 MB in every process that tags
(the ingest process, and the server its extraction workers fork from), and freeing it
afterwards gave nothing back (the small objects kept sit among the freed ones). So the two
tables are written once, at install (`python -m extractors.cldr`, run by `make install`),
to `cldr.json` beside this file (not in git: it is CLDR's data, built from the installed
babel), and read from there. A missing file, or one written by another babel version, is
not an error: the tables are then read from babel in the process, as before.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import babel
from babel import Locale

TABLES = Path(__file__).with_name("cldr.json")
# Every language a caller asks for (extractors.topics.countries, events.names,
# events.gazetteer); another one is read from babel when asked.
LANGUAGES = ("en", "es", "ru", "uk", "zh", "zh_Hant", "fa", "de", "fr", "it", "pl", "tr", "ar")


def territories(language: str) -> dict[str, str]:
    """{territory code: name in `language`}, as babel's `Locale(language).territories`."""
    table = _written().get("territories", {}).get(language)
    return dict(table) if table is not None else _from_babel(language)["territories"]


def exemplar_cities(language: str) -> dict[str, str | None]:
    """{time zone: its exemplar city in `language`, or None}, from babel's
    `Locale(language).time_zones`."""
    table = _written().get("cities", {}).get(language)
    return dict(table) if table is not None else _from_babel(language)["cities"]


@cache
def _written() -> dict[str, Any]:
    """The tables of `cldr.json`, or nothing when it is missing or of another babel."""
    try:
        tables: dict[str, Any] = json.loads(TABLES.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return tables if tables.get("babel") == babel.__version__ else {}


def _from_babel(language: str) -> dict[str, dict[str, Any]]:
    locale = Locale.parse(language)
    return {
        "territories": {code: str(name) for code, name in locale.territories.items()},
        "cities": {
            zone: (str(data["city"]) if data.get("city") else None)
            for zone, data in locale.time_zones.items()
        },
    }


def write_tables(path: Path = TABLES) -> None:
    """Read both tables of every language of `LANGUAGES` from babel and write them."""
    read = {language: _from_babel(language) for language in LANGUAGES}
    tables = {
        "babel": babel.__version__,
        "territories": {language: t["territories"] for language, t in read.items()},
        "cities": {language: t["cities"] for language, t in read.items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(tables, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    write_tables()
    print(f"{TABLES}: CLDR's territory names and exemplar cities of babel {babel.__version__}")
