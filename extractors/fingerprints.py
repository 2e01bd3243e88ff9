"""Fingerprints of article text, for finding copies: exact (content hash) and near (MinHash).

The content hash is taken over a normalised form of the text (case folded, punctuation and
spacing collapsed) so that a syndicated copy that differs only in typography or whitespace
hashes the same as its original.

Near copies (a trimmed copy, a house-style edit, a new headline and lead, other boilerplate)
do not hash the same, so each text also gets a `Fingerprint`: its shingle set and MinHash
signature.

- Tokens: the text is case folded, digit groups are joined ("1,000", "1.000" and "1000" read
  alike), combining marks are dropped (so a Hindi vowel sign does not cut a word in two).
  Words are runs of letters and digits; in scripts written without spaces (Chinese,
  Japanese kana, Thai, Lao, Khmer, Myanmar) every character is a token of its own.
- Shingles: runs of `WORD_SHINGLE` (3) words, and apart from them runs of `CHAR_SHINGLE` (5)
  characters of those scripts (a Chinese word is one to three characters, so 5 characters
  are about 3 words), hashed to 32 bits. Words and characters are shingled separately so an
  English article quoting Japanese is cut the same way however much of each a copy keeps.
  Measured in the bench: 2-word shingles let distinct real articles on the same event share
  25% (3 words: 9%); 4 or 5 words lose more of every edited copy (p10 containment 0.83 at
  3 words, 0.79 at 4, 0.75 at 5). For characters, 5 keeps distinct Chinese articles at 2%
  (2 characters: 16%) and copies at 0.78.
- Signature: `NUM_PERM` (128) minimums of seeded multiply-shift hashes of the shingles,
  stored as one version byte and 128 little-endian uint32 (`articles.near_dup_signature`).
  Everything is vectorised numpy with fixed seeds: the same text gives the same bytes in
  every process, and a change to any of it must bump `SIGNATURE_VERSION`.
- Candidates: LSH over the signature, `BANDS` (42) bands of `ROWS` (3) values. A pair with
  shingle Jaccard J is a candidate with probability 1 - (1 - J^3)^42: 0.04 at J = 0.1,
  0.29 at 0.2, 0.68 at 0.3, 0.94 at 0.4, 0.996 at 0.5. Copies of the issue's kinds have J of
  0.4 and more (all were candidates in the bench); a copy both halved and house-style edited
  sits near J = 0.35 and is a candidate about 85-95% of the time.
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
MinHash. An indexed article costs about 9 KB (a 375-word article: its shingle set, band keys
and 42 bucket entries), so 24,000 articles in the window take about 250 MB.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def content_hash(text: str) -> str:
    """A stable hex digest of the normalised text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


# --- shingles and signatures --------------------------------------------------------------------

WORD_SHINGLE = 3
CHAR_SHINGLE = 5
NUM_PERM = 128
BANDS, ROWS = 42, 3
SIGNATURE_VERSION = 1
SIGNATURE_BYTES = 1 + 4 * NUM_PERM

MIN_CONTAINMENT = 0.5
MIN_WORDS = 60
MIN_LENGTH_RATIO = 0.2
MIN_JACCARD = 0.7
DEFAULT_WINDOW = timedelta(days=14)

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK (and, in
# `_code_points`, the CJK extensions beyond the BMP).
_UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    *((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF)),
    *((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)),
)
# "1,000", "1.000", "1 000" -> "1000": house styles write numbers differently.
_GROUP_SEPARATORS = ",.' \u00a0\u202f"

_SEED = 20260105
_rng = np.random.default_rng(_SEED)
# Multiply-shift hashing (a * x + b mod 2^64) >> 32 for 32-bit x: one (a, b) per permutation.
_PERM_A = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_PERM_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
# Per-band multipliers that turn ROWS signature values into one 64-bit bucket key.
_BAND_MUL = _rng.integers(1, 2**63, size=(BANDS, ROWS), dtype=np.uint64) * np.uint64(2) + 1
del _rng
_SHINGLE_MUL = np.uint64(0x9E3779B97F4A7C15)
_CHAR_MUL = np.uint64(0x100000001B3)  # a token's hash is its code points in base _CHAR_MUL
_MAX_TOKEN = 256  # code points of a token that count (a longer "word" is a URL or junk)
_POWERS = np.cumprod(np.r_[np.uint64(1), np.full(_MAX_TOKEN - 1, _CHAR_MUL, dtype=np.uint64)])

_SEPARATOR, _WORD_CHAR, _UNSPACED_CHAR, _MARK = 0, 1, 2, 3


