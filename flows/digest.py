"""The `digest` flow: per day, `digests/YYYY-MM-DD.json`, `.md` and `.html`.

The content and its rendering live in `digest/` (`digest.build`, `digest.model`,
`digest.render`); the run is `newswatch.runs.digest` (what `newswatch digest` runs without
Prefect); the flow adds each Markdown file as a Prefect artifact.

Per topic: how many articles, about and mentioning, from which outlets and languages; a spike
flag against the week before; a 14-day chart; the top stories, ranked by how many outlets
carried them (stories about the topic before stories that only mention it), each with who had
it first and when, the languages it crossed, whether it is new that day, and a quote of the
evidence line; the outlets that covered the topic most.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from digest.model import Digest
from newswatch import runs
from newswatch.settings import Settings, load_settings
from pipeline.progress import Logged


@flow(name="digest")
def digest(
    day: str | None = None,
    all_days: bool = False,
    watchlist: str | None = None,
    db: str | None = None,
    out: str | None = None,
    lock_wait: float = 0.0,
    settings: Settings | None = None,
) -> list[str]:
    """Write the digest of `day` (default yesterday, UTC), or of every day with articles:
    `.md`, `.html` and `.json` side by side. Returns the Markdown paths. Waits up to
    `lock_wait` seconds for a writer (an ingest run) to release the database file.
    `settings` (default: from the environment) with `watchlist` and `db` on top."""
    settings = load_settings(base=settings, watchlist=watchlist, db=db)
    log = get_run_logger()
    return runs.digest(
        settings,
        log,
        day=day,
        all_days=all_days,
        out=Path(out) if out else None,
        lock_wait=lock_wait,
        publish=_publish,
        progress=Logged(log),
    )


def _publish(day: Digest, paths: dict[str, Path]) -> None:
    """The day's Markdown as a Prefect artifact."""
    create_markdown_artifact(
        markdown=paths["md"].read_text(encoding="utf-8"),
        key=f"digest-{day.day.isoformat()}",
        description=f"newswatch digest of {day.day.isoformat()}",
    )
