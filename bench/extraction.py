"""Benchmark: `extract_article` against plain `trafilatura.extract`, by language, in one run.

What it measures, on the real pages of `../shared/corpus/pages/` (see its MANIFEST.md):

- Full texts (newspaper4k pages with `expected/n4k-*.txt`): precision, recall and F1 over
  4-word shingles, as the public article-extraction-benchmark scores them. Tokens are
  `re.findall(r"\\w+", text.lower())`, shingles the set of their 4-grams (a text of fewer than
  four tokens is one shingle); P = |pred & gold| / |pred|, R = |pred & gold| / |gold|. Scored per
  page, then averaged over pages. An empty prediction (no text, or `ExtractionError`) scores
  P = R = F1 = 0.
- Snippets (trafilatura's evaluation pages, `dev_truth` from its `tests/evaldata.json`): the
  share of `with` snippets found in the output and of `without` snippets not found, each an exact
  substring test after whitespace normalisation, as trafilatura's own evaluation does; and its
  F-score over the pooled counts (found `with` = TP, missing `with` = FN, found `without` = FP).
  `comments` snippets (text of reader comments under the article, 19 pages) are reported on
  their own: comments are not article text, so avoiding them is right.
- Metadata accuracy of newswatch where the corpus has it: title, authors, date (by day: the
  expected calendar date must be the published instant's date at some UTC offset between -12h
  and +14h, or the same instant when the expectation carries a time and a zone) and language
  (newspaper4k's `expected/*.meta.json` and trafilatura's `dev_truth`). Empty expectations are
  skipped: the corpus leaves a field empty when its own tool found nothing.
- Time per page for both, in one process: each page goes through both extractors
  `--repeat` times (5 by default), interleaved, which one goes first alternating; the page's
  time for each is the median of its calls, on two clocks: wall time, and the thread's CPU
  time (what the call cost, not the time it waited for a core while other processes ran).
  The table gives the median over pages of each (and, for reference, the median of the
  per-page ratios); issue 19's bound is judged on both. The load average before and after
  is printed: on a shared machine it says what the wall clock went through.

The baseline is `trafilatura.extract(html, url=url)` with its defaults, so it keeps reader
comments (`include_comments=True` is trafilatura's default) and extracts no metadata; newswatch
extracts metadata as well (title, authors, date, site name, language), which costs time.

The final table checks the acceptance rules: newswatch is not below the baseline on any
language with 10 or more scored pages (on the shingle F1 where the language has full texts, and
on the snippet F-score where it has snippet pages), and above it overall (not below on either
overall score, above on at least one), and issue 19's median time per page at most 1.1x
trafilatura's (wall and CPU). Languages are the corpus's `lang_guess` (py3langid on the
text); pages without one are grouped as `und`.

Tuning and test halves (issue 19): the scored pages are split by site, so no site is on both
sides. Sites are ordered by (has a full expected text, sha1 of the site) and dealt out in turn,
tuning first: deterministic, and each half gets half of the few full-text pages. A site is the
URL's host without `www.`; trafilatura's pages named `hard::zeit.de.x.html` give `zeit`; a page
without a URL is its own site. Rules are chosen on `--half tune`; the verdicts that count are
on `--half test` (the default).

Run: `.venv/bin/python bench/extraction.py [--half test|tune|all] [--repeat 5] [--pages]`
"""

from __future__ import annotations

import argparse
import gc
import gzip
import hashlib
import json
import os
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura
from harness import Summable, Target, at_most, corpus_missing, final_table, machine

from extractors.articles import extract_article
from extractors.records import Article
from newswatch.errors import ExtractionError

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PAGES = CORPUS / "pages"
SHINGLE = 4
MIN_PAGES = 10  # languages with at least this many scored pages must not fall below the baseline
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Page:
    """One corpus page and whatever development truth the corpus has for it."""

    id: str
    url: str | None
    lang: str
    html: bytes
    expected_text: str | None = None
    with_: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextScore:
    precision: float
    recall: float
    f1: float


