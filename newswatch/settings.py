"""Settings: one object, built once at the entry point (CLI command or flow) and passed down.

Every field can come from the environment with the `NEWSWATCH_` prefix (`NEWSWATCH_DB`,
`NEWSWATCH_ALLOWED_HOSTS`, ...); CLI options override the environment. A bad value fails
loudly at start, not halfway through a run.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from newswatch import __version__
from newswatch.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    feeds: Path = Path("seeds/feeds.yaml")
    watchlist: Path = Path("seeds/watchlist.yaml")
    db: Path = Path("data/newswatch.duckdb")
    # The warehouse when it is not the DuckDB file `db`: a DuckLake URL such as
    # "ducklake:postgres:dbname=newswatch host=10.0.0.5 data_path=s3://bucket/newswatch/"
    # (the forms are in warehouse/db.py). The archive and digests still go beside `db`.
    warehouse: str = ""
    # Loopback and private addresses are refused unless listed here ("host" or "host:port").
    allowed_hosts: str = ""
    contact_url: str = "https://github.com/newswatch/newswatch"
    # Fetching: whole-request time limit (all redirect hops and the body included), body caps
    # on the wire and after gzip/deflate, redirects, concurrency.
    feed_timeout: float = Field(20.0, gt=0)
    page_timeout: float = Field(20.0, gt=0)
    max_body_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_unpacked_bytes: int = Field(50 * 1024 * 1024, gt=0)
    max_redirects: int = Field(5, ge=0)
    concurrency: int = Field(10, ge=1)
    per_host_concurrency: int = Field(2, ge=1)
    # Politeness: minimum seconds between two requests to the same host; robots.txt for pages.
    per_host_delay: float = Field(1.0, ge=0)
    respect_robots: bool = True
    # Polling: bounds of the adaptive interval (per-source bounds in feeds.yaml override them),
    # the failure score after which a source is only retried once a day, and the score at
    # which it is disabled.
    min_interval: int = Field(300, ge=0)
    max_interval: int = Field(24 * 3600, ge=1)
    slow_retry_score: float = Field(10.0, gt=0)
    failure_budget: float = Field(100.0, gt=0)
    # Older pages of a Telegram channel fetched per poll until a known post is reached.
    telegram_backfill_pages: int = Field(3, ge=0)
    # Child sitemaps followed from a sitemap index, per source.
    max_child_sitemaps: int = Field(50, ge=0)
    # Entries of one source taken (fetched, extracted) per run; a feed that brings more new
    # entries at once keeps the rest pending for the next runs, none lost.
    max_entries_per_source: int = Field(500, ge=1)
    # Near copies are looked for among the articles of this many days (the index is in memory).
    dedup_window_days: int = Field(14, ge=1)
    # Extraction: processes in the pool (0 = one per core), and the time one page may take
    # before it is cut off and recorded as failed.
    extract_workers: int = Field(0, ge=0)
    extract_timeout: float = Field(30.0, gt=0)
    # Event linking after each batch (the workers embed the title and lead of each article
    # about a watchlist topic). Off: articles are stored without an event, and the next batch
    # stored with it on links them (by embedding if still in its window, else each on its own).
    link_events: bool = True
    # Keep the warehouse file open between an ingest run's steps, letting go when a reader
    # asks (warehouse/holding.py): at a million stored articles ingest is 1.6 times as fast,
    # and the ingest command's memory by ~110 MB (README, "How memory grows ...").
    hold_warehouse: bool = False
    # Seconds a reading command (sql, search, sources, explain, digest) waits for the
    # database while an ingest run is loading a batch into it (`--wait`).
    lock_wait: float = Field(5.0, ge=0)

    @property
    def data_dir(self) -> Path:
        """Everything newswatch writes besides the database goes beside it."""
        return self.db.parent

    @property
    def warehouse_url(self) -> str | Path:
        """What `warehouse.db.connect` opens: the DuckLake URL when one is set, else `db`."""
        return self.warehouse or self.db

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def digests_dir(self) -> Path:
        return self.data_dir / "digests"

    @property
    def allowed_host_list(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    @property
    def user_agent(self) -> str:
        return f"newswatch/{__version__} (+{self.contact_url})"

    @property
    def workers(self) -> int:
        return self.extract_workers or os.cpu_count() or 1

    def describe(self) -> str:
        """The resolved settings as one `key=value` line, with the version and without
        secrets (a DuckLake URL's password), for the log line every run starts with."""
        values = self.model_dump(mode="json") | {"warehouse": redact(self.warehouse)}
        return f"version={__version__} " + " ".join(f"{k}={v}" for k, v in values.items())


_SECRETS = (
    re.compile(r"(password\s*=\s*)([^\s']+)", re.IGNORECASE),  # key=value connection strings
    re.compile(r"(://[^:/@\s]+:)([^@\s]+)(?=@)"),  # user:password@host
)


def redact(url: str) -> str:
    """A warehouse URL without the password a Postgres catalog's connection string may hold."""
    for secret in _SECRETS:
        url = secret.sub(r"\1***", url)
    return url


# Settings that every command also takes as an option.
_CLI_OPTIONS = ("feeds", "watchlist", "db")


def load_settings(base: Settings | None = None, **overrides: object) -> Settings:
    """Settings from the environment (or `base`, settings a caller built already), with
    non-None `overrides` (CLI options, flow parameters) on top. A bad value, or a NEWSWATCH_
    variable that looks like a misspelt setting, is a `ConfigError` naming the variable, the
    value and the fix."""
    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if base is not None:
        given = base.model_dump() | given
    else:
        _check_names(os.environ)
    try:
        return Settings(**given)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        field = ".".join(str(p) for p in first["loc"])
        variable = f"NEWSWATCH_{field.upper()}"
        source = f"the --{field} option" if field in given else variable
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        option = f" or pass --{field}" if field in _CLI_OPTIONS else ""
        raise ConfigError(
            "settings",
            f"{source}={first.get('input')!r}: {first['msg']}{more}",
            fix=f"set {variable} to a valid value{option}; see newswatch/settings.py",
        ) from exc


def _check_names(environ: Mapping[str, str]) -> None:
    """A misspelt setting would be silently ignored; say which one was meant instead."""
    known = [f"NEWSWATCH_{name.upper()}" for name in Settings.model_fields]
    for variable in environ:
        if not variable.startswith("NEWSWATCH_") or variable in known:
            continue
        close = difflib.get_close_matches(variable, known, n=1, cutoff=0.85)
        if close:
            raise ConfigError(
                "settings",
                f"{variable} is not a setting",
                fix=f"did you mean {close[0]}?",
            )
