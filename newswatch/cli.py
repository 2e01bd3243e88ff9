"""The `newswatch` command line: thin commands that load settings and call flows and queries.

Every command takes `--feeds`, `--watchlist` and `--db` (or `NEWSWATCH_FEEDS`,
`NEWSWATCH_WATCHLIST`, `NEWSWATCH_DB`). A `NewswatchError` ends the command with one line on
stderr and exit code 1; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from newswatch.errors import NewswatchError
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


def _settings(feeds: Path | None, watchlist: Path | None, db: Path | None) -> Settings:
    return load_settings(feeds=feeds, watchlist=watchlist, db=db)


@app.command()
def ingest(
    all_sources: Annotated[
        bool, typer.Option("--all-sources", help="Poll every enabled source, due or not.")
    ] = False,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Poll the sources that are due, fetch new articles, tag them and load them into DuckDB.

    Each source has its own next poll time, which follows how often it publishes and backs
    off when it fails (see `newswatch sources`).

    Example: newswatch ingest --feeds seeds/feeds.yaml --db data/newswatch.duckdb
    """
    from flows.ingest import ingest as ingest_flow

    settings = _settings(feeds, watchlist, db)
    _check_config(settings)
    result = ingest_flow(
        feeds=str(settings.feeds),
        watchlist=str(settings.watchlist),
        db=str(settings.db),
        all_sources=all_sources,
    )
    _print_ingest(result)


def _check_config(settings: Settings) -> None:
    """Fail on a bad feeds or watchlist file before any flow starts, with one clear line."""
    from extractors.topics import load_watchlist
    from newswatch.config import load_sources

    load_sources(settings.feeds)
    load_watchlist(settings.watchlist)


def _print_ingest(result: dict[str, Any]) -> None:
    failures = ", ".join(f"{k} {v}" for k, v in sorted(result["failures"].items())) or "none"
    console.print(
        f"ingest {result['status']}: {result['sources']} sources polled "
        f"({result['feeds_failed']} failed, {result['feeds_not_modified']} not modified), "
        f"{result['entries_new']} new entries, {result['articles_new']} new articles, "
        f"{result['duplicates']} duplicates, failures: {failures}"
    )


@app.command()
def digest(
    day: Annotated[
        str | None, typer.Option(help="Day to digest, YYYY-MM-DD (default: yesterday, UTC).")
    ] = None,
    all_days: Annotated[
        bool, typer.Option("--all-days", help="Write a digest for every day with articles.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for digest files (default: digests/ beside the database)."),
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Write the daily digest: per topic, the day's articles, stories and outlets.

    Example: newswatch digest --day 2026-01-05
    """
    from flows.digest import digest as digest_flow

    if day is not None:
        _parse_day(day)
    settings = _settings(feeds, watchlist, db)
    paths = digest_flow(
        day=day,
        all_days=all_days,
        watchlist=str(settings.watchlist),
        db=str(settings.db),
        out=str(out) if out else None,
    )
    for path in paths:
        console.print(path)


@app.command()
def reprocess(
    since: Annotated[
        str | None, typer.Option(help="Only articles fetched since this day, YYYY-MM-DD.")
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Re-extract and re-tag stored articles from the raw archive, with no network: rows are
    updated in place, so counts do not change.

    Example: newswatch reprocess --since 2026-01-01
    """
    from flows.reprocess import reprocess as reprocess_flow

    if since is not None:
        _parse_day(since)
    settings = _settings(feeds, watchlist, db)
    counts = reprocess_flow(since=since, watchlist=str(settings.watchlist), db=str(settings.db))
    console.print(
        f"reprocess: {counts['pages']} pages re-extracted from the archive, "
        f"{counts['posts']} posts re-tagged, {counts['unchanged_missing']} not in the archive "
        f"and {counts['unchanged_failed']} no longer extracting (left as they were)"
    )


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a day like 2026-01-05", param_hint="--day"
        ) from None


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="The SQL to run (read-only).")],
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Run SQL against the warehouse (opened read-only) and print the result as a table.

    Example: newswatch sql "select topic, count(*) from topic_matches group by all"
    """
    import duckdb

    from warehouse.db import connect
    from warehouse.queries import run_query

    settings = _settings(feeds, watchlist, db)
    with connect(settings.db, read_only=True) as con:
        try:
            columns, rows = run_query(con, query)
        except duckdb.Error as exc:
            raise NewswatchError(f"SQL error: {exc}") from exc
    console.print(_table(columns, rows))


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    table.caption = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    return table


sources_app = typer.Typer(invoke_without_command=True)
app.add_typer(sources_app, name="sources")

HEALTH_COLUMNS = {
    "name": "source",
    "kind": "kind",
    "last_poll_at": "last poll",
    "status": "status",
    "failure_score": "failures",
    "next_poll_at": "next poll",
    "volume": "7 days / usual",
    "problem": "problem",
}


@sources_app.callback()
def sources(
    ctx: typer.Context,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Show each configured source's health: last poll and result, failure score, next poll,
    entries in the last 7 days against its usual weekly volume, and why it is disabled.

    Example: newswatch sources --db data/newswatch.duckdb
    """
    if ctx.invoked_subcommand is not None:
        return
    from datetime import UTC, datetime

    from warehouse.db import connect
    from warehouse.queries import source_health

    settings = _settings(feeds, watchlist, db)
    with connect(settings.db, read_only=True) as con:
        rows = source_health(con, datetime.now(UTC))
    table = _table(list(HEALTH_COLUMNS.values()), [_health_row(r) for r in rows])
    console.print(table)


