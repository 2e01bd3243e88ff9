"""Full-text search over the articles: DuckDB's fts extension, loaded offline from its wheel.

The extension comes from the pip package `duckdb-extension-fts` (pinned with duckdb) and is
loaded from the file inside the installed wheel: nothing is downloaded, nothing is written to
the home folder. Words are runs of letters and digits in any script, lower-cased, accents
stripped, English words stemmed (Porter leaves other scripts alone); Chinese and Japanese
characters are indexed one by one, since those scripts put no spaces between words. A
query's words must all be in an article; a "quoted phrase" must also appear as written (case,
accents and spacing aside).

DuckDB's index does not follow changes to the table it was built from, and building it costs
about 0.7 ms per article (70 s for 100,000; bench/search.py). So there are two indexes, both
built by the writer in `ensure_index`, run by the `search-index` flow after ingest (and by
reprocess):

- `main` covers the articles as they were at its last build; it is rebuilt when the articles
  outside it pass `MERGE_SHARE` of it (and `MERGE_MIN`), or when one inside it changed
  (reprocessing rewrites texts in place);
- `recent` covers the articles added since, and is rebuilt whenever they change: its cost
  follows the new articles, not the size of the warehouse.

`search_index` records what each was built from (count and a fingerprint of ids, titles and
texts), so a read-only search can tell when articles are not searchable yet. Each index is
built over a scratch table (`search_docs`, `search_recent`) that is dropped afterwards: the
index keeps its own copy of the terms.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources

import duckdb

from extractors.errors import WarehouseError
from warehouse.batches import keys
from warehouse.transactions import is_lake

TIERS = {"main": "search_docs", "recent": "search_recent"}  # tier -> the table it indexes
MERGE_SHARE = 0.10
MERGE_MIN = 2_000
CHECK_BATCH = 500  # candidates whose text is read at once when checking a phrase

# Letters and digits of any script are words; everything else separates them.
_IGNORE = r"(\.|[^\p{L}\p{N}])+"
_CJK_SQL = r"([\p{Han}\p{Hiragana}\p{Katakana}])"
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_WORD = re.compile(r"[^\W_]+")
_QUOTED = re.compile(r'"([^"]*)"')
# BM25 as the extension's match_bm25 macro computes it (k=1.2, b=0.75; same scores), written
# set-based and starting from the query's rarest word: 4x faster than calling the macro on
# every document (0.23 s against 0.89 s for 6 words over 100,000 articles).
_BM25 = """
    WITH q AS (SELECT DISTINCT stem(unnest({s}.tokenize(?)), 'porter') AS t),
    qt AS MATERIALIZED (
        SELECT q.t, d.termid, d.df FROM q LEFT JOIN {s}.dict d ON d.term = q.t WHERE q.t <> ''
    ),
    rare AS MATERIALIZED (
        SELECT DISTINCT docid FROM {s}.terms
        WHERE termid = (SELECT termid FROM qt ORDER BY df NULLS FIRST LIMIT 1)
    ),
    tf AS (
        SELECT docid, termid, count(*) AS tf FROM {s}.terms
        WHERE termid IN (SELECT termid FROM qt) AND docid IN (SELECT docid FROM rare)
        GROUP BY docid, termid
    ),
    every AS (SELECT docid FROM tf GROUP BY docid HAVING count(*) = (SELECT count(*) FROM qt))
    SELECT docs.name AS id,
           sum(log((st.num_docs - qt.df + 0.5) / (qt.df + 0.5) + 1)
               * ((tf.tf * 2.2) / (tf.tf + 1.2 * (0.25 + 0.75 * (docs.len / st.avgdl)))))
           AS score
    FROM tf JOIN every USING (docid) JOIN {s}.docs docs USING (docid)
    JOIN qt USING (termid) CROSS JOIN {s}.stats st
    GROUP BY docs.name
