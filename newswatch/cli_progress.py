"""What a hand-run command shows while it works: a line per stage of the run, a progress
bar while pages are fetched (on a terminal only), and the logs only with `--verbose`.

No Prefect here: the commands call `newswatch.runs` directly (see `cli_run`), so there are
no flow or task logs to quiet; `--verbose` shows newswatch's own log lines (the resolved
settings, every failed feed and page, waits for the database) on stderr.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

RUN_LOGGER = "newswatch.run"


def quiet_logs() -> None:
    """Log records of ERROR and up on stderr, nothing below: what every command starts with
    (`cli.main`), so that a warning (a wait for the database) does not add lines to the
    one-line messages of `sql` and the like."""
    logging.basicConfig(
        level=logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def run_log(verbose: bool) -> logging.Logger:
    """The logger a command hands to its run; with `--verbose`, INFO and up are shown (on
    stderr), otherwise only errors (each failure is counted in the summary line instead)."""
    if verbose:
        logging.getLogger().setLevel(logging.INFO)
    return logging.getLogger(RUN_LOGGER)


class Printer:
    """A `pipeline.progress.Progress` that prints each stage's line on `console`, and on a
    terminal a bar of the pages fetched so far."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bar: Bar | None = None

    def stage(self, line: str) -> None:
        self._console.print(line, markup=False, highlight=False)

    def pages(self, total: int) -> None:
        if not self._console.is_terminal or total < 2:
            return
        self._bar = Bar(
            "fetching pages",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._bar.add_task("pages", total=total)
        self._bar.start()

    def page(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._bar.task_ids[0])

    def pages_done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
