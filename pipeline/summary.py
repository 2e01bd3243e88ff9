"""What one ingest run did, counted as it goes: stored in `runs.counts`, returned by the flow,
and the source of the run's status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestSummary:
    """What one run did; stored in `runs.counts` and returned by the flow."""

    run_id: str
    sources: int = 0
    feeds_failed: int = 0
    feeds_not_modified: int = 0
    entries_new: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    articles_new: int = 0
    duplicates: int = 0
    entries_waiting: int = 0  # pending beyond max_entries_per_source, left for the next runs
    failures: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "run_id"}

    def failure(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1

    def loaded(self, counts: dict[str, int]) -> None:
        self.articles_new += counts["stored"]
        self.duplicates += counts["duplicates"]

    def status(self) -> str:
        if self.sources and self.feeds_failed == self.sources:
            return "failed"
        return "partial" if self.feeds_failed or self.pages_failed else "completed"
