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
caller evicts by published time) and is rebuilt at start from stored rows: `add` takes the
stored text and, when it is of the current version, the stored signature, which saves the
MinHash. An indexed article costs its shingle set (4 bytes a shingle: 3.7 KB for the 900-word
articles of `bench/pipeline.py`) and about 0.8 KB besides: its 42 bucket entries live in two
sorted numpy arrays (`_Buckets`, 12 bytes an entry). Measured on 3,000 of those articles, the
buckets as a dict of Python ints took 3.4 KB an article, about as much as the shingles.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from extractors.fingerprints import BANDS, U32, U64, Fingerprint, fingerprint

MIN_CONTAINMENT = 0.5
MIN_WORDS = 60
MIN_LENGTH_RATIO = 0.2
MIN_JACCARD = 0.7
DEFAULT_WINDOW = timedelta(days=14)


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
    shingles: U32
    words: int


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
    article costs its shingle set (4 bytes a shingle) and `BANDS` bucket entries (`_Buckets`):
    about 2 KB for a 300-word article. `evict_before` keeps it bounded.

    Texts can be given as `str` or as a `Fingerprint`: the loader fingerprints an article
    once, looks for its original with it, then adds it and stores its signature.
    """

    def __init__(self, rule: DedupRule | None = None) -> None:
        self.rule = rule or DedupRule()
        self._buckets = _Buckets()
        self._entries: dict[int, _Entry] = {}
        self._slots: dict[str, int] = {}
        self._by_time: list[tuple[datetime, int]] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._slots

    def add(
        self,
        article_id: str,
        text: str | Fingerprint,
        published: datetime,
        *,
        signature: bytes | None = None,
    ) -> None:
        """Index one article. When rebuilding from stored rows, pass the stored `signature`:
        if it is of the current version the MinHash is not computed again (the shingles
        always are, from the text). Adding an id that is indexed already, or a text without
        a word, changes nothing."""
        if article_id in self._slots:
            return
        fp = text if isinstance(text, Fingerprint) else fingerprint(text, signature)
        if len(fp.shingles) == 0:
            return  # no words: nothing can be a copy of it (and it would fill every bucket)
        slot = self._next
        self._next += 1
        self._entries[slot] = _Entry(article_id, published, fp.shingles, fp.words)
        self._buckets.add(fp.band_keys, slot)
        self._slots[article_id] = slot
        heapq.heappush(self._by_time, (published, slot))

    def candidates(self, text: str | Fingerprint) -> list[Candidate]:
        """The indexed articles that share an LSH bucket with `text`, near copies or not,
        earliest published first."""
        fp = text if isinstance(text, Fingerprint) else fingerprint(text)
        if len(fp.shingles) == 0:
            return []
        slots = self._buckets.slots(fp.band_keys)
        found = []
        for slot in slots:
            e = self._entries[slot]
            found.append(
                Candidate(
                    e.article_id,
                    e.published,
                    _overlap(fp.shingles, fp.words, e.shingles, e.words),
                )
            )
        return sorted(found, key=lambda c: (c.published, c.article_id))

    def match(self, text: str | Fingerprint) -> Candidate | None:
        """The earliest-published indexed article that `text` is a near copy of, or None."""
        return next((c for c in self.candidates(text) if self.rule.accepts(c.overlap)), None)

    def find(self, text: str | Fingerprint) -> str | None:
        """The id of the earliest-published indexed article `text` is a near copy of, or
        None. That article may have been published after `text`'s own article (a copy
        fetched before its original): the caller decides what to make of that."""
        found = self.match(text)
        return found.article_id if found else None

    def evict_before(self, cutoff: datetime) -> int:
        """Forget the articles published before `cutoff`; returns how many."""
        evicted = 0
        while self._by_time and self._by_time[0][0] < cutoff:
            _, slot = heapq.heappop(self._by_time)
            entry = self._entries.pop(slot)
            del self._slots[entry.article_id]
            evicted += 1
        if evicted:
            self._buckets.keep_only(self._entries)
        return evicted
