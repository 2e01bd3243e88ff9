"""OPML subscription lists in and out: `newswatch sources import` reads the file every feed
reader exports, `newswatch sources export` writes one back.

An OPML file is an outline: `<outline xmlUrl=...>` elements are feeds, and outlines without
one are folders, whose text is the feed's category. Readers nest folders differently, so the
tree is flattened: each feed keeps the text of the folder nearest above it.

What OPML has no attribute for (the source kind, country and outlet) is written in our own
namespace, `newswatch:kind` and friends, which other readers ignore and `parse_opml` reads
back, so an export imports again unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from extractors.errors import ConfigError
from extractors.records import Source
from extractors.text import collapse_whitespace
from extractors.urls import resolve_http_url

NEWSWATCH_NS = "https://newswatch.invalid/opml"
_NEWSWATCH_FIELDS = ("kind", "country", "outlet")
# Characters XML 1.0 cannot carry at all, not even escaped (lxml refuses them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LXML_PLACE = re.compile(r",? line \d+, column \d+$")


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    """One feed of an OPML file. `category` is the text of the folder outline it sat in;
    `kind`, `country` and `outlet` are set only in files newswatch wrote."""

    title: str
    xml_url: str
    html_url: str | None = None
    language: str | None = None
    category: str | None = None
    kind: str | None = None
    country: str | None = None
    outlet: str | None = None


def parse_opml(body: bytes | str, path: str = "<opml>") -> list[OpmlOutline]:
    """The feeds of an OPML file, in file order. Outlines without an http(s) `xmlUrl` are
    skipped; input that is not OPML raises `ConfigError` naming `path` (the file the user
    gave, for the message)."""
    root = _parse_xml(body, path)
    if etree.QName(root).localname != "opml":
        raise ConfigError(
            path,
            f"not an OPML file: the root element is <{etree.QName(root).localname}>",
            fix="export the subscriptions from your feed reader as OPML",
        )
    body_element = _child(root, "body")
    if body_element is None:
        line = root.sourceline  # lxml-stubs types it as `...`: it is an int or None
        raise ConfigError(
            path, "not an OPML file: it has no <body>", line=line if isinstance(line, int) else None
        )
    return list(_feeds(body_element, category=None))


def write_opml(sources: Sequence[Source], title: str = "newswatch sources") -> str:
    """An OPML 2.0 document listing `sources`, grouped in one folder per language (in the
    order the languages first appear). The tree is built with lxml, which escapes every
    value: names and URLs come from a user's file and may hold `&`, `<` or quotes."""
    root = etree.Element("opml", version="2.0", nsmap={"newswatch": NEWSWATCH_NS})
    etree.SubElement(etree.SubElement(root, "head"), "title").text = _xml_safe(title)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for source in sources:
        if source.language not in folders:
            folders[source.language] = etree.SubElement(
                body, "outline", text=_xml_safe(source.language)
            )
        etree.SubElement(folders[source.language], "outline", _source_attributes(source))
    xml = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return xml.decode("utf-8")


# ---------------------------------------------------------------- reading


def _parse_xml(body: bytes | str, path: str) -> etree._Element:
    # Text was decoded already: read it as UTF-8 whatever its declaration says.
    data = body.encode("utf-8") if isinstance(body, str) else body
    parser = etree.XMLParser(
        encoding="utf-8" if isinstance(body, str) else None,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
    )
    if not data.strip():
        raise ConfigError(path, "the file is empty", fix="export the subscriptions as OPML")
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # lxml's message ends with the place, which ConfigError prints its own way.
        problem = _LXML_PLACE.sub("", exc.msg or "") or "unreadable"
        raise ConfigError(path, f"not well-formed XML: {problem}", line=exc.lineno) from exc
    return root


def _child(node: etree._Element, name: str) -> etree._Element | None:
    return next(node.iterchildren(f"{{*}}{name}"), None)


def _feeds(node: etree._Element, category: str | None) -> Iterator[OpmlOutline]:
    """The feed outlines under `node`, depth first; a folder's text is its feeds' category."""
    for outline in node.iterchildren("{*}outline"):
        attrs = _attributes(outline)
        feed = _outline(attrs, category)
        if feed is not None:
            yield feed
        # A feed outline may hold more outlines (some readers nest them); they keep the
        # category of the folder above, since a feed is no folder.
        folder = category if "xmlurl" in attrs else _text(attrs) or category
        yield from _feeds(outline, folder)


def _attributes(outline: etree._Element) -> dict[str, str]:
    """The outline's attributes by lower-cased local name (exporters spell `xmlUrl` as
    `xmlurl` or `XMLURL` too); ours are under their namespaced name, "newswatch:kind"."""
    found: dict[str, str] = {}
    for key, raw in outline.attrib.items():
        value = raw if isinstance(raw, str) else raw.decode("utf-8")
        name = etree.QName(key)
        if name.namespace == NEWSWATCH_NS:
            found[f"newswatch:{name.localname}"] = value
        elif name.namespace is None:
            found.setdefault(name.localname.lower(), value)
    return found


def _outline(attrs: Mapping[str, str], category: str | None) -> OpmlOutline | None:
    xml_url = resolve_http_url(attrs.get("xmlurl"), "")
    if xml_url is None:
        return None
    extra = {field: _optional(attrs.get(f"newswatch:{field}")) for field in _NEWSWATCH_FIELDS}
    return OpmlOutline(
        title=_text(attrs),
        xml_url=xml_url,
        html_url=resolve_http_url(attrs.get("htmlurl"), ""),
        language=_optional(attrs.get("language")),
        category=category,
        kind=extra["kind"],
        country=extra["country"],
        outlet=extra["outlet"],
    )


def _text(attrs: Mapping[str, str]) -> str:
    # `text` is what OPML requires and readers display; `title` is optional and often absent.
    return _optional(attrs.get("text")) or _optional(attrs.get("title")) or ""


def _optional(value: str | None) -> str | None:
    return collapse_whitespace(value or "") or None


# ---------------------------------------------------------------- writing


def _source_attributes(source: Source) -> dict[str, str]:
    values = {
        "text": source.name,
        "title": source.name,
        "type": "rss",  # what readers expect on every feed outline, whatever the format
        "xmlUrl": source.url,
        "language": source.language,
        f"{{{NEWSWATCH_NS}}}kind": source.kind,
        f"{{{NEWSWATCH_NS}}}country": source.country,
        f"{{{NEWSWATCH_NS}}}outlet": source.outlet,
    }
    return {key: _xml_safe(value) for key, value in values.items()}


def _xml_safe(value: str) -> str:
    """`value` without the control characters XML cannot hold: a name from a YAML file may
    carry one ("\\x07" is valid YAML), and lxml would refuse the whole document."""
    return _NOT_XML.sub("", value)
