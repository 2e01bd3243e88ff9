"""Fingerprints of article text, for finding copies.

The content hash is taken over a normalised form of the text (case folded, punctuation and
spacing collapsed) so that a syndicated copy that differs only in typography or whitespace
hashes the same as its original.
"""

from __future__ import annotations

import hashlib
import re

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def content_hash(text: str) -> str:
    """A stable hex digest of the normalised text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()
