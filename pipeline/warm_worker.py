"""Imported once, by the server process that worker pools fork from (see
`pipeline.worker_server.start_worker_server`), never by anything else: importing it loads the
extractor and runs it once on a small page, so trafilatura, lxml, the language identifier's
model and the date parser are loaded and warm before any worker forks, and reads the country
names every watchlist counts. Each extraction worker then starts ready instead of spending
~1.4 s of CPU on that itself.
"""

from __future__ import annotations

import gc
import logging

from extractors.topics.countries import country_names

_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warm-up article</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Warm-up article</h1>
<p class="byline">By A. Writer, 5 January 2026</p>
<p>The committee met on Monday to review the harbour project, which has been delayed twice
since it was first announced. Members heard from engineers and residents about the costs,
the schedule and the effect of the works on the fishing fleet.</p>
<p>Officials said the first phase would be finished by the end of the year, while critics
argued that the estimates had not taken the new safety rules into account. A decision on the
second phase is expected next month, after a public consultation.</p>
<p>The mayor told reporters that the city would publish the full report on its website and
invited residents to comment before the end of February.</p>
</article><footer>Copyright 2026 Warm-up News</footer></body></html>"""


def _warm_up() -> None:
    """Extract the page once. Only `ExtractionError` is caught (an extractor that judged
    this page too thin): the caches are warm either way, and the workers lose nothing.
    Anything else (an extractor that cannot import or crashes on a plain page) is raised:
    every worker would fail on every page the same way, so it should fail here, loudly,
    where the traceback names it, rather than as thousands of `extraction_crash` rows."""
    from extractors.articles import extract_article
    from extractors.errors import ExtractionError

    try:
        extract_article(_PAGE, "https://warm-up.invalid/2026/01/05/harbour")
    except ExtractionError as exc:
        logging.getLogger(__name__).warning("warm-up page not extracted error=%s", exc)


_warm_up()
# Every country's name from CLDR, which each worker's watchlist counts: read here, once, the
# workers share it instead of each loading babel's locale data (~20 MB a worker).
country_names()
# The objects loaded so far live as long as the server and every worker forked from it: out
# of the collector's sight, a worker's collections do not touch (and so copy) their pages.
gc.collect()
gc.freeze()
