"""News articles of 2020 from SemEval-2022 Task 8 (../shared/corpus/multilingual/
semeval2022_task8/, both CSV files): each article of a pair is one item, about 1,000
characters (the start and end of the article; some passages machine-translated by the team
that published the files). The files name neither outlet nor URL, so each article is its own
outlet (country unknown); the first sentence-like line is taken as the title."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

SOURCE = "semeval2022"


def read(shared: Path) -> Iterator[dict]:
    folder = shared / "corpus" / "multilingual" / "semeval2022_task8"
    csv.field_size_limit(10**8)
    seen: set[str] = set()
    for name in ("training_set.csv", "testing_set.csv"):
        with (folder / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                ids = row["pair_id"].split("_")
                for article, lang, text in zip(
                    ids, (row["lang1"], row["lang2"]), (row["text1"], row["text2"]), strict=True
                ):
                    if article in seen or not text.strip():
                        continue
                    seen.add(article)
                    title, body = split_title(text.strip())
                    yield {
                        "id": f"{SOURCE}:{article}",
                        "title": title,
                        "text": body,
                        "language": lang,
                        "outlet": f"semeval2022 article {article} (outlet not given)",
                        "country": "",
                        "origin": f"shared/corpus/multilingual/semeval2022_task8/{name}"
                        f"#pair={row['pair_id']}",
                        "published": "2020",
                    }


def split_title(text: str) -> tuple[str, str]:
    """The headline opens the text, on a line of its own or followed by two spaces."""
    head, body = "", ""
    for sep in ("\n", "  "):
        head, found, body = text.partition(sep)
        if found:
            break
    if body and 0 < len(head.strip()) <= 200 and not re.search(r"[.。]$", head.strip()):
        return head.strip(), body.strip()
    return "", text
