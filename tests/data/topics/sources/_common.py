"""Helpers the readers share (modules starting with `_` are not readers)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

MAX_TEXT = 12_000  # longer texts are cut at a paragraph, as they were when labelled

# The country of outlets by web domain, where the domain's suffix does not say it. Filled for
# the news outlets of the corpus; blogs and shops of no clear country are left unknown ("").
DOMAIN_COUNTRY = {
    "economist.com": "GB",
    "theatlantic.com": "US",
    "harpers.org": "US",
    "aclu.org": "US",
    "wsvn.com": "US",
    "theintercept.com": "US",
    "newrepublic.com": "US",
    "time.com": "US",
    "fivethirtyeight.com": "US",
    "bostonherald.com": "US",
    "metrotimes.com": "US",
    "laweekly.com": "US",
    "fox13now.com": "US",
    "roughdraftatlanta.com": "US",
    "pcgamer.com": "US",
    "pcmag.com": "US",
    "tomshardware.com": "US",
    "hearya.com": "US",
    "medicalnewstoday.com": "GB",
    "heartlandnewsfeed.com": "US",
    "kaieteurnewsonline.com": "GY",
    "elnacional.com": "VE",
    "eltiempo.com": "CO",
    "latercera.com": "CL",
    "lacuarta.com": "CL",
    "energetyka24.com": "PL",
    "sott.net": "",
    "legrandcontinent.eu": "FR",
    "diem25.org": "",
    "xinhuanet.com": "CN",
    "news.cn": "CN",
    "banyuetan.org": "CN",
    "oneesports.gg": "",
    "prachatai.com": "TH",
    "nikkei.com": "JP",
    "afpbb.com": "JP",
    "aoc.media": "FR",
    "boxen1.com": "DE",
    "motor1.com": "",
    "reddit.com": "US",
    "youtube.com": "US",
    "daringfireball.net": "US",
    "theguardian.com": "GB",
    "guardian.co.uk": "GB",
    "livemint.com": "IN",
    "techcrunch.com": "US",
    "huffingtonpost.ca": "CA",
    "bbc.co.uk": "GB",
    "uol.com.br": "BR",
    "heise.de": "DE",
    "nbcnewyork.com": "US",
    "macworld.com": "US",
    "medscape.com": "US",
    "heraldsun.com.au": "AU",
    "spiegel.de": "DE",
}
SUFFIX_COUNTRY = {
    "de": "DE",
    "at": "AT",
    "ch": "CH",
    "fr": "FR",
    "pl": "PL",
    "br": "BR",
    "cl": "CL",
    "ar": "AR",
    "uy": "UY",
    "pe": "PE",
    "uk": "GB",
    "ie": "IE",
    "jp": "JP",
    "fi": "FI",
    "it": "IT",
    "es": "ES",
    "cn": "CN",
    "kr": "KR",
    "sk": "SK",
    "ru": "RU",
    "ua": "UA",
    "ve": "VE",
    "ir": "IR",
    "tw": "TW",
    "au": "AU",
    "ca": "CA",
    "in": "IN",
    "gr": "GR",
}


def outlet_of(url: str | None) -> str:
    """The outlet of a URL: its host without `www.` (and archive.org's archived host)."""
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    if host == "web.archive.org":
        inner = (url or "").split("/http", 1)
        if len(inner) == 2:
            return outlet_of("http" + inner[1])
    return host


def country_of(outlet: str) -> str:
    parts = outlet.split(".")
    for n in range(len(parts) - 1):
        if ".".join(parts[n:]) in DOMAIN_COUNTRY:
            return DOMAIN_COUNTRY[".".join(parts[n:])]
    return SUFFIX_COUNTRY.get(parts[-1], "") if len(parts) > 1 else ""


def cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    at = text.rfind("\n", 0, MAX_TEXT)
    return text[: at if at > MAX_TEXT // 2 else MAX_TEXT]


def keyword_round(
    items: list[dict],
    groups: Sequence[tuple[str, str, int]],
    rng: random.Random,
    text_of: Callable[[dict], str],
) -> dict[str, dict]:
    """The candidates of the keyword groups (name, pattern, cap), in order: each group's
    matches not taken yet, shuffled by `rng` and capped. The labellers' first round."""
    chosen: dict[str, dict] = {}
    for _, pattern, cap in groups:
        hits = [i for i in items if i["id"] not in chosen and re.search(pattern, text_of(i))]
        rng.shuffle(hits)
        chosen.update((i["id"], i) for i in hits[:cap])
    return chosen
