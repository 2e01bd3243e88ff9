"""`newswatch serve` (the deployments on their schedules) and `newswatch demo`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from newswatch.cli_common import (
    DbOption,
    FeedsOption,
    WatchlistOption,
    cli_settings,
    console,
    rows_table,
)
from newswatch.cli_run import check_config, print_ingest


def serve(
    project: Annotated[
        Path | None,
        typer.Option(help="Folder with prefect.yaml [default: $NEWSWATCH_HOME, else here]."),
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Run the deployments of prefect.yaml on their schedules (ingest every 15 minutes,
    search-index five minutes after each ingest, digest daily at 06:00 UTC) until Ctrl-C.
    Without PREFECT_API_URL it starts a local Prefect server (SQLite under PREFECT_HOME, UI on
    127.0.0.1) and stops it on exit. The runs read their other settings from the environment;
    --feeds, --watchlist and --db are passed to each deployment as parameters.

    Example: PREFECT_HOME=data/prefect newswatch serve --db data/newswatch.duckdb
    """
    from flows.serve import serve as serve_deployments

    folder = (project or Path(os.environ.get("NEWSWATCH_HOME") or ".")).resolve()
    settings = cli_settings(feeds, watchlist, db)
    check_config(settings)
    # Relative paths would be read from the project folder the runs start in: make them whole.
    paths = {
        "feeds": str(settings.feeds.resolve()),
        "watchlist": str(settings.watchlist.resolve()),
        "db": str(settings.db.resolve()),
    }
    serve_deployments(folder, lambda line: console.print(line, markup=False), paths)


def demo(
    snapshot: Annotated[Path, typer.Option(help="The offline snapshot to serve.")] = Path(
        "seeds/demo"
    ),
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Serve the offline snapshot on 127.0.0.1, ingest it, write digests, show a query.

    Example: newswatch demo --db data/newswatch.duckdb
    """
    from newswatch.cli_progress import Printer
    from newswatch.demo import SUMMARY_SQL, run_demo

    settings = cli_settings(None, watchlist, db)
    report = run_demo(snapshot, settings, console.print, Printer(console))
    print_ingest(report.ingest)
    console.print(
        f"\nDuckDB: {report.db} ({report.articles} articles from {report.sources} sources)"
    )
    latest = report.digests[-1] if report.digests else "-"
    console.print(f"Digests: {len(report.digests)} days, latest {latest}")
    console.print(f'\n$ newswatch sql "{SUMMARY_SQL}"')
    console.print(rows_table(report.columns, report.rows))
