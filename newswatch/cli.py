"""The `newswatch` command line: thin commands that load settings and call library code.

The app and the options every command shares are in `cli_common`; the commands, by what
they do, in `cli_run` (ingest, digest, reprocess, retag, rebuild), `cli_query` (explain,
sql, search, index), `cli_sources` (sources ...) and `cli_serve` (serve, demo). Every command takes
`--feeds`, `--watchlist` and `--db` (or `NEWSWATCH_FEEDS`, `NEWSWATCH_WATCHLIST`,
`NEWSWATCH_DB`). A `NewswatchError` ends the command with one line on stderr and exit code 1;
`--debug` shows the traceback instead. `newswatch config` (`cli_config`) prints the resolved
settings and where each came from.
"""

from __future__ import annotations

import logging
import sys

from newswatch import cli_config, cli_query, cli_run, cli_serve, cli_sources
from newswatch.cli_common import app
from newswatch.cli_progress import quiet_logs
from newswatch.errors import NewswatchError

__all__ = ["app", "main"]

# Every command, in the order `newswatch --help` lists them.
for _command in (
    cli_run.ingest,
    cli_run.digest,
    cli_run.reprocess,
    cli_run.retag,
    cli_run.rebuild,
    cli_query.explain,
    cli_query.sql,
    cli_query.search,
    cli_query.index,
):
    # SQL pasted from the README may start with a `-- comment` line: an argument there,
    # not an unknown option.
    raw = {"ignore_unknown_options": True} if _command is cli_query.sql else None
    app.command(context_settings=raw)(_command)
app.command()(cli_config.config)
app.add_typer(cli_sources.sources_app, name="sources")
app.command()(cli_serve.serve)
app.command()(cli_serve.demo)


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
    quiet_logs()
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    else:
        for name in ("prefect.flow_runs", "prefect.task_runs"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, _OneLineForExpectedErrors) for f in logger.filters):
                logger.addFilter(_OneLineForExpectedErrors())
    try:
        app()
    except NewswatchError as exc:
        if debug:
            raise
        print(f"newswatch: error: {exc}", file=sys.stderr)
        sys.exit(1)
