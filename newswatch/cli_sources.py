"""`newswatch sources` and its subcommands: the health of each source, and managing the
feeds file (add with feed discovery, remove, pause, resume, enable, OPML import and export).

The list follows `feeds.yaml` as it is now (a source added, removed or paused shows so at
once, not after the next ingest); the warehouse supplies each source's history. Commands
that edit the file bring the warehouse's `sources` table along when they can (`_sync`)."""

from __future__ import annotations

import sys
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
    rows_table,
    short,
)
from newswatch.errors import NewswatchError

sources_app = typer.Typer(invoke_without_command=True)

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
    wait: WaitOption = None,
) -> None:
    """Show each configured source's health: last poll and result, failure score, next poll,
    entries in the last 7 days against its usual weekly volume, and why it is disabled.

    Example: newswatch sources --db data/newswatch.duckdb
    """
    if ctx.invoked_subcommand is not None:
        return
    from datetime import UTC, datetime

    from newswatch.config import load_sources
    from warehouse.db import connect
    from warehouse.queries import source_health

    settings = cli_settings(feeds, watchlist, db, wait)
    configured = load_sources(settings.feeds)
    stored: list[dict[str, Any]] = []
    if _has_warehouse(settings):
        with connect(settings.warehouse_url, read_only=True, wait=settings.lock_wait) as con:
            stored = source_health(con, datetime.now(UTC))
    rows, removed = merge_health(configured, stored)
    table = rows_table(list(HEALTH_COLUMNS.values()), [_health_row(r) for r in rows])
    if removed:
        table.caption = (
            f"{table.caption}; removed from {settings.feeds}, history kept: {', '.join(removed)}"
        )
    console.print(table)
    if removed and len(removed) == len(stored):
        console.print(_other_file_hint(settings, len(configured), len(removed)))


def _other_file_hint(settings: Any, configured: int, stored: int) -> str:
    """Said when the warehouse knows none of the file's sources: it was filled from another
    sources file (`make demo` polls data/demo-feeds.yaml, not seeds/feeds.yaml)."""
    hint = (
        f"None of the {configured} sources of {settings.feeds} is in the warehouse; it holds "
        f"{stored} others, polled from another sources file"
    )
    demo = settings.data_dir / "demo-feeds.yaml"
    if demo.exists():
        hint += f" (the demo's: newswatch sources --feeds {demo})"
    return hint + "."


