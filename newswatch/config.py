"""Loading and validating `feeds.yaml`: every error names the file, the line, the entry and the fix.

The file is a mapping with a `sources:` list; each item has `name`, `kind`, `url`, `language`,
`country`, and optionally `outlet` (defaults to the name), `tags`, the interval bounds,
`paused`, and what fetching the source needs: `user_agent` (a string, or `browser` for
`BROWSER_USER_AGENT`), `ca_bundle` (a PEM file of extra CA certificates, relative to the feeds
file's folder) and `dates: page` (take each article's date from its page, not the
feed). The watchlist has its own loader next to the tagger (`extractors.topics.load_watchlist`);
both read the file through `extractors.seedfile`, which keeps the line of every entry and field.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from extractors import seedfile
from extractors.errors import ConfigError
from extractors.records import SOURCE_KINDS, Source
from extractors.urls import is_http_url

# A channel's public preview page: https://t.me/s/<channel> (the path is what matters).
_TELEGRAM_PREVIEW = re.compile(r"/s/[A-Za-z0-9_]{4,64}/?$")


# What each plain field of a source must be, and the message saying so when it is not.
_FIELD_CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "name": (bool, "must not be empty"),
    "kind": (SOURCE_KINDS.__contains__, f"must be one of {', '.join(SOURCE_KINDS)}"),
    "url": (is_http_url, "must be an http:// or https:// URL"),
    "language": (
        re.compile(r"[a-z]{2,3}").fullmatch,
        "must be an ISO 639-1 code such as en, ru, uk, es, zh, fa",
    ),
    "country": (
        re.compile(r"[A-Za-z]{2}").fullmatch,
        "must be an ISO 3166-1 alpha-2 code such as US, RU, VE",
    ),
}


# What `user_agent: browser` sends: a current desktop Firefox's User-Agent. Some publishers
# (TASS, EFE) answer 403 to any client that does not look like a browser.
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
DATES = ("feed", "page")


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str
    kind: str
    url: str
    language: str
    country: str
    outlet: str | None = None
    tags: list[str] = []
    min_interval: int | None = None
    max_interval: int | None = None
    paused: bool = False
    user_agent: str | None = None
    ca_bundle: str | None = None
    dates: str = "feed"

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "\r\n")):
            raise ValueError("must be one line of text, or `browser` for a browser-like one")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("must be the path of a PEM file of CA certificates")
        return value

    @field_validator("dates")
    @classmethod
    def _dates(cls, value: str) -> str:
        if value not in DATES:
            raise ValueError("must be `feed` (the feed's item dates) or `page` (the article's)")
        return value

    @field_validator("min_interval", "max_interval", mode="before")
    @classmethod
    def _interval(cls, value: int | str | None) -> int | None:
        return None if value is None else parse_duration(value)

    @field_validator(*_FIELD_CHECKS)
    @classmethod
    def _check(cls, value: str, info: ValidationInfo) -> str:
        holds, expected = _FIELD_CHECKS[info.field_name or ""]
        if not holds(value):
            raise ValueError(expected)
        return value.upper() if info.field_name == "country" else value

    @model_validator(mode="after")
    def _telegram_preview(self) -> SourceConfig:
        if self.kind == "telegram" and not _TELEGRAM_PREVIEW.search(self.url):
            raise ValueError(
                "a telegram source's url must be its preview page, https://t.me/s/<channel>"
            )
        return self

    def to_source(self, folder: Path | None = None) -> Source:
        """The source; a relative `ca_bundle` is taken from `folder` (the feeds file's)."""
        agent = BROWSER_USER_AGENT if self.user_agent == "browser" else self.user_agent
        bundle = self.ca_bundle
        if bundle is not None and folder is not None and not Path(bundle).is_absolute():
            bundle = str(folder / bundle)
        return Source(
            name=self.name,
            kind=self.kind,
            url=self.url,
            language=self.language,
            country=self.country,
            outlet=self.outlet or self.name,
            tags=tuple(self.tags),
            min_interval_s=self.min_interval,
            max_interval_s=self.max_interval,
            paused=self.paused,
            user_agent=agent,
            ca_bundle=bundle,
            dates=self.dates,
        )


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: int | str) -> int:
    """Seconds from 900, "900", "15m", "2h" or "1d"."""
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("must be a duration such as 300, 15m, 2h or 1d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


_KNOWN_KEYS = tuple(SourceConfig.model_fields)


def load_sources(path: str | Path) -> list[Source]:
    """The sources of a feeds file, validated; raises `ConfigError` naming what to fix."""
    name = str(path)
    text = seedfile.read_text(path, "feeds file", fix_missing="pass --feeds PATH")
    located = seedfile.to_data(seedfile.compose(text, name), name)
    data = located.data
    items = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(name, "expected a mapping with a 'sources:' list", line=1)
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        line = located.line(("sources", index))
        source = _validate_item(item, index, name, located, Path(path).parent)
        if source.name in seen:
            raise ConfigError(
                name,
                f"source {source.name!r} is defined twice (first at line {seen[source.name]})",
                line=line,
                fix="give each source a unique name",
            )
        seen[source.name] = line or 0
        sources.append(source)
    return sources


def _validate_item(
    item: Any, index: int, path: str, located: seedfile.Located, folder: Path
) -> Source:
    label = f"source #{index + 1}"
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        label += f" ({item['name']})"
    if not isinstance(item, dict):
        line = located.line(("sources", index))
        raise ConfigError(path, f"{label}: expected a mapping with name, kind, url, ...", line=line)
    try:
        return SourceConfig.model_validate(item).to_source(folder)
    except ValidationError as exc:
        base = ("sources", index)
        raise seedfile.validation_error(exc, path, located, base, label, _KNOWN_KEYS) from exc


def append_sources(path: str | Path, sources: list[Source]) -> None:
    """Add `sources` at the end of a feeds file, keeping its comments, and check the result;
    on any error the file is left as it was."""
    path = Path(path)
    before = path.read_text(encoding="utf-8") if path.exists() else "sources:\n"
    block = yaml.safe_dump(
        [_as_yaml(s) for s in sources], allow_unicode=True, sort_keys=False, width=100
    )
    indented = "".join(f"  {line}\n" for line in block.splitlines())
    path.write_text(before.rstrip("\n") + "\n" + indented, encoding="utf-8")
    try:
        load_sources(path)
    except ConfigError:
        path.write_text(before, encoding="utf-8")
        raise


def _as_yaml(source: Source) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "language": source.language,
        "country": source.country,
    }
    if source.outlet != source.name:
        item["outlet"] = source.outlet
    if source.tags:
        item["tags"] = list(source.tags)
    return item


def shard_filter(shard: str | None) -> Callable[[str], bool]:
    """Which source names a run with `shard` "k/n" takes: shard k of n, by a stable hash of
    the name, so that n workers polling at once never take the same source (None: all)."""
    if shard is None:
        return lambda name: True
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard)
    k, n = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 1 <= k <= n:
        raise ConfigError(
            "shard", f"{shard!r} is not k/n with 1 <= k <= n", fix="e.g. 1/2 on one worker, 2/2"
        )
    return lambda name: zlib.crc32(name.encode("utf-8")) % n == k - 1