@dataclass(slots=True)
class SnippetCounts(Summable):
    """trafilatura's evaluation counts, plus the comment snippets seen and avoided."""

    with_found: int = 0
    with_total: int = 0
    without_avoided: int = 0
    without_total: int = 0
    comments_avoided: int = 0
    comments_total: int = 0

    @property
    def fscore(self) -> float:
        """trafilatura's F-score: TP found `with`, FN missed `with`, FP found `without`."""
        tp = self.with_found
        fp = self.without_total - self.without_avoided
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / self.with_total if self.with_total else 0.0
        return _f1(precision, recall)


@dataclass(slots=True)
class Outcome:
    """What one extractor did on one page."""

    text: str
    seconds: float  # wall time
    cpu: float  # this thread's CPU time: what the call cost, whatever else the machine runs
    article: Article | None = None


def load_pages(root: Path = PAGES) -> list[Page]:
    """The pages that carry some development truth (full text, snippets or metadata)."""
    pages = []
    for rec in json.loads((root / "index.json").read_text(encoding="utf-8")):
        truth = rec.get("dev_truth") or {}
        text_file = rec.get("dev_expected_text_file")
        meta_file = rec.get("dev_metadata_file")
        if not (truth or text_file or meta_file):
            continue
        meta: dict[str, object] = {}
        if meta_file:
            n4k = json.loads((root / meta_file).read_text(encoding="utf-8"))
            meta = {
                "title": n4k.get("title"),
                "authors": n4k.get("authors") or [],
                "date": n4k.get("publish_date"),
                "language": n4k.get("language") or n4k.get("meta_lang"),
            }
        elif truth:
            author = truth.get("author") or []  # "A; B" or a list
            names = author.split(";") if isinstance(author, str) else author
            meta = {
                "title": truth.get("title"),
                "authors": [a.strip() for a in names if a.strip()],
                "date": truth.get("date"),
            }
        pages.append(
            Page(
                id=rec["id"],
                url=rec.get("url"),
                lang=rec.get("lang_guess") or "und",
                html=gzip.decompress((root / rec["file"]).read_bytes()),
                expected_text=(root / text_file).read_text(encoding="utf-8") if text_file else None,
                with_=tuple(truth.get("with") or ()),
                without=tuple(truth.get("without") or ()),
                comments=tuple(truth.get("comments") or ()),
                meta=meta,
            )
        )
    return pages


def site(page: Page) -> str:
    """The site a page is from, for the split: host without `www.`, else a name in its id."""
    url = page.url or ""
    host = urlsplit(url).hostname if "://" in url else None
    if host:
        return host.removeprefix("www.")
    if "::" in url:  # trafilatura's evaluation names: "hard::zeit.de.zugverkehr.html"
        return url.split("::", 1)[1].split(".")[0]
    return page.id


def halves(pages: Sequence[Page]) -> dict[str, list[Page]]:
    """`tune` and `test`: the pages split by site (see the module's docstring), and `all`."""
    by_site: dict[str, list[Page]] = {}
    for page in pages:
        by_site.setdefault(site(page), []).append(page)
    order = sorted(
        by_site,
        key=lambda s: (
            not any(p.expected_text is not None for p in by_site[s]),
            hashlib.sha1(s.encode()).hexdigest(),
        ),
    )
    split: dict[str, list[Page]] = {"tune": [], "test": [], "all": list(pages)}
    for i, name in enumerate(order):
        split["tune" if i % 2 == 0 else "test"].extend(by_site[name])
    return split


# --- scores -----------------------------------------------------------------------------


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    tokens = _WORD.findall(text.lower())
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return set(zip(*(tokens[i:] for i in range(n)), strict=False))


def score_text(predicted: str, gold: str) -> TextScore:
    pred, true = shingles(predicted), shingles(gold)
    if not pred or not true:
        return TextScore(0.0, 0.0, 0.0)
    common = len(pred & true)
    precision, recall = common / len(pred), common / len(true)
    return TextScore(precision, recall, _f1(precision, recall))


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _spaces(text: str) -> str:
    return " ".join(text.split())


def score_snippets(predicted: str, page: Page) -> SnippetCounts:
    text = _spaces(predicted)
    return SnippetCounts(
        with_found=sum(_spaces(s) in text for s in page.with_),
        with_total=len(page.with_),
        without_avoided=sum(_spaces(s) not in text for s in page.without),
        without_total=len(page.without),
        comments_avoided=sum(_spaces(s) not in text for s in page.comments),
        comments_total=len(page.comments),
    )