@functools.cache
def _classes() -> npt.NDArray[np.uint8]:
    """The class of every BMP code point. Letters and digits make words; a character of an
    unspaced script is a token by itself; combining marks (vowel signs, diacritics not
    precomposed) are dropped: as separators they would cut a Hindi or Burmese word at every
    vowel sign. Everything else separates tokens. (About 30 ms, once.)"""
    table = np.zeros(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        ch = chr(cp)
        if unicodedata.category(ch).startswith("M"):
            table[cp] = _MARK
        elif ch.isalnum():
            table[cp] = _WORD_CHAR
    for lo, hi in _UNSPACED_RANGES:
        block = table[lo : hi + 1]
        block[block != _MARK] = _UNSPACED_CHAR
    return table


def _code_points(text: str) -> tuple[U32, npt.NDArray[np.uint8]]:
    """The case-folded text's code points and their classes, with marks and digit-group
    separators taken out."""
    cps = np.frombuffer(text.casefold().encode("utf-32-le"), dtype=np.uint32)
    if not len(cps):
        return cps, np.empty(0, dtype=np.uint8)
    cls = _classes().take(cps, mode="clip")
    if cps.max() > 0xFFFF:  # CJK extensions are unspaced; the rest up there (emoji) separates
        cls = np.where(
            cps > 0xFFFF, np.where(cps >= 0x20000, _UNSPACED_CHAR, _SEPARATOR), cls
        ).astype(np.uint8)
    with np.errstate(over="ignore"):
        digit = np.concatenate([cps - np.uint32(48) < 10, np.zeros(4, dtype=bool)])
    n = len(cps)
    grouping = (
        _is_group_separator().take(cps, mode="clip")
        & np.concatenate([[False], digit[: n - 1]])
        & digit[1 : n + 1]
        & digit[2 : n + 2]
        & digit[3 : n + 3]
        & ~digit[4 : n + 4]
    )
    keep = (cls != _MARK) & ~grouping
    if not keep.all():
        cps, cls = cps[keep], cls[keep]
    return cps, cls


@functools.cache
def _is_group_separator() -> npt.NDArray[np.bool_]:
    table = np.zeros(0x10000, dtype=bool)
    table[[ord(c) for c in _GROUP_SEPARATORS]] = True
    return table


def _token_hashes(cps: U32, cls: npt.NDArray[np.uint8]) -> tuple[U64, U64]:
    """64-bit hashes of the words and, apart, of the unspaced-script characters, in order."""
    is_word = cls == _WORD_CHAR
    begins = is_word.copy()
    begins[1:] &= ~is_word[:-1]
    word_cps = cps[is_word]
    if len(word_cps):
        first = begins[is_word]
        starts = np.flatnonzero(first)
        offset = np.arange(len(word_cps)) - starts[np.cumsum(first) - 1]
        lengths = np.diff(starts, append=len(word_cps)).astype(np.uint64)
        with np.errstate(over="ignore"):
            terms = word_cps.astype(np.uint64) * _POWERS[np.minimum(offset, _MAX_TOKEN - 1)]
            words = _mix(np.add.reduceat(terms, starts) + lengths)
    else:
        words = np.empty(0, dtype=np.uint64)
    chars = cps[cls == _UNSPACED_CHAR].astype(np.uint64)
    with np.errstate(over="ignore"):
        return words, _mix(chars * _SHINGLE_MUL + np.uint64(1))


def _mix(x: U64) -> U64:
    """splitmix64's finaliser: every input bit moves every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def tokens(text: str) -> tuple[list[str], list[str]]:
    """The text's words and, apart, its characters of unspaced scripts, as `shingles` cuts
    them (case folded, digit groups joined, combining marks dropped)."""
    cps, cls = _code_points(text)
    chars = "".join(map(chr, cps.tolist()))
    words = "".join(c if k == _WORD_CHAR else " " for c, k in zip(chars, cls.tolist(), strict=True))
    unspaced = [c for c, k in zip(chars, cls.tolist(), strict=True) if k == _UNSPACED_CHAR]
    return words.split(), unspaced


def shingles(text: str, *, word_k: int = WORD_SHINGLE, char_k: int = CHAR_SHINGLE) -> U32:
    """The sorted, distinct 32-bit hashes of the text's shingles: runs of `word_k` words and
    runs of `char_k` characters of unspaced scripts. The two are shingled apart so that a
    text mixing scripts (an English article quoting Japanese) is cut the same way however
    much of each a copy keeps."""
    return _shingles_and_length(text, word_k, char_k)[0]


def _shingles_and_length(text: str, word_k: int, char_k: int) -> tuple[U32, int]:
    """The shingle set, and the text's length in words (a character of an unspaced script
    counting as half a word, about what a Chinese word is)."""
    words, chars = _token_hashes(*_code_points(text))
    hashes = np.sort(
        np.concatenate([_shingle_hashes(words, word_k, 1), _shingle_hashes(chars, char_k, 2)])
    )
    if len(hashes) > 1:
        hashes = hashes[np.concatenate([[True], hashes[1:] != hashes[:-1]])]
    return hashes, len(words) + len(chars) // 2


def _shingle_hashes(h: U64, k: int, salt: int) -> U32:
    if not len(h):
        return np.empty(0, dtype=np.uint32)
    n = max(1, len(h) - k + 1)
    acc = h[:n].copy()
    with np.errstate(over="ignore"):
        for j in range(1, min(k, len(h))):
            acc = acc * _SHINGLE_MUL + h[j : j + n]
        acc = _mix(acc + np.uint64(salt))
    return (acc >> np.uint64(32)).astype(np.uint32)


def minhash(shingle_set: U32) -> U32:
    """The MinHash signature of a shingle set: `NUM_PERM` 32-bit minimums."""
    if len(shingle_set) == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    sig = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    x = shingle_set.astype(np.uint64)
    # In blocks, so a book-length text does not build a matrix of hundreds of megabytes.
    # The shift by 32 is taken after the minimum: it is monotonic, so the minimum is the same.
    with np.errstate(over="ignore"):
        for i in range(0, len(x), 1024):
            block = x[i : i + 1024, None] * _PERM_A
            block += _PERM_B
            np.minimum(sig, block.min(axis=0), out=sig)
    return (sig >> np.uint64(32)).astype(np.uint32)


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprint:
    """A text's shingle set and MinHash signature: computed once per article, to search the
    index with and then to add to it."""

    shingles: U32
    signature: U32
    band_keys: U64  # the LSH bucket of each band
    words: int  # length in words, a character of an unspaced script counting half

    def signature_bytes(self) -> bytes:
        """The signature as stored in `articles.near_dup_signature`: a version byte, then
        `NUM_PERM` little-endian 32-bit values."""
        return bytes([SIGNATURE_VERSION]) + self.signature.astype("<u4").tobytes()


def fingerprint(text: str, stored_signature: bytes | None = None) -> Fingerprint:
    """The text's fingerprint. A stored signature of the current version is taken instead of
    computing the MinHash again (rebuilding the index at start); one of another version, or
    none, is computed from the text."""
    shingle_set, words = _shingles_and_length(text, WORD_SHINGLE, CHAR_SHINGLE)
    sig = None
    if stored_signature is not None:
        try:
            sig = signature_from_bytes(stored_signature)
        except ValueError:
            sig = None
    if sig is None:
        sig = minhash(shingle_set)
    return Fingerprint(shingle_set, sig, _band_keys(sig), words)


def signature(text: str) -> bytes:
    """The text's MinHash signature as bytes, for `articles.near_dup_signature`."""
    return fingerprint(text).signature_bytes()


