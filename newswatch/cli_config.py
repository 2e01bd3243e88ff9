"""`newswatch config`: the resolved settings, and where each value came from.

A setting comes from the command line (`--feeds`, `--watchlist`, `--db`), else from its
`NEWSWATCH_` variable in the environment, else from its default (`newswatch.settings`).
Click knows which of the three gave each option's value; for the other settings the
environment is asked. Secrets (a DuckLake URL's password) are not printed.
"""

from __future__ import annotations

import os

import typer

from newswatch.cli_common import (
    DbOption,
    FeedsOption,
    WatchlistOption,
    cli_settings,
    console,
    rows_table,
)
from newswatch.settings import Settings, redact


def config(
    ctx: typer.Context,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Print every setting as newswatch resolves it, and where it came from: the command
    line, the environment (NEWSWATCH_*), or the default.

    Example: NEWSWATCH_FEED_TIMEOUT=5 newswatch config --db data/other.duckdb
    """
    settings = cli_settings(feeds, watchlist, db)
    rows = [(name, _shown(settings, name), origin(ctx, name)) for name in Settings.model_fields]
    table = rows_table(["setting", "value", "from"], rows)
    table.caption = None
    console.print(table)


def origin(ctx: typer.Context, name: str) -> str:
    """Where the setting `name` came from: "command line (--db)", "environment
    (NEWSWATCH_DB)" or "default"."""
    variable = f"NEWSWATCH_{name.upper()}"
    # By name: Typer may bring its own copy of click's ParameterSource.
    source = getattr(ctx.get_parameter_source(name), "name", None) if name in ctx.params else None
    if source == "COMMANDLINE":
        return f"command line (--{name})"
    if source == "ENVIRONMENT" or variable in os.environ:
        return f"environment ({variable})"
    return "default"


def _shown(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    return redact(value) if name == "warehouse" else str(value)
