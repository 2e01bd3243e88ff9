"""Text folding for matching: case, accents, letter variants and spacing, with the way back.

Owns `fold`: the folded copy of a text that aliases are matched on (lower case; accents dropped
in Latin, Greek and Cyrillic: é→e, ё→е, й→и; Arabic letter variants folded to their Persian
form: ي→ی, ك→ک; Arabic diacritics, tatweel and invisible format characters dropped; ZWNJ and
every whitespace run read as one space), and `Folded.original`, the small offset map that
takes a match back to the original string. Also which characters are words of a spaced script
(`_is_word`) and which glue words together (Han, kana, Hangul: `_is_cjk`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

# --- folding: one char in, one char out (or a deletion marker), so offsets stay mappable -------

_DELETED = "\x00"
_COMBINING = {*range(0x0300, 0x0370), *range(0x0483, 0x048A)}
_ARABIC_MARKS = {*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)}
_ARABIC_MARKS.add(0x0640)  # tatweel: stretches a word for looks, never part of its spelling
# Letters whose variants are one letter to a Persian reader, and characters typed
# interchangeably (curly and straight apostrophes, the many dashes).
_EXTRA_FOLDS = {
    "ي": "ی",
    "ى": "ی",
    "ك": "ک",
    "ة": "ه",
    "ە": "ه",
    "ٱ": "ا",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ħ": "h",
    "ı": "i",
    "ς": "σ",
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    **{dash: "-" for dash in "‐‑‒–—―"},
}


def _is_cjk(cp: int) -> bool:
    """Han, kana and Hangul: scripts where a name sits inside a longer run of letters."""
    return (
        0x2E80 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or cp >= 0x20000
    )


def _strip_accent(c: str) -> str:
    """`é` → `e`, `й` → `и`, `آ` → `ا`; only for Latin, Greek, Cyrillic and Arabic, because
    stripping kana or Hangul this way would merge different syllables."""
    cp = ord(c)
    if not (cp < 0x0700 or 0x1E00 <= cp <= 0x1FFF):
        return c
    decomposed = unicodedata.normalize("NFD", c)
    if len(decomposed) > 1 and all(unicodedata.combining(m) for m in decomposed[1:]):
        return decomposed[0]
    return c


def _fold_char(c: str) -> str:
    cp = ord(c)
    if c.isspace() or c == "\u200c":  # ZWNJ splits Persian words where Latin would put a space
        return " "
    if 0xD800 <= cp <= 0xDFFF:  # a lone surrogate (badly decoded input) cannot go to UTF-8
        return " "
    if cp in _COMBINING or cp in _ARABIC_MARKS or unicodedata.category(c) == "Cf":
        return _DELETED
    lower = c.lower()
    if len(lower) != 1:  # `İ` lowers to two characters
        lower = unicodedata.normalize("NFD", c)[0].lower()
    if 0x0660 <= cp <= 0x0669 or 0x06F0 <= cp <= 0x06F9:
        return str(unicodedata.digit(c))
    base = _strip_accent(lower)
    return _EXTRA_FOLDS.get(base, base)


def _build_fold_table() -> str:
    # A str indexed by code point is the fastest table `str.translate` takes; characters past
    # the BMP raise IndexError, which `translate` reads as "leave unchanged".
    return "".join(_fold_char(chr(cp)) for cp in range(0x10000))


_FOLD_TABLE = _build_fold_table()
# The characters that still need folding once `str.lower` has run. Most text has few of them
# (accents, `’`, newlines), and translating just those runs is 2-3 times faster than
# `str.translate` over the whole text, which allocates a string per non-Latin-1 character.
_UNFOLDED = re.compile(
    "["
    + re.escape(
        "".join(c for c in map(chr, range(0x10000)) if c.lower() == c and _FOLD_TABLE[ord(c)] != c)
    )
    + "]+"
)
# A deleted run or spaces after a space (a space survives once); the second is the common case
# and has a fast form for text without deletions.
_SQUEEZE = re.compile(r"(?<= )[ \x00]+|\x00+")
_EXTRA_SPACES = re.compile(r" ( +)")  # a literal first char: the fast scan
_WORD_TAIL = re.compile(r"[^\W_\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0010ffff]*")


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and the map back: `breaks[i]` is a folded position where a deleted run
    ended, `shifts[i]` the number of characters deleted up to there."""

    text: str
    breaks: tuple[int, ...] = ()
    shifts: tuple[int, ...] = ()

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original string that the folded span `start:end` came from."""
        return self._at(start), self._at(end - 1) + 1

    def _at(self, pos: int) -> int:
        i = bisect_right(self.breaks, pos)
        return pos + (self.shifts[i - 1] if i else 0)


def fold(text: str) -> Folded:
    """Fold `text` for matching (see the module docstring) and keep the way back."""
    marked = _mark(text)
    squeeze = _SQUEEZE if _DELETED in marked else _EXTRA_SPACES
    pieces: list[str] = []
    breaks: list[int] = []
    shifts: list[int] = []
    kept = deleted = 0
    for m in squeeze.finditer(marked):
        start, end = m.span(m.lastindex or 0)
        pieces.append(marked[kept:start])
        breaks.append(start - deleted)
        deleted += end - start
        shifts.append(deleted)
        kept = end
    if not breaks:
        return Folded(marked)
    pieces.append(marked[kept:])
    return Folded("".join(pieces), tuple(breaks), tuple(shifts))


def _mark(text: str) -> str:
    """Fold char for char: same length as `text`, deletions marked with NUL."""
    lower = text.lower()
    if len(lower) != len(text):  # `İ` lowers to two characters; the table keeps it to one
        return text.translate(_FOLD_TABLE)
    return _UNFOLDED.sub(_translate_run, lower)


def _translate_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD_TABLE)


def _is_word(c: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return c.isalnum() and not _is_cjk(ord(c))
