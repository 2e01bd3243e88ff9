"""`newswatch explain`, `sql`, `search` and `index`: reading the warehouse."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from newswatch.cli_common import (
    DbOption,
    FeedsOption,
    WaitOption,
    WatchlistOption,
    cli_settings,
    console,
    parse_day,
    require_warehouse,
    rows_table,
)
from newswatch.errors import NewswatchError


def explain(
    article: Annotated[
        str,
        typer.Argument(help="The article id, the start of it, or the start of its hash."),
    ],
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    wait: WaitOption = None,
) -> None:
    """Show why an article is tagged as it is: each topic's score and its parts, and every
    matched span with its offsets, alias and snippet, under the current watchlist; and what
    the warehouse holds for it.

    Example: newswatch explain 3f9c2a1b (of the article a2026010514-3f9c2a1b7d4e)
    """
    from extractors.topics import load_watchlist
    from newswatch.explain import render_explanation
    from warehouse.db import connect
    from warehouse.queries import find_articles, stored_matches

    settings = cli_settings(feeds, watchlist, db, wait)
    wl = load_watchlist(settings.watchlist)
    with connect(settings.warehouse_url, read_only=True, wait=settings.lock_wait) as con:
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


class SqlFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def sql(
    query: Annotated[
        str | None,
        typer.Argument(help="The SQL to run (read-only); - reads stdin.", show_default=False),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read the SQL from this file instead.")
    ] = None,
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
    wait: WaitOption = None,
) -> None:
    """Run SQL against the warehouse (opened read-only) and print the result as a table, or
    write it as csv, json or parquet. An ingest run holds the database only while it stores
    a batch: the query waits for it (--wait), then says which process holds it.
    The SQL may start with `-- comments`, as the README's queries do.

    Example: newswatch sql "select * from story_spread" --format parquet --output spread.parquet
    Example: newswatch sql --file spread.sql, or: newswatch sql - < spread.sql
    """
    import duckdb

    from warehouse.analyst import export_query, run_query
    from warehouse.db import connect

    fmt_name = fmt.value
    if fmt_name == "table" and output is not None:
        raise typer.BadParameter("--output needs --format csv, json or parquet")
    if fmt_name == "parquet" and output is None:
        raise typer.BadParameter("parquet is binary: give --output FILE", param_hint="--format")
    query = read_sql(query, file)
    settings = cli_settings(feeds, watchlist, db, wait)
    with connect(settings.warehouse_url, read_only=True, wait=settings.lock_wait) as con:
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
        console.print(rows_table(columns, rows))
    elif output is not None:
        console.print(f"wrote {count} row{'s' if count != 1 else ''} to {output} ({fmt_name})")


def read_sql(query: str | None, file: Path | None) -> str:
    """The SQL to run: the argument, stdin for "-", or the --file; one of them, not empty."""
    if (query is None) == (file is None):
        raise typer.BadParameter("give the SQL as an argument, or --file PATH (not both)")
    if file is not None:
        try:
            query = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NewswatchError(f"{file}: cannot read the SQL: {exc}") from exc
    elif query == "-":
        query = sys.stdin.read()
    assert query is not None
    if not _without_comments(query).strip(" \t\r\n;"):
        raise NewswatchError(
            'no SQL to run (the query is empty); e.g. newswatch sql "select * from story_spread"'
        )
    return query


def _without_comments(query: str) -> str:
    lines = (line.split("--", 1)[0] for line in query.splitlines())
    return "\n".join(lines)


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
    wait: WaitOption = None,
) -> None:
    """Full-text search of the articles' titles and texts, best match first (BM25), with
    filters. Opens the database read-only; `newswatch index` (or the search-index
    deployment, after each scheduled ingest) brings the index up to date.

    Each result shows the article's id, for `newswatch explain ID`.

    Example: newswatch search '"drone attack" Kyiv' --topic ukraine --since 2026-01-01
    """
    from warehouse.db import connect
    from warehouse.search import SearchFilters
    from warehouse.search import search as search_articles

    day = parse_day(since, "--since") if since is not None else None
    filters = SearchFilters(topic, day, outlet, language, limit)
    settings = cli_settings(feeds, watchlist, db, wait)
    with connect(settings.warehouse_url, read_only=True, wait=settings.lock_wait) as con:
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
            f"score {hit.score:.2f}: {hit.title}\n   {hit.url}  id {hit.article_id}"
            f"\n   {hit.snippet}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def index(
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    wait: WaitOption = None,
) -> None:
    """Bring the full-text search index up to date with the stored articles (what the
    search-index deployment does five minutes after each scheduled ingest).

    Example: newswatch index --db data/newswatch.duckdb
    """
    from pipeline.search_index import refresh_index

    settings = cli_settings(feeds, watchlist, db, wait)
    require_warehouse(settings)
    builds = refresh_index(settings.warehouse_url, settings.lock_wait)
    for b in builds:
        articles = f"{b.articles} article{'s' if b.articles != 1 else ''}"
        console.print(f"search index: {b.tier} rebuilt over {articles} in {b.seconds:.2f} s")
    if not builds:
        console.print("search index: already up to date")


def _export_to_stdout(con: Any, query: str, fmt: str) -> None:
    import tempfile

    from warehouse.analyst import export_query

    with tempfile.TemporaryDirectory(prefix="newswatch-sql-") as tmp:
        path = Path(tmp) / f"result.{fmt}"
        export_query(con, query, fmt, path)
        sys.stdout.write(path.read_text(encoding="utf-8"))