def _health_row(row: dict[str, Any]) -> tuple[Any, ...]:
    status = row["last_result"] or "never polled"
    if row["last_status"]:
        status += f" ({row['last_status']})"
    quiet = row["usual_7d"] >= 3 and row["entries_7d"] < row["usual_7d"] / 3
    volume = f"{row['entries_7d']} / {row['usual_7d']:g}" + (" QUIET" if quiet else "")
    if row["disabled_reason"]:
        problem = f"DISABLED: {row['disabled_reason']}"
    elif row["slow_retry"]:
        problem = f"SLOW RETRY: {row['last_error_kind']}: {row['last_error']}"
    elif row["last_error_kind"]:
        problem = f"{row['last_error_kind']}: {row['last_error']}"
    else:
        problem = ""
    values = row | {"status": status, "volume": volume, "problem": problem}
    return tuple(_short(values[c]) for c in HEALTH_COLUMNS)


@sources_app.command("enable")
def sources_enable(
    name: Annotated[str, typer.Argument(help="The source's name, as in feeds.yaml.")],
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Re-enable a disabled source and forget its failures; it is polled on the next run.

    Example: newswatch sources enable "Meduza"
    """
    from warehouse.db import connect
    from warehouse.load import enable_source

    settings = _settings(feeds, watchlist, db)
    with connect(settings.db) as con:
        if not enable_source(con, name):
            raise NewswatchError(f"no source named {name!r} in {settings.db}")
    console.print(f"{name}: enabled, polled on the next ingest run")


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="A feed, a site page, or a t.me channel.")],
    language: Annotated[str, typer.Option(help="ISO 639-1 code of the source's language.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code of the outlet.")],
    name: Annotated[str | None, typer.Option(help="Name (default: the feed's title).")] = None,
    outlet: Annotated[str | None, typer.Option(help="Outlet (default: the name).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Find and check, save nothing.")
    ] = False,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Find the feed of a site (autodiscovery, then common paths), check that it parses to
    entries, and add it to the feeds file.

    Example: newswatch sources add https://meduza.io/en --language en --country LV
    """
    from extractors.records import Source
    from flows.discover import discover
    from newswatch.config import append_sources

    settings = _settings(feeds, watchlist, db)
    found = discover(settings, url)
    for tried, why in found.tried:
        console.print(f"  tried {tried}: {why}", markup=False)
    if found.feed_url is None or found.kind is None:
        raise NewswatchError(f"no working feed found for {url} ({len(found.tried)} URLs tried)")
    title = name or found.title or found.feed_url
    source = Source(title, found.kind, found.feed_url, language, country, outlet or title)
    console.print(
        f"found {found.kind} feed {found.feed_url} ({found.entries} entries): {title}", markup=False
    )
    if not dry_run:
        append_sources(settings.feeds, [source])
        console.print(f"added to {settings.feeds}; polled on the next ingest run")


@sources_app.command("import-opml")
def sources_import_opml(
    opml: Annotated[Path, typer.Argument(help="The OPML file to read.")],
    language: Annotated[str, typer.Option(help="Language for outlines that name none.")] = "en",
    country: Annotated[str, typer.Option(help="Country for outlines that name none.")] = "US",
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Add the feeds of an OPML subscription list to the feeds file (known URLs are skipped).

    Example: newswatch sources import-opml subscriptions.opml --language en --country US
    """
    from extractors.opml import parse_opml
    from extractors.records import Source
    from newswatch.config import append_sources, load_sources

    settings = _settings(feeds, watchlist, db)
    if not opml.is_file():
        raise NewswatchError(f"{opml}: no such file")
    outlines = parse_opml(opml.read_bytes(), str(opml))
    known = load_sources(settings.feeds) if settings.feeds.exists() else []
    urls, names = {s.url for s in known}, {s.name for s in known}
    new = []
    for o in outlines:
        if o.xml_url in urls:
            continue
        name = _unique(o.title or o.xml_url, names)
        names.add(name)
        urls.add(o.xml_url)
        # OPML often says "en-us"; feeds.yaml wants the ISO 639-1 code.
        lang = (o.language or language).split("-")[0].lower()
        # Our own export groups outlines by language: such a category is no tag.
        tags = (o.category,) if o.category and o.category != lang else ()
        new.append(
            Source(
                name,
                o.kind or "rss",
                o.xml_url,
                lang,
                o.country or country,
                o.outlet or name,
                tags=tags,
            )
        )
    if new:
        append_sources(settings.feeds, new)
    console.print(f"{len(new)} sources added to {settings.feeds}, {len(outlines) - len(new)} known")


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


@sources_app.command("export-opml")
def sources_export_opml(
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Write the feeds file's sources as OPML 2.0, for other feed readers.

    Example: newswatch sources export-opml --output newswatch.opml
    """
    from extractors.opml import write_opml
    from newswatch.config import load_sources

    settings = _settings(feeds, watchlist, db)
    text = write_opml(load_sources(settings.feeds))
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def _short(value: Any) -> Any:
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and len(value) > 70:
        return value[:67] + "..."
    return value


@app.command()
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
    from newswatch.demo import SUMMARY_SQL, run_demo

    settings = _settings(None, watchlist, db)
    report = run_demo(snapshot, settings, console.print)
    _print_ingest(report.ingest)
    console.print(
        f"\nDuckDB: {report.db} ({report.articles} articles from {report.sources} sources)"
    )
    latest = report.digests[-1] if report.digests else "-"
    console.print(f"Digests: {len(report.digests)} days, latest {latest}")
    console.print(f'\n$ newswatch sql "{SUMMARY_SQL}"')
    console.print(_table(report.columns, report.rows))


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        app()
    except NewswatchError as exc:
        if debug:
            raise
        print(f"newswatch: error: {exc}", file=sys.stderr)
        sys.exit(1)
