"""Study (issue 19, session 22): bench/growth.py with article ids that start with the time.

`bench/growth_keys.py` found that a closing block costs more at 1M rows because its keys are
random. The warehouse's ids are: an article's is `sha1` of its canonical URL
(`warehouse.load.article_id`), and its story, topic matches, event link and event are keyed
by it (an event's id is `sha256` of its first article's id). Here the new articles' ids are
"~", the hour of their first sighting and 12 characters of that `sha1` (random within the
hour's range, after every stored id), and an event opened by such an article is "ev-" and
its id; the stored history keeps its random ids, as an upgraded warehouse would. Everything
else is bench/growth.py as it is (its arguments, its output), so the two runs compare.

Not what the warehouse does: the functions are replaced in this process only. A real change
would also look an article up by its URL (its id no longer derives from it) and keep ids
stable across runs and shards.

Run: `.venv/bin/python bench/growth_time_ids.py [bench/growth.py's arguments]`
"""

from __future__ import annotations

import hashlib
import sys
import time

import harness  # noqa: F401  (the repository ahead of bench/ on the path)

import events
import pipeline.events
import pipeline.stories
import warehouse.load

_first_seen: dict[str, str] = {}
_assign = sys.modules["events.assign"]  # `events.assign` is also the name of a function
_random_event_id = _assign.event_id


def time_article_id(canonical: str) -> str:
    """ "~", the hour the URL was first seen, 12 characters of its sha1."""
    if canonical not in _first_seen:
        hour = time.strftime("%Y%m%d%H", time.gmtime())
        _first_seen[canonical] = "~" + hour + hashlib.sha1(canonical.encode()).hexdigest()[:12]
    return _first_seen[canonical]


def time_event_id(first_article_id: str) -> str:
    """An event opened by a time-keyed article is keyed by it; older ones as before."""
    if first_article_id.startswith("~"):
        return "ev-" + first_article_id
    return _random_event_id(first_article_id)


def main() -> int:
    warehouse.load.article_id = time_article_id
    pipeline.stories.article_id = time_article_id  # imported by name there
    for module in (_assign, events, pipeline.events):
        module.event_id = time_event_id  # type: ignore[attr-defined]
    import growth

    print("study: new articles' ids start with the hour they were first seen (growth_time_ids)")
    return growth.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