"""


@dataclass(frozen=True, slots=True)
class IndexBuild:
    """What one build of one index covered and cost."""

    tier: str
    articles: int
    seconds: float


@dataclass(frozen=True, slots=True)
class SearchFilters:
    topic: str | None = None
    since: date | None = None
    outlet: str | None = None  # a part of the outlet's name, any case
    language: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class SearchHit:
    article_id: str
    score: float
    published: datetime
    outlet: str
    language: str | None
    title: str
    url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    unsearchable: int  # articles added or changed since the indexes were built
    indexed_at: datetime


@dataclass(frozen=True, slots=True)
class _State:
    articles: int
    fingerprint: int
    built_at: datetime


# --- the extension --------------------------------------------------------------------------


def extension_path() -> str:
    """The fts extension file shipped in the `duckdb-extension-fts` wheel for this duckdb."""
    try:
        package = resources.files("duckdb_extension_fts")
    except ModuleNotFoundError as exc:
        raise WarehouseError(_missing_extension()) from exc
    path = package / "extensions" / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    if not path.is_file():
        raise WarehouseError(_missing_extension())
    return str(path)


def _missing_extension() -> str:
    return (
        f"full-text search needs the fts extension for duckdb {duckdb.__version__}: "
        f"pip install duckdb-extension-fts=={duckdb.__version__}"
    )


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute(f"LOAD '{extension_path().replace(chr(39), chr(39) * 2)}'")
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot load the fts extension: {exc}") from exc


# --- what the indexes cover -----------------------------------------------------------------

_FINGERPRINT = "count(*), coalesce(bit_xor(hash(a.id, a.title, a.content_hash)), 0)"


def _fingerprint(con: duckdb.DuckDBPyConnection, where: str = "") -> tuple[int, int]:
    """(count, fingerprint) of the articles' ids, titles and texts; `where` may use `d`, the
    main index's documents. The XOR of two disjoint sets' fingerprints is their union's."""
    join = f"LEFT JOIN {_schema('main')}.docs d ON d.name = a.id" if where else ""
    row = con.execute(f"SELECT {_FINGERPRINT} FROM articles a {join} {where}").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _states(con: duckdb.DuckDBPyConnection) -> dict[str, _State]:
    try:
        rows = con.execute(
            "SELECT tier, articles, fingerprint, built_at FROM search_index"
        ).fetchall()
    except duckdb.CatalogException:  # a database from before migration 005, opened read-only
        return {}
    return {r[0]: _State(int(r[1]), int(r[2]), r[3]) for r in rows}


def _schema(tier: str) -> str:
    return f"fts_main_{TIERS[tier]}"


def unsearchable(con: duckdb.DuckDBPyConnection) -> int | None:
    """How many articles the indexes miss (added or changed since their builds); None when
    there is no index at all."""
    states = _states(con)
    if set(states) != set(TIERS):
        return None
    count, fingerprint = _fingerprint(con)
    covered = states["main"].articles + states["recent"].articles
    if fingerprint == states["main"].fingerprint ^ states["recent"].fingerprint:
        return max(0, count - covered)
    return max(1, count - covered)


# --- building (the writer) ------------------------------------------------------------------


def ensure_index(con: duckdb.DuckDBPyConnection, now: datetime) -> list[IndexBuild]:
    """Bring the indexes up to date with the articles, doing as little as it can: nothing
    when they are current, else the `recent` index over the articles outside `main`, else
    (too many outside, or one inside changed) both. Nothing on DuckLake, which has no fts."""
    if is_lake(con):
        return []
    states = _states(con)
    if "main" not in states or _fingerprint(con, "WHERE d.name IS NOT NULL") != (
        states["main"].articles,
        states["main"].fingerprint,
    ):
        return rebuild_index(con, now)
    outside = _fingerprint(con, "WHERE d.name IS NULL")
    if outside[0] > max(MERGE_MIN, MERGE_SHARE * states["main"].articles):
        return rebuild_index(con, now)
    recent = states.get("recent")
    if recent and (recent.articles, recent.fingerprint) == outside:
        return []
    return [_build(con, "recent", "WHERE d.name IS NULL", now)]


def rebuild_index(con: duckdb.DuckDBPyConnection, now: datetime) -> list[IndexBuild]:
    """Build `main` over every article and empty `recent`."""
    return [_build(con, "main", "", now), _build(con, "recent", "WHERE false", now)]


def _build(con: duckdb.DuckDBPyConnection, tier: str, where: str, now: datetime) -> IndexBuild:
    """Build one index in one transaction (a failed build keeps the old one)."""
    load_fts(con)
    table = TIERS[tier]
    join = f"LEFT JOIN {_schema('main')}.docs d ON d.name = a.id" if "d.name" in where else ""
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            SELECT a.id, a.title, a.content_hash,
                   regexp_replace(coalesce(a.title, '') || ' ' || a.text, '{_CJK_SQL}', ' \\1 ',
                                  'g') AS body
            FROM articles a {join} {where}
            """
        )
        row = con.execute(f"SELECT {_FINGERPRINT} FROM {table} a").fetchone()
        assert row is not None
        con.execute(
            f"PRAGMA create_fts_index('{table}', 'id', 'body', stemmer = 'porter', "
            f"stopwords = 'none', ignore = '{_IGNORE}', strip_accents = 1, lower = 1, "
            "overwrite = 1)"
        )
        con.execute(f"DROP TABLE {table}")
        seconds = time.perf_counter() - started
        con.execute(
            "INSERT OR REPLACE INTO search_index VALUES (?, ?, ?, ?, ?)",
            [tier, now, int(row[0]), int(row[1]), seconds],
        )
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise WarehouseError(f"building the {tier} search index failed: {exc}") from exc
    return IndexBuild(tier, int(row[0]), seconds)


# --- searching (read-only) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: str  # the words, split as the index splits them, space-separated
    phrases: tuple[str, ...]  # folded (see `fold`)


def fold(text: str) -> str:
    """Lower case, accents stripped, spacing collapsed: how phrases are compared."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def parse_query(query: str) -> ParsedQuery:
    """Words (all must match) and "quoted phrases" (must also appear as written)."""
    phrases = tuple(fold(p) for p in _QUOTED.findall(query) if _WORD.search(p))
    spaced = _CJK.sub(r" \1 ", query)
    return ParsedQuery(" ".join(_WORD.findall(spaced)), phrases)


