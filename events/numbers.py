"""Numbers in a title and lead, written the same way whatever the language and script.

Casualty counts, amounts and dates are evidence that crosses languages untouched once their
digits are normalised: `۱۲۰`, `١٢٠`, `120` and `一百二十` all give `120`; `3,5 млн`, `3.5
million` and `350万` give `3500000`. Small counts (0..10) say little and are dropped.
"""

from __future__ import annotations

import re
import unicodedata

_MIN_VALUE = 11  # 1..10 are in every text: "two officials", "3 pm"

_SCALES = {
    "thousand": 1e3,
    "mil": 1e3,
    "тыс": 1e3,
    "тис": 1e3,
    "tys": 1e3,
    "tausend": 1e3,
    "هزار": 1e3,
    "千": 1e3,
    "万": 1e4,
    "萬": 1e4,
    "million": 1e6,
    "millones": 1e6,
    "millón": 1e6,
    "mln": 1e6,
    "млн": 1e6,
    "mio": 1e6,
    "millionen": 1e6,
    "milioni": 1e6,
    "milion": 1e6,
    "milyon": 1e6,
    "میلیون": 1e6,
    "billion": 1e9,
    "млрд": 1e9,
    "mrd": 1e9,
    "milliarden": 1e9,
    "mld": 1e9,
    "milyar": 1e9,
    "میلیارد": 1e9,
    "亿": 1e8,
    "億": 1e8,
    "bn": 1e9,
    "m": 1e6,
}
_CJK_DIGITS = dict(
    zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
_CJK_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]{2,}")
_NUMBER = re.compile(
    r"(?<![0-9.,A-Za-zÀ-ɏЀ-ӿ])(\d{1,3}(?:[ ,.\u00a0\u202f']\d{3})+|\d+)(?:[.,](\d+))?"
    r"(?:\s?([^\W\d_]+|[万萬亿億千]))?"
)


def normalise_digits(text: str) -> str:
    """Every decimal digit of any script (Persian, Arabic-Indic, fullwidth...) as ASCII."""
    return "".join(
        str(unicodedata.digit(c)) if not c.isascii() and c.isdigit() else c for c in text
    )


def _cjk_value(chars: str) -> int:
    """一百二十 -> 120, 三千 -> 3000, 二〇二六 -> 2026 (digit by digit without units)."""
    if not any(c in _CJK_UNITS for c in chars):
        return int("".join(str(_CJK_DIGITS[c]) for c in chars))
    total, digit = 0, 0
    for c in chars:
        if c in _CJK_DIGITS:
            digit = _CJK_DIGITS[c]
        else:
            total += (digit or 1) * _CJK_UNITS[c]
            digit = 0
    return total + digit


def _format(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def numbers(text: str) -> frozenset[str]:
    """The numbers of `text` (11 and above), scaled by a following word for thousand,
    million or billion in the languages of the development set."""
    text = normalise_digits(text)
    found: set[str] = set()
    value: float
    for match in _CJK_NUMBER.finditer(text):
        value = _cjk_value(match.group(0))
        if value >= _MIN_VALUE:
            found.add(_format(value))
    for whole, fraction, word in _NUMBER.findall(text):
        digits = re.sub(r"\D", "", whole)
        value = (
            float(f"{digits}.{fraction}")
            if fraction and len(fraction) != 3
            else float(digits + fraction)
        )
        scale = _SCALES.get(word.lower().rstrip(".")) if word else None
        if scale:
            value *= scale
        if value >= _MIN_VALUE:
            found.add(_format(value))
    return frozenset(found)