def signature_from_bytes(data: bytes) -> U32:
    """Read a stored signature; ValueError when it is not one of the current version."""
    if len(data) != SIGNATURE_BYTES or data[0] != SIGNATURE_VERSION:
        raise ValueError(
            f"not a version {SIGNATURE_VERSION} signature ({len(data)} bytes, "
            f"version {data[0] if data else None})"
        )
    return np.frombuffer(data, dtype="<u4", offset=1).astype(np.uint32)


def _band_keys(sig: U32) -> U64:
    """One 64-bit key per band: the band's `ROWS` values and its number, hashed."""
    rows = sig[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        return _mix(
            (rows * _BAND_MUL).sum(axis=1, dtype=np.uint64) + np.arange(BANDS, dtype=np.uint64)
        )


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
    band_keys: U64
    words: int


class NearDuplicateIndex:
    """The articles of a time window, searchable for near copies of a new text.

    Candidates come from LSH buckets and are verified on exact shingle sets by `rule`. An
    article costs its shingle set (4 bytes a shingle), its band keys and `BANDS` bucket
    entries: about 6 KB for a 300-word article. `evict_before` keeps it bounded.

    Texts can be given as `str` or as a `Fingerprint`: the loader fingerprints an article
    once, looks for its original with it, then adds it and stores its signature.
    """

    def __init__(self, rule: DedupRule | None = None) -> None:
        self.rule = rule or DedupRule()
        self._buckets: dict[int, int | list[int]] = {}
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
        for key in fp.band_keys.tolist():
            held = self._buckets.get(key)
            if held is None:
                self._buckets[key] = slot
            elif isinstance(held, list):
                held.append(slot)
            else:
                self._buckets[key] = [held, slot]
        self._entries[slot] = _Entry(article_id, published, fp.shingles, fp.band_keys, fp.words)
        self._slots[article_id] = slot
        heapq.heappush(self._by_time, (published, slot))

    def candidates(self, text: str | Fingerprint) -> list[Candidate]:
        """The indexed articles that share an LSH bucket with `text`, near copies or not,
        earliest published first."""
        fp = text if isinstance(text, Fingerprint) else fingerprint(text)
        if len(fp.shingles) == 0:
            return []
        slots: set[int] = set()
        for key in fp.band_keys.tolist():
            held = self._buckets.get(key)
            if isinstance(held, list):
                slots.update(held)
            elif held is not None:
                slots.add(held)
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
            for key in entry.band_keys.tolist():
                held = self._buckets[key]
                if isinstance(held, list):
                    held.remove(slot)
                    if len(held) == 1:
                        self._buckets[key] = held[0]
                else:
                    del self._buckets[key]
            evicted += 1
        return evicted