def merge_health(
    configured: list[Any], stored: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows to show, one per source of the feeds file as it is now (a source the
    warehouse has not seen yet is "new"), in the warehouse's order then the file's; and the
    names the warehouse keeps that the file no longer has."""
    by_name = {r["name"]: r for r in stored}
    names = {s.name for s in configured}
    order = [r["name"] for r in stored if r["name"] in names]
    order += [s.name for s in configured if s.name not in by_name]
    sources = {s.name: s for s in configured}
    rows = [_current(sources[name], by_name.get(name)) for name in order]
    removed = sorted(r["name"] for r in stored if r["name"] not in names)
    return rows, removed


def _current(source: Any, row: dict[str, Any] | None) -> dict[str, Any]:
    blank = dict.fromkeys(
        ("last_poll_at", "last_result", "last_status", "last_error_kind", "last_error"),
        None,
    )
    base = row or blank | {
        "failure_score": 0,
        "next_poll_at": None,
        "entries_7d": 0,
        "usual_7d": 0,
        "slow_retry": False,
        "disabled_reason": None,
        "new": True,
    }
    return base | {"name": source.name, "kind": source.kind, "paused": source.paused}


def _has_warehouse(settings: Any) -> bool:
    """False for a DuckDB file that does not exist yet (nothing polled so far)."""
    from warehouse.db import parse_url

    where = parse_url(settings.warehouse_url)
    return where.is_lake or bool(where.file and where.file.exists())


def _health_row(row: dict[str, Any]) -> tuple[Any, ...]:
    from pipeline.schedule import CONFIG_ERRORS

    status = row["last_result"] or ("new: not polled yet" if row.get("new") else "never polled")
    if row["last_status"]:
        status += f" ({row['last_status']})"
    quiet = row["usual_7d"] >= 3 and row["entries_7d"] < row["usual_7d"] / 3
    volume = f"{row['entries_7d']} / {row['usual_7d']:g}" + (" QUIET" if quiet else "")
    if row.get("paused"):
        problem = "PAUSED (newswatch sources resume NAME)"
    elif row["disabled_reason"]:
        problem = f"DISABLED: {row['disabled_reason']}"
    elif row["slow_retry"]:
        problem = f"SLOW RETRY: {row['last_error_kind']}: {row['last_error']}"
    elif row["last_error_kind"] in CONFIG_ERRORS:
        problem = f"OUR CONFIG (not counted): {row['last_error_kind']}: {row['last_error']}"
    elif row["last_error_kind"]:
        problem = f"{row['last_error_kind']}: {row['last_error']}"
    else:
        problem = ""
    values = row | {"status": status, "volume": volume, "problem": problem}
    return tuple(short(values[c]) for c in HEALTH_COLUMNS)


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

    settings = cli_settings(feeds, watchlist, db)
    with connect(settings.warehouse_url) as con:
        if not enable_source(con, name):
            raise NewswatchError(f"no source named {name!r} in {settings.db}")
    console.print(f"{name}: enabled, polled on the next ingest run")


NameArgument = Annotated[str, typer.Argument(help="The source's name, as in feeds.yaml.")]


@sources_app.command("remove")
def sources_remove(
    name: NameArgument,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Remove a source from the feeds file (its comments and the other items stay as they
    are). The warehouse keeps its history: entries, articles and polls stay, and it is
    marked removed.

    Example: newswatch sources remove "Meduza"
    """
    from newswatch.feedsfile import remove_source

    settings = cli_settings(feeds, watchlist, db)
    gone = remove_source(settings.feeds, name)
    console.print(f"{gone.name}: removed from {settings.feeds} ({gone.url})", markup=False)
    console.print(_sync(settings, "its history is kept, marked removed"), markup=False)


@sources_app.command("pause")
def sources_pause(
    name: NameArgument,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Stop polling a source but keep it, with its history (`paused: true` in feeds.yaml).

    Example: newswatch sources pause "Meduza"
    """
    _set_paused(name, True, cli_settings(feeds, watchlist, db))


@sources_app.command("resume")
def sources_resume(
    name: NameArgument,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
) -> None:
    """Poll a paused source again, from the next ingest run.

    Example: newswatch sources resume "Meduza"
    """
    _set_paused(name, False, cli_settings(feeds, watchlist, db))


def _set_paused(name: str, paused: bool, settings: Any) -> None:
    from newswatch.feedsfile import set_paused

    word = "paused" if paused else "resumed"
    if not set_paused(settings.feeds, name, paused):
        console.print(f"{name}: already {'paused' if paused else 'polled'}", markup=False)
        return
    console.print(f"{name}: {word} in {settings.feeds}", markup=False)
    console.print(_sync(settings, f"marked {word}"), markup=False)


def _sync(settings: Any, what: str) -> str:
    """Bring the warehouse's sources in line with the feeds file, when it can be written
    now; says what happened. A warehouse in use follows at the next ingest."""
    from datetime import UTC, datetime

    from newswatch.config import load_sources
    from newswatch.errors import DatabaseInUse
    from warehouse.db import connect
    from warehouse.polls import sync_sources

    if not _has_warehouse(settings):
        return "no warehouse yet: nothing else to change"
    try:
        with connect(settings.warehouse_url) as con:
            sync_sources(con, load_sources(settings.feeds), datetime.now(UTC))
    except DatabaseInUse:
        return "the warehouse is in use: it follows the feeds file at the next ingest"
    return f"warehouse: {what}"


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
    from newswatch.config import append_sources
    from newswatch.options import fetch_options
    from pipeline.discover import discover

    settings = cli_settings(feeds, watchlist, db)
    known = _known_urls(settings)
    _refuse_known(url, known)
    found = discover(fetch_options(settings), url)
    for tried, why in found.tried:
        console.print(f"  tried {tried}: {why}", markup=False)
    if found.feed_url is None or found.kind is None:
        raise NewswatchError(f"no working feed found for {url} ({len(found.tried)} URLs tried)")
    _refuse_known(found.feed_url, known)
    title = name or found.title or found.feed_url
    source = Source(title, found.kind, found.feed_url, language, country, outlet or title)
    console.print(
        f"found {found.kind} feed {found.feed_url} ({found.entries} entries): {title}", markup=False
    )
    if not dry_run:
        append_sources(settings.feeds, [source])
        console.print(f"added to {settings.feeds}; polled on the next ingest run")


def _known_urls(settings: Any) -> dict[str, str]:
    """The canonical URL of every source of the feeds file, to its name."""
    from newswatch.config import load_sources

    if not settings.feeds.exists():
        return {}
    return {_canonical(s.url): s.name for s in load_sources(settings.feeds)}


def _canonical(url: str) -> str:
    """The URL as compared for duplicates: canonical (`extractors.urls`), and without the
    scheme, a leading www. and a trailing slash, which name the same feed in practice."""
    from extractors.urls import canonical_url

    try:
        url = canonical_url(url)
    except ValueError:
        return url
    bare = url.split("://", 1)[-1].removeprefix("www.")
    return bare.rstrip("/")


def _refuse_known(url: str, known: dict[str, str]) -> None:
    name = known.get(_canonical(url))
    if name is not None:
        raise NewswatchError(f"{url} is already in the feeds file, as {name!r}")


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

    settings = cli_settings(feeds, watchlist, db)
    if not opml.is_file():
        raise NewswatchError(f"{opml}: no such file")
    outlines = parse_opml(opml.read_bytes(), str(opml))
    known = load_sources(settings.feeds) if settings.feeds.exists() else []
    urls, names = {_canonical(s.url) for s in known}, {s.name for s in known}
    new = []
    for o in outlines:
        if _canonical(o.xml_url) in urls:
            continue
        name = _unique(o.title or o.xml_url, names)
        names.add(name)
        urls.add(_canonical(o.xml_url))
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

    settings = cli_settings(feeds, watchlist, db)
    text = write_opml(load_sources(settings.feeds))
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        sys.stdout.write(text)
