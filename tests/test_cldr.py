"""extractors.cldr: the tables written at install are babel's, and without them (or with
another babel's) the answers come from babel itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel import Locale

from extractors import cldr


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cldr.json"
    monkeypatch.setattr(cldr, "TABLES", path)
    cldr._written.cache_clear()
    yield path
    cldr._written.cache_clear()


def test_written_tables_are_babels(written: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cldr.write_tables(written)
    # from here on, the answers must come from the file: babel is not asked
    monkeypatch.setattr(cldr, "_from_babel", lambda language: pytest.fail(f"{language}: babel"))
    for language in ("ru", "fa", "zh_Hant"):
        locale = Locale.parse(language)
        assert cldr.territories(language) == dict(locale.territories)
        cities = cldr.exemplar_cities(language)
        assert cities["America/Caracas"] == locale.time_zones["America/Caracas"]["city"]
        assert len(cities) == len(locale.time_zones)
    assert cldr.territories("ru")["VE"] == "Венесуэла"


def test_missing_or_stale_tables_fall_back_to_babel(written: Path) -> None:
    assert not written.exists()
    assert cldr.territories("uk")["UA"] == "Україна"
    written.write_text(json.dumps({"babel": "0.0", "territories": {"uk": {"UA": "x"}}}))
    cldr._written.cache_clear()
    assert cldr.territories("uk")["UA"] == "Україна"  # another babel's tables are not read


def test_a_language_not_written_is_read_from_babel(written: Path) -> None:
    cldr.write_tables(written)
    assert "ja" not in json.loads(written.read_text(encoding="utf-8"))["territories"]
    assert cldr.territories("ja")["IR"] == "イラン"
