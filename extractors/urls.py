"""Canonical URLs: one spelling per article, so the same page is never stored twice.

Feeds link to the same article as `HTTP://Www.Site.com/a?utm_source=rss#top` and
`https://www.site.com/a`; hashing or comparing raw URLs would count it twice. We normalise
the scheme and host, drop default ports, tracking parameters (courlan knows the long list:
utm_*, fbclid, gclid, ...) and fragments, and prefer the page's own rel=canonical or og:url
when it points at the same site (a page may not claim to be another site's article).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from courlan import normalize_url

ALLOWED_SCHEMES = ("http", "https")

# Tabs and newlines inside a URL are dropped by browsers (WHATWG URL) and by urlsplit.
_URL_NOISE = re.compile(r"[\t\r\n]")


def canonical_url(url: str) -> str:
    """The normalised form of `url`; raises ValueError when it is not an http(s) URL."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    normalised = urlsplit(normalize_url(url))
    path = normalised.path or "/"
    return urlunsplit((normalised.scheme, normalised.netloc.lower(), path, normalised.query, ""))


def resolve_http_url(href: object, base: str) -> str | None:
    """`href` (from a feed, sitemap or page: untrusted) resolved against `base`, or None
    unless it is an http(s) URL with a host: `javascript:`, `data:`, `mailto:` and broken
    URLs are nothing we could fetch."""
    if not isinstance(href, str):
        return None
    cleaned = _URL_NOISE.sub("", href).strip()
    if not cleaned:
        return None
    try:
        resolved = urljoin(base, cleaned)
        parts = urlsplit(resolved)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        return None
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not hostname:
        return None
    return resolved


def is_http_url(url: str) -> bool:
    try:
        canonical_url(url)
    except ValueError:
        return False
    return True


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on the same host, ignoring a leading `www.`."""
    host_a = (urlsplit(a).hostname or "").removeprefix("www.")
    host_b = (urlsplit(b).hostname or "").removeprefix("www.")
    return bool(host_a) and host_a == host_b


def choose_canonical(page_url: str, declared: str | None) -> str:
    """The page's declared canonical URL when it is on the page's own site, else the page URL."""
    if declared and is_http_url(declared) and same_site(page_url, declared):
        return canonical_url(declared)
    return canonical_url(page_url)
