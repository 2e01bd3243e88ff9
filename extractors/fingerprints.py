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

Whether two fingerprints are copies of each other, and the index that finds an article's
original among the recent ones, are `extractors.near_dups`'s.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass

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


def shingles_and_words(text: str) -> tuple[U32, int]:
    """The text's shingle set and its length in words, as `fingerprint` computes them, without
    the MinHash (verifying a candidate whose set was not held)."""
    return _shingles_and_length(text, WORD_SHINGLE, CHAR_SHINGLE)


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
    return Fingerprint(shingle_set, sig, band_keys(sig), words)


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


def band_keys(sig: U32) -> U64:
    """One 64-bit key per band: the band's `ROWS` values and its number, hashed."""
    rows = sig[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        return _mix(
            (rows * _BAND_MUL).sum(axis=1, dtype=np.uint64) + np.arange(BANDS, dtype=np.uint64)
        )
