"""Near duplicates: when two fingerprinted texts are copies, and the index that finds them.

`extractors.fingerprints` gives each text its shingle set, MinHash signature and LSH band
keys; this module owns the stateful half: `NearDuplicateIndex` (the articles of a time window,
bucketed by band key) and the rule that verifies a candidate (`DedupRule`, on `Overlap`).

- Verification on the exact shingle sets, because MinHash estimates Jaccard, and Jaccard is
  the wrong measure for copies: a copy trimmed to 70% of its original has J = 0.7 at best,
  and with a new lead or a house-style edit it falls to 0.4-0.6. What makes a copy is that
  most of the shorter text is found in the longer one: containment = |S ∩ L| / |S| for the
  smaller shingle set S and the larger L. A candidate is a near duplicate when

      containment >= 0.5 (MIN_CONTAINMENT), the text of S has >= 60 words (MIN_WORDS)
      and |S| >= 0.2 |L| (MIN_LENGTH_RATIO); or Jaccard >= 0.7 (MIN_JACCARD).

  The guards are there because containment alone would make every quote a copy: a 30-word
  excerpt is wholly contained in its source but is not a copy of it. Texts under 60 words
  (a chatty Telegram post) are copies only when nearly the whole text is shared (Jaccard).

These numbers were chosen on `bench/dedup.py`'s near-duplicate set (real pages of
`../shared/corpus/` and the demo snapshot: 615 copies of the five kinds the issue names,
401 texts that must stay apart). Copies keep a containment of 0.57 to 1.0 with their
original (p10 0.78 for a new headline and lead, 0.82-1.0 for the others); distinct articles
on the same event share at most 0.10 (synthetic, with the same names and a shared quote) or
0.09 (real, the demo's); follow-ups carrying 15-40% of the first story share up to 0.45.
The sweep: containment 0.4 matches 4 follow-ups, 0.6 loses a copy; a minimum of 40 words
matches a quoted excerpt, 120 loses short copies. At the chosen values precision and recall
are both 1.000 on that set.

`NearDuplicateIndex` holds the articles of a time window (`DEFAULT_WINDOW`, 14 days; the
caller evicts by published time). An indexed article costs its 42 bucket entries, in two sorted
numpy arrays (`_Buckets`, 12 bytes an entry: about 0.8 KB an article with its entry; as a dict
of Python ints they took 3.4 KB), and, while it is held, its shingle set (4 bytes a shingle:
3.7 KB for the 900-word articles of `bench/pipeline.py`). Held shingle sets are bounded by
`held`: ingest holds the last few batches' and reads the stored text of an older candidate back
when one is met (`TextReader`), so a window of 10,000 or 100,000 articles costs its buckets and
not its texts. At start the index is rebuilt from stored signatures alone (`add_signature`).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from extractors.fingerprints import (
    BANDS,
    U32,
    U64,
    Fingerprint,
    band_keys,
    fingerprint,
    shingles_and_words,
    signature_from_bytes,
)

MIN_CONTAINMENT = 0.5
MIN_WORDS = 60
MIN_LENGTH_RATIO = 0.2
MIN_JACCARD = 0.7
DEFAULT_WINDOW = timedelta(days=14)
# Ids of indexed articles -> their stored texts (those it has; `warehouse.dedup.article_texts`)
TextReader = Callable[[Sequence[str]], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Overlap:
    """How much two texts share: `containment` of the smaller shingle set in the larger,
    their Jaccard similarity, the two set sizes, and the length in words of the text with
    the smaller set."""

    containment: float
    jaccard: float
    shorter: int
    longer: int
    shorter_words: int

    @property
    def length_ratio(self) -> float:
        return self.shorter / self.longer if self.longer else 0.0


def overlap(a: Fingerprint, b: Fingerprint) -> Overlap:
    return _overlap(a.shingles, a.words, b.shingles, b.words)


def _overlap(a: U32, a_words: int, b: U32, b_words: int) -> Overlap:
    if len(a) > len(b):
        a, a_words, b, b_words = b, b_words, a, a_words
    if len(a) == 0:
        return Overlap(0.0, 0.0, 0, len(b), a_words)
    common = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - common
    return Overlap(common / len(a), common / union, len(a), len(b), a_words)


@dataclass(frozen=True, slots=True)
class DedupRule:
    """When two texts are near duplicates (the module docstring has the reasons and numbers)."""

    min_containment: float = MIN_CONTAINMENT
    min_words: int = MIN_WORDS
    min_length_ratio: float = MIN_LENGTH_RATIO
    min_jaccard: float = MIN_JACCARD

    def accepts(self, o: Overlap) -> bool:
        if o.jaccard >= self.min_jaccard:
            return True
        return (
            o.containment >= self.min_containment
            and o.shorter_words >= self.min_words
            and o.length_ratio >= self.min_length_ratio
        )


# --- the index ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An indexed article that shares an LSH bucket with a text, and how much they share."""

    article_id: str
    published: datetime
    overlap: Overlap