def search(
    con: duckdb.DuckDBPyConnection, query: str, filters: SearchFilters | None = None
) -> SearchResult:
    """The articles matching `query`, best first (BM25), narrowed by `filters`."""
    filters = filters or SearchFilters()
    parsed = parse_query(query)
    if not parsed.terms:
        raise WarehouseError(f"nothing to search for in {query!r}: give at least one word")
    if is_lake(con):
        raise WarehouseError(
            "full-text search needs a DuckDB file warehouse (DuckLake has no fts index); "
            "on a lake use newswatch sql with ILIKE"
        )
    missing = unsearchable(con)
    if missing is None:
        raise WarehouseError(
            "no search index in this database yet: `newswatch index` builds it (so does "
            "the search-index deployment, five minutes after each scheduled ingest)"
        )
    load_fts(con)
    candidates = _candidates(con, parsed, filters)
    if parsed.phrases:
        candidates = _with_phrases(con, candidates, parsed.phrases, filters.limit)
    hits = _hits(con, candidates[: filters.limit], parsed)
    built = max(s.built_at for s in _states(con).values())
    return SearchResult(hits, missing, built)


def _candidates(
    con: duckdb.DuckDBPyConnection, parsed: ParsedQuery, f: SearchFilters
) -> list[tuple[str, float]]:
    """(id, score) of the articles with every word that pass the filters, best first. The
    filters read no text, so they cost little even on many candidates."""
    where: list[str] = []
    params: list[object] = []
    if f.language:
        where.append("a.language = ?")
        params.append(f.language.lower())
    if f.outlet:
        where.append("strpos(lower(a.outlet), lower(?)) > 0")
        params.append(f.outlet)
    if f.since:
        where.append("coalesce(a.published, a.fetched_at) >= ?")
        params.append(f.since)
    if f.topic:
        where.append(
            "EXISTS (SELECT 1 FROM topic_matches m WHERE m.article_id = a.id AND m.topic = ?)"
        )
        params.append(f.topic.lower())
    bm25 = " UNION ALL ".join(f"({_BM25.format(s=_schema(t))})" for t in TIERS)
    sql = f"""
        WITH h AS MATERIALIZED ({bm25})
        SELECT h.id, h.score FROM h JOIN articles a ON a.id = h.id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY h.score DESC, coalesce(a.published, a.fetched_at) DESC, h.id
    """
    rows = con.execute(sql, [parsed.terms] * len(TIERS) + params).fetchall()
    return [(r[0], float(r[1])) for r in rows]


def _with_phrases(
    con: duckdb.DuckDBPyConnection,
    candidates: list[tuple[str, float]],
    phrases: tuple[str, ...],
    limit: int,
) -> list[tuple[str, float]]:
    """The candidates whose text holds every phrase, read in rank order a batch at a time
    until `limit` are found: only the texts of the best candidates are read."""
    kept: list[tuple[str, float]] = []
    for start in range(0, len(candidates), CHECK_BATCH):
        batch = candidates[start : start + CHECK_BATCH]
        docs = _docs(con, [c[0] for c in batch])
        kept += [c for c in batch if all(p in fold(docs.get(c[0], "")) for p in phrases)]
        if len(kept) >= limit:
            break
    return kept


def _docs(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, str]:
    with keys(con, ids) as wanted:
        rows = con.execute(
            f"SELECT id, coalesce(title, '') || ' ' || text FROM articles WHERE id IN {wanted}"
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def _hits(
    con: duckdb.DuckDBPyConnection, ranked: list[tuple[str, float]], parsed: ParsedQuery
) -> tuple[SearchHit, ...]:
    if not ranked:
        return ()
    scores = dict(ranked)
    with keys(con, list(scores)) as wanted:
        rows = con.execute(
            f"""
            SELECT id, coalesce(published, fetched_at), outlet, language, title,
                   canonical_url, text
            FROM articles WHERE id IN {wanted}
            """
        ).fetchall()
    by_id = {r[0]: r for r in rows}
    return tuple(
        SearchHit(
            aid,
            score,
            by_id[aid][1],
            by_id[aid][2],
            by_id[aid][3],
            by_id[aid][4] or "",
            by_id[aid][5],
            snippet(by_id[aid][6], parsed),
        )
        for aid, score in ranked
        if aid in by_id
    )


def snippet(text: str, parsed: ParsedQuery, width: int = 160) -> str:
    """About `width` characters of `text` around the first phrase (else the first word)."""
    flat = " ".join(text.split())
    folded = fold(flat)
    # Folding can change lengths (a ligature, a decomposed letter): positions are close enough.
    needles = [*parsed.phrases, *(w.lower() for w in parsed.terms.split())]
    at = next((i for i in (folded.find(n) for n in needles) if i >= 0), 0)
    start = max(0, at - width // 3)
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")
