"""What every `newswatch` command shares: the Typer app, the console, the `--feeds`,
`--watchlist` and `--db` options, settings from them, and parsing and printing helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from newswatch.settings import Settings, load_settings

app = typer.Typer(
    help="newswatch: follow how outlets cover a watchlist of topics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output (to a file, to less) keeps whole rows instead of folding at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 240)

FeedsOption = Annotated[
    Path | None,
    typer.Option("--feeds", help="Sources file [env NEWSWATCH_FEEDS; default seeds/feeds.yaml]."),
]
WatchlistOption = Annotated[
    Path | None,
    typer.Option(
        "--watchlist", help="Topics file [env NEWSWATCH_WATCHLIST; default seeds/watchlist.yaml]."
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file [env NEWSWATCH_DB; default data/newswatch.duckdb]."),
]
WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0,
        help="Seconds to wait for the database while an ingest run is storing a batch "
        "[env NEWSWATCH_LOCK_WAIT; default 5].",
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also show the log: settings, each failure, waits (stderr)."
    ),
]


def cli_settings(
    feeds: Path | None, watchlist: Path | None, db: Path | None, wait: float | None = None
) -> Settings:
    """Settings from the environment with the command's options on top."""
    return load_settings(feeds=feeds, watchlist=watchlist, db=db, lock_wait=wait)


@contextmanager
def quiet_prefect() -> Iterator[None]:
    """For a command that runs flows: the temporary Prefect server it starts sends no
    analytics, unless PREFECT_SERVER_ANALYTICS_ENABLED says otherwise. A Prefect setting for
    the block (Prefect hands its settings to the server process it starts), not an
    environment variable: our environment is never written."""
    from prefect.settings import PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings

    if "PREFECT_SERVER_ANALYTICS_ENABLED" in os.environ:
        yield
        return
    with temporary_settings({PREFECT_SERVER_ANALYTICS_ENABLED: False}):
        yield


def parse_day(value: str, option: str = "--day") -> date:
    """An ISO day from an option, or Typer's usage error (exit code 2)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a day like 2026-01-05", param_hint=option
        ) from None


def rows_table(columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    table.caption = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    return table


def short(value: Any) -> Any:
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and len(value) > 70:
        return value[:67] + "..."
    return value