@dataclass(frozen=True, slots=True, eq=False)
class _Entry:
    article_id: str
    published: datetime


MERGE_EVERY = 256  # the fewest articles `_Buckets` keeps in its dict before a merge


class _Buckets:
    """LSH bucket key -> the slots of the articles in that bucket.

    The bulk is two numpy arrays sorted by key (12 bytes an entry); the articles added since
    the last merge wait in a dict (a Python int key and list cost about 80 bytes an entry).
    A merge copies the arrays, so it waits for `MERGE_EVERY` articles or a sixteenth of those
    in the arrays, whichever is more: the dict stays small beside the arrays, and rebuilding
    a window of n articles costs O(n log n), not O(n^2 / MERGE_EVERY)."""

    def __init__(self) -> None:
        self._keys: U64 = np.empty(0, np.uint64)
        self._slots: U32 = np.empty(0, np.uint32)
        self._recent: dict[int, list[int]] = {}
        self._recent_keys: list[U64] = []  # the dict's entries again, for the merge
        self._recent_slots: list[int] = []

    def __len__(self) -> int:
        return len(self._keys) + sum(len(keys) for keys in self._recent_keys)

    def add(self, keys: U64, slot: int) -> None:
        for key in keys.tolist():
            self._recent.setdefault(key, []).append(slot)
        self._recent_keys.append(keys)
        self._recent_slots.append(slot)
        merged_articles = len(self._keys) // BANDS  # every article has BANDS keys
        if len(self._recent_slots) >= max(MERGE_EVERY, merged_articles // 16):
            self._merge()

    def slots(self, keys: U64) -> set[int]:
        found: set[int] = set()
        if len(self._keys):
            starts = np.searchsorted(self._keys, keys, "left")
            held = self._keys[np.minimum(starts, len(self._keys) - 1)] == keys
            if held.any():  # most keys are in no bucket: only the others need their ends
                ends = np.searchsorted(self._keys, keys[held], "right").tolist()
                for start, end in zip(starts[held].tolist(), ends, strict=True):
                    found.update(self._slots[start:end].tolist())
        for key in keys.tolist():
            found.update(self._recent.get(key, ()))
        return found

    def keep_only(self, alive: Iterable[int]) -> None:
        """Forget every slot not in `alive` (after an eviction)."""
        self._merge()
        if not len(self._slots):
            return
        live = np.zeros(int(self._slots.max()) + 1, dtype=bool)
        held = np.fromiter(alive, np.int64)
        live[held[held < len(live)]] = True
        keep = live[self._slots]
        self._keys, self._slots = self._keys[keep], self._slots[keep]

    def _merge(self) -> None:
        """Move the dict's entries into the sorted arrays."""
        if not self._recent_slots:
            return
        keys = np.concatenate(self._recent_keys)
        slots = np.repeat(
            np.array(self._recent_slots, np.uint32), [len(k) for k in self._recent_keys]
        )
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        at = np.searchsorted(self._keys, keys, "right")
        self._keys = np.insert(self._keys, at, keys)
        self._slots = np.insert(self._slots, at, slots)
        self._recent, self._recent_keys, self._recent_slots = {}, [], []


class NearDuplicateIndex:
    """The articles of a time window, searchable for near copies of a new text.

    Candidates come from LSH buckets and are verified on exact shingle sets by `rule`. An
    article costs `BANDS` bucket entries (`_Buckets`, ~0.8 KB) and, while held, its shingle set
    (4 bytes a shingle). `held` bounds how many shingle sets are kept (the most recently added
    or read); None keeps them all. A candidate whose set is not held is verified on its text,
    read back through the `read` given to `candidates`, `match` or `find`, or `hold`. An
    article the reader no longer has is no candidate. `evict_before` bounds the window.

    Texts can be given as `str` or as a `Fingerprint`: the loader fingerprints an article
    once, looks for its original with it, then adds it and stores its signature.
    """

    def __init__(self, rule: DedupRule | None = None, held: int | None = None) -> None:
        self.rule = rule or DedupRule()
        self.held_limit = held
        self.texts_read = 0  # shingle sets recomputed from texts read back (a cost to watch)
        self._buckets = _Buckets()
        self._entries: dict[int, _Entry] = {}
        self._held: OrderedDict[int, tuple[U32, int]] = OrderedDict()  # slot -> shingles, words
        self._slots: dict[str, int] = {}
        self._by_time: list[tuple[datetime, int]] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._slots

    @property
    def held(self) -> int:
        """How many shingle sets are held now."""
        return len(self._held)

    def add(
        self,
        article_id: str,
        text: str | Fingerprint,
        published: datetime,
        *,
        signature: bytes | None = None,
    ) -> None:
        """Index one article, its shingle set held. A stored `signature` of the current
        version saves the MinHash (the shingles are always computed from the text). Adding
        an id that is indexed already, or a text without a word, changes nothing."""
        if article_id in self._slots:
            return
        fp = _fingerprint(text, signature)
        if len(fp.shingles) == 0:
            return  # no words: nothing can be a copy of it (and it would fill every bucket)
        slot = self._index(article_id, published, fp.band_keys)
        self._hold(slot, fp.shingles, fp.words)

    def add_signature(self, article_id: str, published: datetime, signature: bytes) -> bool:
        """Index a stored article by its stored signature alone (rebuilding the index at
        start): its shingles are read back if it is ever a candidate. False, and nothing
        indexed, when the signature is not of the current version: `add` it with its text."""
        if article_id in self._slots:
            return True
        try:
            keys = band_keys(signature_from_bytes(signature))
        except ValueError:
            return False
        self._index(article_id, published, keys)
        return True

    def candidates(
        self, text: str | Fingerprint, read: TextReader | None = None
    ) -> list[Candidate]:
        """The indexed articles that share an LSH bucket with `text`, near copies or not,
        earliest published first."""
        fp = _fingerprint(text)
        if len(fp.shingles) == 0:
            return []
        slots = self._buckets.slots(fp.band_keys)
        self._read_back(slots, read)
        found = []
        for slot in slots:
            if slot not in self._held:
                continue  # its text is gone from the store: nothing to be a copy of
            shingles, words = self._held[slot]
            e = self._entries[slot]
            found.append(
                Candidate(
                    e.article_id, e.published, _overlap(fp.shingles, fp.words, shingles, words)
                )
            )
        return sorted(found, key=lambda c: (c.published, c.article_id))

    def hold(self, texts: Iterable[str | Fingerprint], read: TextReader) -> None:
        """Read back, in one call to `read`, the shingle sets of every candidate of `texts`
        not held (a batch's, before its `find`s)."""
        wanted: set[int] = set()
        for text in texts:
            fp = _fingerprint(text)
            if len(fp.shingles):
                wanted |= self._buckets.slots(fp.band_keys)
        self._read_back(wanted, read)

    def match(self, text: str | Fingerprint, read: TextReader | None = None) -> Candidate | None:
        """The earliest-published indexed article that `text` is a near copy of, or None."""
        return next((c for c in self.candidates(text, read) if self.rule.accepts(c.overlap)), None)

    def find(self, text: str | Fingerprint, read: TextReader | None = None) -> str | None:
        """The id of the earliest-published indexed article `text` is a near copy of, or
        None. That article may have been published after `text`'s own article (a copy
        fetched before its original): the caller decides what to make of that."""
        found = self.match(text, read)
        return found.article_id if found else None

    def evict_before(self, cutoff: datetime) -> int:
        """Forget the articles published before `cutoff`; returns how many."""
        evicted = 0
        while self._by_time and self._by_time[0][0] < cutoff:
            _, slot = heapq.heappop(self._by_time)
            entry = self._entries.pop(slot)
            self._held.pop(slot, None)
            del self._slots[entry.article_id]
            evicted += 1
        if evicted:
            self._buckets.keep_only(self._entries)
        return evicted

    def _index(self, article_id: str, published: datetime, keys: U64) -> int:
        slot = self._next
        self._next += 1
        self._entries[slot] = _Entry(article_id, published)
        self._buckets.add(keys, slot)
        self._slots[article_id] = slot
        heapq.heappush(self._by_time, (published, slot))
        return slot

    def _hold(self, slot: int, shingles: U32, words: int) -> None:
        self._held[slot] = (shingles, words)
        self._held.move_to_end(slot)
        while self.held_limit is not None and len(self._held) > self.held_limit:
            self._held.popitem(last=False)

    def _read_back(self, slots: Iterable[int], read: TextReader | None) -> None:
        """Hold the shingle sets of `slots` that are not held, from texts `read` gives."""
        for slot in slots:
            if slot in self._held:
                self._held.move_to_end(slot)
        missing = {self._entries[s].article_id: s for s in slots if s not in self._held}
        if not missing:
            return
        if read is None:
            raise LookupError(
                f"{len(missing)} candidates' shingle sets are not held and no reader was given"
            )
        for article_id, text in read(sorted(missing)).items():
            shingles, words = shingles_and_words(text)
            self.texts_read += 1
            if len(shingles):
                self._hold(missing[article_id], shingles, words)


def _fingerprint(text: str | Fingerprint, signature: bytes | None = None) -> Fingerprint:
    """`text`'s fingerprint, computed unless it is one already."""
    return text if isinstance(text, Fingerprint) else fingerprint(text, signature)
