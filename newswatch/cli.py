"""The `newswatch` command line: thin commands that load settings and call flows and queries.

Every command takes `--feeds`, `--watchlist` and `--db` (or `NEWSWATCH_FEEDS`,
`NEWSWATCH_WATCHLIST`, `NEWSWATCH_DB`). A `NewswatchError` ends the command with one line on
stderr and exit code 1; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from enum import StrEnum
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
    shard: Annotated[
        str | None,
        typer.Option(help="Only shard k/n of the sources, e.g. 1/2 (workers sharing a lake)."),
    ] = None,
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
        shard=shard,
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
    # Beyond NEWSWATCH_MAX_ENTRIES_PER_SOURCE: recorded, fetched by the next runs.
    waiting = result.get("entries_waiting", 0)
    console.print(
        f"ingest {result['status']}: {result['sources']} sources polled "
        f"({result['feeds_failed']} failed, {result['feeds_not_modified']} not modified), "
        f"{result['entries_new']} new entries, {result['articles_new']} new articles, "
        f"{result['duplicates']} duplicates, failures: {failures}"
        + (f"; {waiting} entries wait for the next runs" if waiting else "")
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
    """Write the daily digest as Markdown, HTML and JSON: per topic, the top stories by
    outlets, new and continuing, a spike flag, a 14-day chart, quotes and outlets.

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
    for path in paths:  # the Markdown; the HTML and JSON of the same day lie beside it
        console.print(f"{path} (+ .html, .json)", markup=False)


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


@app.command()
def retag(
    all_articles: Annotated[
        bool, typer.Option("--all", help="Re-tag every article, whatever it was tagged with.")
    ] = False,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Tag stored articles again from their stored title and text, after the watchlist
    changed: only those tagged with another watchlist version, unless --all.

    Example: newswatch retag --watchlist seeds/watchlist.yaml
    """
    from extractors.topics import load_watchlist
    from flows.retag import retag_articles

    settings = _settings(feeds, watchlist, db)
    load_watchlist(settings.watchlist)  # a broken watchlist fails here, in one line
    counts = retag_articles(
        all_articles=all_articles, watchlist=str(settings.watchlist), db=str(settings.db)
    )
    console.print(
        f"retag: {counts['articles']} articles re-tagged with watchlist {counts['version']} "
        f"({counts['matches']} topic matches, {counts['about']} about) "
        f"in {counts['seconds']:.2f} s"
    )


@app.command()
def explain(
    article: Annotated[str, typer.Argument(help="The article id (or the start of it).")],
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Show why an article is tagged as it is: each topic's score and its parts, and every
    matched span with its offsets, alias and snippet, under the current watchlist; and what
    the warehouse holds for it.

    Example: newswatch explain 3f2a9c1d04b7e815
    """
    from extractors.topics import load_watchlist
    from newswatch.explain import render_explanation
    from warehouse.db import connect
    from warehouse.queries import find_articles, stored_matches

    settings = _settings(feeds, watchlist, db)
    wl = load_watchlist(settings.watchlist)
    with connect(settings.warehouse_url, read_only=True) as con:
        found = find_articles(con, article)
        if len(found) > 1 and found[0]["id"] != article:
            ids = ", ".join(a["id"] for a in found)
            raise NewswatchError(f"{article!r} starts several article ids ({ids}): give more")
        if not found:
            raise NewswatchError(
                f"no article {article!r} in {settings.db} "
                '(ids: newswatch sql "select id, title from articles")'
            )
        stored = stored_matches(con, found[0]["id"])
    render_explanation(console, wl, found[0], stored)


def _parse_day(value: str, option: str = "--day") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a day like 2026-01-05", param_hint=option
        ) from None


class SqlFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="The SQL to run (read-only).")],
    fmt: Annotated[
        SqlFormat,
        typer.Option("--format", help="table (printed), csv, json (an array of objects), parquet."),
    ] = SqlFormat.table,
    output: Annotated[
        Path | None,
        typer.Option(help="Write the rows to this file (csv, json, parquet) instead of stdout."),
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Run SQL against the warehouse (opened read-only) and print the result as a table, or
    write it as csv, json or parquet. While an ingest run holds the database it says so.

    Example: newswatch sql "select * from story_spread" --format parquet --output spread.parquet
    """
    import duckdb

    from warehouse.db import connect
    from warehouse.queries import export_query, run_query

    fmt_name = fmt.value
    if fmt_name == "table" and output is not None:
        raise typer.BadParameter("--output needs --format csv, json or parquet")
    if fmt_name == "parquet" and output is None:
        raise typer.BadParameter("parquet is binary: give --output FILE", param_hint="--format")
    settings = _settings(feeds, watchlist, db)
    with connect(settings.warehouse_url, read_only=True) as con:
        try:
            if fmt_name == "table":
                columns, rows = run_query(con, query)
            elif output is not None:
                count = export_query(con, query, fmt_name, output)
            else:
                _export_to_stdout(con, query, fmt_name)
        except duckdb.Error as exc:
            raise NewswatchError(f"SQL error: {exc}") from exc
    if fmt_name == "table":
        console.print(_table(columns, rows))
    elif output is not None:
        console.print(f"wrote {count} row{'s' if count != 1 else ''} to {output} ({fmt_name})")


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help='Words that must all be in the article; "a phrase" in quotes.')
    ],
    topic: Annotated[str | None, typer.Option(help="Only articles tagged with this topic.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only articles published on or after this day, YYYY-MM-DD.")
    ] = None,
    outlet: Annotated[
        str | None, typer.Option(help="Only outlets whose name contains this (any case).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Only this language (ISO 639-1).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many articles.")] = 20,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Full-text search of the articles' titles and texts, best match first (BM25), with
    filters. Opens the database read-only; `newswatch index` (or the search-index
    deployment, after each scheduled ingest) brings the index up to date.

    Example: newswatch search '"drone attack" Kyiv' --topic ukraine --since 2026-01-01
    """
    from warehouse.db import connect
    from warehouse.search import SearchFilters
    from warehouse.search import search as search_articles

    day = _parse_day(since, "--since") if since is not None else None
    filters = SearchFilters(topic, day, outlet, language, limit)
    settings = _settings(feeds, watchlist, db)
    with connect(settings.warehouse_url, read_only=True) as con:
        result = search_articles(con, query, filters)
    if result.unsearchable:
        print(
            f"newswatch: note: {result.unsearchable} articles are new or changed since the "
            f"search index was built ({result.indexed_at:%Y-%m-%d %H:%M} UTC) and are not "
            "searched as they are now; `newswatch index` indexes them",
            file=sys.stderr,
        )
    if not result.hits:
        console.print("no article matches", markup=False)
    for n, hit in enumerate(result.hits, 1):
        # Article text is printed as it is: never as console markup.
        console.print(
            f"{n}. {hit.published:%Y-%m-%d %H:%M} {hit.outlet} ({hit.language or '?'}) "
            f"score {hit.score:.2f}: {hit.title}\n   {hit.url}\n   {hit.snippet}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def index(
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Bring the full-text search index up to date with the stored articles (what the
    search-index deployment does five minutes after each scheduled ingest).

    Example: newswatch index --db data/newswatch.duckdb
    """
    from flows.search_index import refresh_index

    settings = _settings(feeds, watchlist, db)
    builds = refresh_index(str(settings.db))
    for b in builds:
        articles = f"{b.articles} article{'s' if b.articles != 1 else ''}"
        console.print(f"search index: {b.tier} rebuilt over {articles} in {b.seconds:.2f} s")
    if not builds:
        console.print("search index: already up to date")


def _export_to_stdout(con: Any, query: str, fmt: str) -> None:
    import tempfile

    from warehouse.queries import export_query

    with tempfile.TemporaryDirectory(prefix="newswatch-sql-") as tmp:
        path = Path(tmp) / f"result.{fmt}"
        export_query(con, query, fmt, path)
        sys.stdout.write(path.read_text(encoding="utf-8"))


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
    with connect(settings.warehouse_url, read_only=True) as con:
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
    with connect(settings.warehouse_url) as con:
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
def serve(
    project: Annotated[
        Path | None,
        typer.Option(help="Folder with prefect.yaml [default: $NEWSWATCH_HOME, else here]."),
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Run the deployments of prefect.yaml on their schedules (ingest every 15 minutes, digest
    daily at 06:00 UTC) until Ctrl-C. Without PREFECT_API_URL it starts a local Prefect server
    (SQLite under PREFECT_HOME, UI on 127.0.0.1) and stops it on exit. The runs read their
    settings from the environment; --feeds, --watchlist and --db are passed on through it.

    Example: PREFECT_HOME=data/prefect newswatch serve --db data/newswatch.duckdb
    """
    from flows.serve import serve as serve_deployments

    folder = (project or Path(os.environ.get("NEWSWATCH_HOME") or ".")).resolve()
    settings = _settings(feeds, watchlist, db)
    _check_config(settings)
    # Relative paths would be read from the project folder the runs start in: make them whole.
    os.environ["NEWSWATCH_FEEDS"] = str(settings.feeds.resolve())
    os.environ["NEWSWATCH_WATCHLIST"] = str(settings.watchlist.resolve())
    os.environ["NEWSWATCH_DB"] = str(settings.db.resolve())
    serve_deployments(folder, lambda line: console.print(line, markup=False))


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


class _OneLineForExpectedErrors(logging.Filter):
    """Prefect logs the exception that ended a flow or task with its traceback. For a
    `NewswatchError` (a locked database, a bad config: said in one line, acted on by the
    user) the traceback is noise; `--debug` keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], NewswatchError):
            record.exc_info = None
            record.exc_text = None
        return True


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    else:
        for name in ("prefect.flow_runs", "prefect.task_runs"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, _OneLineForExpectedErrors) for f in logger.filters):
                logger.addFilter(_OneLineForExpectedErrors())
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        app()
    except NewswatchError as exc:
        if debug:
            raise
        print(f"newswatch: error: {exc}", file=sys.stderr)
        sys.exit(1)
