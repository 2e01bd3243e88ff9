"""What every `newswatch` command shares: the Typer app, the console, the `--feeds`,
`--watchlist` and `--db` options, settings from them, and parsing and printing helpers."""

from __future__ import annotations

import sys
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


def _setting_option(name: str, help: str) -> Any:
    """The option of the setting `name`: its NEWSWATCH_ variable and its default are shown
    in --help (the value itself stays None unless given, so the settings decide)."""
    return typer.Option(
        f"--{name}",
        help=help,
        envvar=f"NEWSWATCH_{name.upper()}",
        show_envvar=True,
        show_default=str(Settings.model_fields[name].default),
    )


FeedsOption = Annotated[Path | None, _setting_option("feeds", "Sources file.")]
WatchlistOption = Annotated[Path | None, _setting_option("watchlist", "Topics file.")]
DbOption = Annotated[Path | None, _setting_option("db", "DuckDB file.")]
WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0,
        help="Seconds to wait for the database while an ingest run is storing a batch.",
        envvar="NEWSWATCH_LOCK_WAIT",
        show_envvar=True,
        show_default=str(Settings.model_fields["lock_wait"].default),
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


def require_warehouse(settings: Settings) -> None:
    """Refuse to go on when the warehouse is a DuckDB file that does not exist: a command
    that only reads or updates stored articles would create an empty one (a mistyped --db)."""
    from newswatch.errors import NewswatchError
    from warehouse.db import parse_url

    where = parse_url(settings.warehouse_url)
    if where.file is not None and not where.file.is_file():
        raise NewswatchError(
            f"{where.file}: no database here (check --db or NEWSWATCH_DB; "
            "`newswatch ingest` creates one)"
        )


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
