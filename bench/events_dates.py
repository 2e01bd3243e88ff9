"""When the SemEval-2022 Task 8 articles were published, read off their ids (issue 17).

SemEval gives no dates, but its article ids are Media Cloud story ids, numbered as the
stories were collected: a clock. This script reads it. It takes every article whose text
carries a full date of 2020 (ISO, 14.04.2020, "April 14, 2020", "14 April 2020"; the latest
one in the text, as a report names the day it was written, or earlier days), fits date =
slope * id + intercept by Theil-Sen (the median of the slopes of random pairs of articles,
then the median intercept: dates in a text that are not its own day do not pull it), and
prints the fit, how far the dated articles lie from it, and the clock `labels.yaml` holds
(`semeval.story_clock`, which tests/data/events/devset.py gives every article as its
publication time). bench/events.py uses those times for linking's own time gate: two
articles further apart than the window are never linked, so the pairs are judged as ingest
judges them.

Run: `.venv/bin/python bench/events_dates.py` (reads ../shared; prints SKIP without it)
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # before bench/: its events.py is not the `events` package

from tests.data.events import devset  # noqa: E402

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = "(" + "|".join(_MONTHS) + ")"
_DATES = (  # (pattern, groups of year, month, day)
    (re.compile(r"\b(2020)-(\d\d)-(\d\d)\b"), (1, 2, 3)),
    (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(2020)\b"), (3, 2, 1)),
    (re.compile(rf"\b{_MONTH}\s+(\d{{1,2}}),?\s+(2020)\b", re.I), (3, 1, 2)),
    (re.compile(rf"\b(\d{{1,2}})\s+{_MONTH},?\s+(2020)\b", re.I), (3, 2, 1)),
)


def _latest_date(text: str) -> date | None:
    found = []
    for pattern, (y, m, d) in _DATES:
        for match in pattern.finditer(text):
            month = match[m]
            month_number = int(month) if month.isdigit() else _MONTHS.index(month.lower()) + 1
            try:
                found.append(date(int(match[y]), month_number, int(match[d])))
            except ValueError:
                continue
    return max(found, default=None)


def dated_articles() -> list[tuple[int, date]]:
    """(story id, latest 2020 date in its text) of every article of both files that has one."""
    rule = devset.labels()["semeval"]
    seen: dict[str, tuple[int, date] | None] = {}
    for name in (rule["fit"], rule["held_out"]):
        for row in devset.semeval_rows(name):
            for side, article_id in enumerate(row["pair_id"].split("_"), start=1):
                if article_id not in seen:
                    day = _latest_date(row[f"text{side}"])
                    number = int(devset.story_number(article_id))
                    seen[article_id] = None if day is None else (number, day)
    return [v for v in seen.values() if v is not None]


def theil_sen(x: np.ndarray, y: np.ndarray, pairs: int = 20_000) -> tuple[float, float]:
    """Slope and intercept: the median slope of `pairs` random pairs of points (seeded),
    then the median intercept."""
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(x), (2, pairs))
    keep = x[i] != x[j]
    slope = float(np.median((y[i] - y[j])[keep] / (x[i] - x[j])[keep]))
    return slope, float(np.median(y - slope * x))


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    try:
        points = dated_articles()
    except devset.SharedMissing as exc:
        print(f"SKIP: {exc}")
        return 0
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1].toordinal() for p in points], dtype=float)
    slope, intercept = theil_sen(x, y)
    residual = y - (slope * x + intercept)
    print(f"SemEval articles with a full date of 2020 in their text: {len(points)}")
    print(f"fit: {slope * 1e6:.3f} days per million story ids (Theil-Sen)")
    quantiles = ", ".join(f"{np.percentile(residual, q):+.1f}" for q in (10, 25, 50, 75, 90))
    print(f"days from the fit, 10/25/50/75/90th percentiles: {quantiles}")
    clock = devset.labels()["semeval"]["story_clock"]
    at = datetime.fromisoformat(str(clock["at"]))
    fitted = date.fromordinal(round(slope * clock["id"] + intercept))
    print(
        f"labels.yaml's clock: story {clock['id']:,} at {at:%Y-%m-%d %H:%M},"
        f" {clock['days_per_million']} days per million ids;"
        f" this fit puts story {clock['id']:,} on {fitted}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
