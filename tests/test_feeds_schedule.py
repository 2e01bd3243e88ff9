"""extractors.feeds' schedule hints: `<ttl>` and the syndication module's update period and
frequency, on real feeds (../shared/corpus) and on hand-written channels, nonsense included."""

from __future__ import annotations

import pytest

from extractors.feeds import parse_feed
from tests.feedcheck import FEED_URL, parse

# ---------------------------------------------------------------- schedule hints


def test_ttl_from_real_feeds() -> None:
    assert parse("feed-test-ru.xml").ttl_seconds == 24 * 60  # <ttl>24</ttl>
    # <sy:updatePeriod>\n\thourly\t</sy:updatePeriod>, frequency 1; in a broken feed.
    assert parse("osm-pl.xml").ttl_seconds == 3600
    assert parse("livemint.xml").ttl_seconds is None
    assert parse("heise.atom").ttl_seconds is None
    assert parse("allthis.json").ttl_seconds is None


SY = 'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'


def with_hints(hints: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0" {SY}><channel><title>t</title>{hints}'
        "<item><link>https://example.org/1</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("hints", "seconds"),
    [
        ("<ttl>15</ttl>", 900),
        ("<ttl> 60 </ttl>", 3600),
        ("<ttl>30</ttl><sy:updatePeriod>daily</sy:updatePeriod>", 1800),  # ttl first
        (
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
            21_600,
        ),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
            1800,
        ),
        ("<sy:updatePeriod>Weekly</sy:updatePeriod>", 7 * 86_400),  # frequency defaults to 1
        ("<sy:updatePeriod>monthly</sy:updatePeriod>", 30 * 86_400),
        ("<sy:updatePeriod>yearly</sy:updatePeriod>", 365 * 86_400),
        # Nonsense is no hint: the next one is used, or none.
        ("<ttl>0</ttl>", None),
        ("<ttl>-5</ttl>", None),
        ("<ttl>sixty</ttl>", None),
        ("<ttl>1.5</ttl>", None),
        ("<ttl></ttl>", None),
        ("<ttl>99999999999</ttl>", None),
        ("<ttl>600000</ttl>", None),  # 416 days: past a year
        ("<ttl>0</ttl><sy:updatePeriod>hourly</sy:updatePeriod>", 3600),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>0</sy:updateFrequency>",
            3600,
        ),
        (
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>x</sy:updateFrequency>",
            86_400,
        ),
        ("<sy:updateFrequency>4</sy:updateFrequency>", None),  # a frequency of no period
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>7200</sy:updateFrequency>",
            1,
        ),
    ],
)
def test_ttl_hints(hints: str, seconds: int | None) -> None:
    assert parse_feed(with_hints(hints), FEED_URL).ttl_seconds == seconds


def test_atom_and_rdf_feeds_with_the_syndication_module() -> None:
    atom = (
        f'<feed xmlns="http://www.w3.org/2005/Atom" {SY}><title>a</title>'
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
        '<entry><id>urn:x:1</id><link href="https://example.org/1"/></entry></feed>'
    ).encode()
    assert parse_feed(atom, FEED_URL).ttl_seconds == 900
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns="http://purl.org/rss/1.0/" {SY}><channel rdf:about="https://example.org/">'
        "<title>r</title><sy:updatePeriod>daily</sy:updatePeriod></channel>"
        '<item rdf:about="https://example.org/1"><link>https://example.org/1</link></item>'
        "</rdf:RDF>"
    ).encode()
    assert parse_feed(rdf, FEED_URL).ttl_seconds == 86_400


def test_many_comments_before_a_non_element_are_answered_at_once() -> None:
    # The prolog patterns used to backtrack through every way of splitting a run of comments:
    # 2^n steps, minutes for 30 of them. Hostile bodies must not stall a poll.
    for body in (b"<!---->" * 2_000 + b"x", b"<?xml version='1.0'?>" + b"<!-- - -->" * 2_000):
        assert parse_feed(body, FEED_URL).error_kind == "not_a_feed"