def _fold(text: str) -> str:
    return _spaces(unicodedata.normalize("NFKC", text).replace("\u200c", "")).casefold()


def _date_matches(published: datetime | None, expected: str) -> bool:
    if published is None:
        return False
    try:
        want = datetime.fromisoformat(expected.strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return False
    if want.tzinfo is not None and (want.hour, want.minute, want.second) != (0, 0, 0):
        return abs(published - want) <= timedelta(minutes=1)
    day = datetime(want.year, want.month, want.day, tzinfo=UTC)
    return day - timedelta(hours=14) <= published < day + timedelta(days=1, hours=12)


def meta_checks(article: Article | None, meta: dict[str, object]) -> dict[str, bool]:
    """field -> correct, for the fields the page has an expectation for."""
    checks: dict[str, bool] = {}
    title, authors, date, lang = (meta.get(k) for k in ("title", "authors", "date", "language"))
    if isinstance(title, str) and title.strip():
        checks["title"] = article is not None and _fold(article.title) == _fold(title)
    if isinstance(authors, list) and authors:
        want = {_fold(a) for a in authors}
        checks["authors"] = article is not None and {_fold(a) for a in article.authors} == want
    if isinstance(date, str) and date.strip():
        checks["date"] = article is not None and _date_matches(article.published, date)
    if isinstance(lang, str) and lang.strip():
        checks["language"] = article is not None and article.language == lang.strip().lower()
    return checks


# --- running ----------------------------------------------------------------------------


def baseline(html: bytes, url: str | None) -> Outcome:
    start, start_cpu = time.perf_counter(), time.thread_time()
    text = trafilatura.extract(html, url=url) or ""
    return Outcome(text, time.perf_counter() - start, time.thread_time() - start_cpu)


def newswatch(html: bytes, url: str | None) -> Outcome:
    start, start_cpu = time.perf_counter(), time.thread_time()
    try:
        article: Article | None = extract_article(html, url)
    except ExtractionError:
        article = None
    seconds, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
    return Outcome(article.text if article else "", seconds, cpu, article)


Extractor = Callable[[bytes, str | None], Outcome]


def run(
    pages: Sequence[Page], extractors: dict[str, Extractor], repeat: int = 5
) -> dict[str, list[Outcome]]:
    """Each page through every extractor `repeat` times, interleaved page by page in this one
    process (which goes first alternates from call to call); a page's time for an extractor is
    the median of its `repeat` calls. The machine is shared, so both contenders see the same
    load: a burst from another process lands on one call of one contender, and the median
    drops it."""
    for fn in extractors.values():  # warm up imports and caches outside the timings
        for page in pages[:3]:
            fn(page.html, page.url)
    results: dict[str, list[Outcome]] = {name: [] for name in extractors}
    names = list(extractors)
    for i, page in enumerate(pages):
        gc.collect()
        calls: dict[str, list[Outcome]] = {name: [] for name in names}
        for r in range(max(1, repeat)):
            for name in names if (i + r) % 2 == 0 else names[::-1]:
                calls[name].append(extractors[name](page.html, page.url))
        for name in names:
            seconds = statistics.median(o.seconds for o in calls[name])
            cpu = statistics.median(o.cpu for o in calls[name])
            last = calls[name][-1]
            results[name].append(Outcome(last.text, seconds, cpu, last.article))
    return results


@dataclass(frozen=True, slots=True)
class Timing:
    """Median per page of one clock for both contenders, and their ratio."""

    base_ms: float
    ours_ms: float
    ratio: float
    page_ratio: float  # the median of the per-page ratios, for reference

    @classmethod
    def of(cls, results: dict[str, list[Outcome]], clock: str) -> Timing:
        base = [getattr(o, clock) for o in results["baseline"]]
        ours = [getattr(o, clock) for o in results["newswatch"]]
        b, o = statistics.median(base), statistics.median(ours)
        per_page = statistics.median(y / x for x, y in zip(base, ours, strict=True) if x)
        return cls(b * 1000, o * 1000, o / b, per_page)

    def __str__(self) -> str:
        return (
            f"median over pages: baseline {self.base_ms:.1f} ms, newswatch {self.ours_ms:.1f} ms"
            f" ({self.ratio:.2f}x); median of per-page ratios {self.page_ratio:.2f}x"
        )


# --- report -----------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    pages: int = 0
    text: list[TextScore] = field(default_factory=list)
    snippets: SnippetCounts = field(default_factory=SnippetCounts)
    snippet_pages: int = 0

    def mean(self, attr: str) -> float | None:
        if not self.text:
            return None
        return statistics.fmean(getattr(s, attr) for s in self.text)


def aggregate(pages: Sequence[Page], outcomes: Sequence[Outcome]) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for page, outcome in zip(pages, outcomes, strict=True):
        if page.expected_text is None and not page.with_:
            continue
        for key in (page.lang, "overall"):
            row = rows.setdefault(key, Row())
            row.pages += 1
            if page.expected_text is not None:
                row.text.append(score_text(outcome.text, page.expected_text))
            if page.with_ or page.without:
                row.snippets = row.snippets + score_snippets(outcome.text, page)
                row.snippet_pages += 1
    return rows


def _fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def _share(num: int, den: int) -> str:
    return "    -" if not den else f"{num / den:5.3f}"


def print_table(base: dict[str, Row], ours: dict[str, Row]) -> None:
    print(
        "shingle P/R/F1: mean over pages with full expected text (n txt); snippets: share of"
        " `with` found, `without` avoided, trafilatura's F-score, comments avoided (n snip)"
    )
    head = (
        f"{'lang':7} {'pages':>5} {'txt':>3} | {'base P':>6} {'R':>5} {'F1':>5} | "
        f"{'nw P':>6} {'R':>5} {'F1':>5} | {'snip':>4} | {'with b':>6} {'nw':>5} | "
        f"{'w/o b':>6} {'nw':>5} | {'F b':>6} {'nw':>5} | {'comm b':>6} {'nw':>5}"
    )
    print(head)
    print("-" * len(head))
    order = sorted((k for k in ours if k != "overall"), key=lambda k: (-ours[k].pages, k))
    for key in [*order, "overall"]:
        b, o = base[key], ours[key]
        bs, os_ = b.snippets, o.snippets
        if key == "overall":
            print("-" * len(head))
        print(
            f"{key:7} {o.pages:5d} {len(o.text):3d} | {_fmt(b.mean('precision')):>6} "
            f"{_fmt(b.mean('recall'))} {_fmt(b.mean('f1'))} | {_fmt(o.mean('precision')):>6} "
            f"{_fmt(o.mean('recall'))} {_fmt(o.mean('f1'))} | {o.snippet_pages:4d} | "
            f"{_share(bs.with_found, bs.with_total):>6} {_share(os_.with_found, os_.with_total)} | "
            f"{_share(bs.without_avoided, bs.without_total):>6} "
            f"{_share(os_.without_avoided, os_.without_total)} | "
            f"{_fmt(bs.fscore if o.snippet_pages else None):>6} "
            f"{_fmt(os_.fscore if o.snippet_pages else None)} | "
            f"{_share(bs.comments_avoided, bs.comments_total):>6} "
            f"{_share(os_.comments_avoided, os_.comments_total)}"
        )


def _compare(b: Row, o: Row) -> list[tuple[str, float, float]]:
    scores = []
    if o.text:
        scores.append(("shingle F1", b.mean("f1") or 0.0, o.mean("f1") or 0.0))
    if o.snippet_pages:
        scores.append(("snippet F", b.snippets.fscore, o.snippets.fscore))
    return scores


def verdicts(base: dict[str, Row], ours: dict[str, Row]) -> list[Target]:
    """Issue 5's rules: not below trafilatura on any language with MIN_PAGES scored pages,
    not below it overall on either score and above it on at least one."""
    lines = []
    for key in sorted(k for k in ours if k != "overall" and ours[k].pages >= MIN_PAGES):
        for name, b, o in _compare(base[key], ours[key]):
            label = f"{name} on {key} ({ours[key].pages} pages), vs trafilatura"
            lines.append(Target(label, f"{o:.3f}", f">= {b:.3f}", o >= b))
    scores = _compare(base["overall"], ours["overall"])
    for name, b, o in scores:
        lines.append(Target(f"{name} overall, vs trafilatura", f"{o:.3f}", f">= {b:.3f}", o >= b))
    above = sum(o > b for _, b, o in scores)
    lines.append(Target("overall scores above trafilatura", str(above), ">= 1", above >= 1))
    return lines


def print_meta(pages: Sequence[Page], outcomes: Sequence[Outcome]) -> None:
    by_source: dict[str, dict[str, list[bool]]] = {}
    for page, outcome in zip(pages, outcomes, strict=True):
        source = "n4k meta.json" if page.id.startswith("n4k") else "traf evaldata"
        for name, ok in meta_checks(outcome.article, page.meta).items():
            by_source.setdefault(source, {}).setdefault(name, []).append(ok)
    print("\nnewswatch metadata accuracy (pages with a non-empty expectation)")
    for source, fields in sorted(by_source.items()):
        cells = [
            f"{name} {sum(oks)}/{len(oks)} ({sum(oks) / len(oks):.0%})"
            for name, oks in fields.items()
        ]
        print(f"  {source:14}  " + "   ".join(cells))


def print_pages(pages: Sequence[Page], base: Sequence[Outcome], ours: Sequence[Outcome]) -> None:
    print("\npages where the two differ")
    for page, b, o in zip(pages, base, ours, strict=True):
        parts = []
        if page.expected_text is not None:
            sb, so = score_text(b.text, page.expected_text), score_text(o.text, page.expected_text)
            if abs(sb.f1 - so.f1) > 0.005:
                parts.append(f"F1 {sb.f1:.3f} -> {so.f1:.3f}")
        if page.with_ or page.without:
            cb, co = score_snippets(b.text, page), score_snippets(o.text, page)
            if (cb.with_found, cb.without_avoided) != (co.with_found, co.without_avoided):
                parts.append(
                    f"with {cb.with_found}->{co.with_found}/{cb.with_total} "
                    f"without-avoided {cb.without_avoided}->{co.without_avoided}/{cb.without_total}"
                )
        if parts:
            print(f"  {page.id:28} {page.lang:3} {'; '.join(parts)}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="time each page N times, keep the median"
    )
    parser.add_argument("--pages", action="store_true", help="list pages where the scores differ")
    parser.add_argument(
        "--half", choices=("test", "tune", "all"), default="test", help="pages scored (by site)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if corpus_missing(PAGES / "index.json"):
        return 0
    pages = halves(load_pages())[args.half]
    load_before = os.getloadavg()
    results = run(pages, {"baseline": baseline, "newswatch": newswatch}, args.repeat)
    load_after = os.getloadavg()
    base, ours = aggregate(pages, results["baseline"]), aggregate(pages, results["newswatch"])
    print(machine())
    print(f"{len(pages)} pages from {PAGES}, {args.half} half ({_sites(pages)} sites)")
    print("baseline: trafilatura.extract(html, url=url), defaults (keeps comments, no metadata)")
    print(f"newswatch: extract_article (extractors.articles, {_version()})\n")
    print_table(base, ours)
    wall = Timing.of(results, "seconds")
    cpu = Timing.of(results, "cpu")
    print(f"\ntime per page: each page's median of {args.repeat} interleaved calls, then")
    print(f"  wall: {wall}")
    print(f"  CPU:  {cpu}")
    print(
        "load average (1, 5, 15 min) before "
        + ", ".join(f"{x:.1f}" for x in load_before)
        + "; after "
        + ", ".join(f"{x:.1f}" for x in load_after)
    )
    print_meta(pages, results["newswatch"])
    if args.pages:
        print_pages(pages, results["baseline"], results["newswatch"])
    ok = final_table(
        f"bench/extraction.py ({args.half} half, {len(pages)} pages)",
        [
            *verdicts(base, ours),
            at_most("median wall time per page / trafilatura's (issue 19)", wall.ratio, 1.1),
            at_most("median CPU time per page / trafilatura's (issue 19)", cpu.ratio, 1.1),
        ],
        [
            f"baseline: trafilatura.extract(html, url=url), defaults; median {wall.base_ms:.1f}"
            f" ms a page wall ({cpu.base_ms:.1f} CPU), extract_article {wall.ours_ms:.1f}"
            f" ({cpu.ours_ms:.1f} CPU)"
        ],
    )
    return 0 if ok else 1


def _sites(pages: Sequence[Page]) -> int:
    return len({site(p) for p in pages})


def _version() -> str:
    from extractors.articles import EXTRACTOR_VERSION

    return EXTRACTOR_VERSION


if __name__ == "__main__":
    sys.exit(main())
