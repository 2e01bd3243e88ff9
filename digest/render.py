"""Rendering a `Digest` record as Markdown and as one self-contained HTML page.

Both say what the record says and nothing more. Everything that comes from an article
(titles, outlets, quotes, URLs) is untrusted:

- Markdown: escaped so it cannot form links, HTML, headings or emphasis; a URL is linked
  only when it is http(s), with parentheses and spaces percent-encoded.
- HTML: jinja2 with autoescape, so text is text; the parts built from articles then pass
  through nh3 (an allowlist HTML sanitiser) with only the tags and attributes the template
  itself writes, and http(s) links. The page has no script, and its Content-Security-Policy
  forbids any (`default-src 'none'`; only the page's own stylesheet, by hash). The charts
  are SVG drawn here from numbers and dates.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from functools import cache
from importlib import resources
from urllib.parse import quote, urlsplit

import jinja2
import nh3
from markupsafe import Markup, escape

from digest.model import DayCount, Digest, DigestEvent, DigestStory, EventOutlet, Spike, TopicDigest

SPARKS = "▁▂▃▄▅▆▇█"
_MD_SPECIAL = "\\[]<>*_`#|~!"


# --- shared wording -------------------------------------------------------------------------


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def when(moment: datetime, day: date) -> str:
    """A time on the digest's day, else the day and time."""
    return f"{moment:%H:%M} UTC" if moment.date() == day else f"{moment:%Y-%m-%d %H:%M} UTC"


def spike_text(s: Spike) -> str:
    mean = f"{s.trailing_mean:g} a day in the week before"
    ratio = f", {s.ratio:g}x" if s.ratio else ""
    return f"{plural(s.articles, 'article')} against {mean}{ratio}"


def volume_text(t: TopicDigest) -> str:
    languages = f" in {', '.join(t.languages)}" if t.languages else ""
    return (
        f"{plural(t.articles, 'article')} ({t.about} about, {t.mentions} mentioning) "
        f"from {plural(t.outlets, 'outlet')}{languages}"
    )


def stories_text(t: TopicDigest) -> str:
    shown = f"; the top {len(t.stories)}" if t.stories_total > len(t.stories) else ""
    total = plural(t.stories_total, "story", "stories")
    return f"{total}: {t.new_stories} new, {t.continuing_stories} continuing{shown}"


def story_facts(s: DigestStory, day: date) -> str:
    languages = ", ".join(s.languages) or "language unknown"
    mention = "; only mentions the topic" if s.relevance == "mention" else ""
    return (
        f"{plural(s.outlets, 'outlet')}, {plural(s.articles, 'article')} ({languages}); "
        f"first {s.first_outlet}, {when(s.first_published, day)}; {s.status}{mention}"
    )


def events_text(t: TopicDigest) -> str:
    shown = f"; the top {len(t.events)}" if t.events_total > len(t.events) else ""
    return f"{plural(t.events_total, 'event')}{shown}"


def event_facts(e: DigestEvent, day: date) -> str:
    languages = ", ".join(e.languages) or "language unknown"
    countries = f"; countries: {', '.join(e.countries)}" if e.countries else ""
    mention = "; only mentions the topic" if e.relevance == "mention" else ""
    return (
        f"{plural(e.outlets, 'outlet')}, {plural(e.articles, 'article')} ({languages}"
        f"{countries}); first {e.first_outlet}, {when(e.first_published, day)}; "
        f"{e.status}{mention}"
    )


def outlet_label(o: EventOutlet) -> str:
    where = " · ".join(x for x in (o.country, o.language) if x)
    tags = f" ({', '.join(o.tags)})" if o.tags else ""
    many = f", {plural(o.articles, 'article')}" if o.articles > 1 else ""
    return f"{where}: {o.outlet}{tags}{many}"


def links_text(e: DigestEvent) -> str:
    return ", ".join(
        f"{link.topic} ({plural(link.articles, 'article')})" for link in e.other_topics
    )


def tags_text(t: TopicDigest) -> str:
    return " · ".join(
        f"{c.tag}{' of ' + c.country if c.country else ''}: {plural(c.articles, 'article')}"
        for c in t.by_tag
    )


def chart_range(chart: tuple[DayCount, ...]) -> str:
    most = max(c.articles for c in chart)
    peak = f"at most {most} a day" if most else "none"
    return f"{chart[0].day} to {chart[-1].day}; {peak}"


def safe_url(url: str) -> str | None:
    """`url` if it is an http(s) URL, else None (javascript:, data:, relative...)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


# --- Markdown -------------------------------------------------------------------------------


def md(text: str) -> str:
    """Article text is untrusted: keep it from forming links, HTML, headings or emphasis."""
    flat = " ".join(text.split())
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in flat)


def md_link(text: str, url: str) -> str:
    target = safe_url(url)
    if target is None:
        return md(text)
    # Parentheses, spaces, quotes and angle brackets are percent-encoded: none can end the link.
    return f"[{md(text)}]({quote(target, safe=':/?#[]@!$&*+,;=%~-._')})"


def sparkline(chart: tuple[DayCount, ...]) -> str:
    most = max(c.articles for c in chart)
    return "".join(
        "·" if c.articles == 0 else SPARKS[min(7, (c.articles * 8 - 1) // max(most, 1))]
        for c in chart
    )


def render_markdown(d: Digest) -> str:
    lines = [f"# newswatch digest: {d.day.isoformat()}", ""]
    if d.empty:
        names = ", ".join(t.name for t in d.topics)
        lines += [f"No watchlist article was published on this day (topics: {names}).", ""]
    else:
        spikes = [t for t in d.topics if t.spike.spiking]
        spiking = "; ".join(f"{t.name} ({spike_text(t.spike)})" for t in spikes)
        lines += [
            f"{plural(d.articles, 'article')} on the watchlist from {plural(d.outlets, 'outlet')}."
            + (f" Spike: {spiking}." if spikes else " No spike."),
            "",
        ]
    for topic in d.topics:
        lines += _md_topic(topic, d.day)
    return "\n".join(lines)


def _md_topic(t: TopicDigest, day: date) -> list[str]:
    chart = f"Last {len(t.chart)} days: `{sparkline(t.chart)}` ({chart_range(t.chart)})."
    lines = [f"## {md(t.name)}", ""]
    if not t.articles:
        return [*lines, "Nothing on this day.", "", chart, ""]
    flag = "**Spike:**" if t.spike.spiking else "Volume:"
    lines += [f"{volume_text(t)}. {flag} {spike_text(t.spike)}.", ""]
    top = t.top_story
    if top is not None:
        only = " (only mentions it)" if top.relevance == "mention" else ""
        lines += [
            f"Top story{only}: **{md(top.title)}**, carried by {plural(top.outlets, 'outlet')} "
            f"(first: {md(top.first_outlet)}, {when(top.first_published, day)}; "
            f"languages: {', '.join(top.languages) or 'unknown'}).",
            "",
        ]
    lines += [chart, "", *_md_events(t, day), f"### Stories ({stories_text(t)})", ""]
    for n, s in enumerate(t.stories, 1):
        lines.append(f"{n}. {md_link(s.title, s.url)}: {md(story_facts(s, day))}.")
        if len(s.carried_by) > 1:
            lines.append(f"   Carried by: {md(', '.join(s.carried_by))}.")
        if s.quote:
            source = ", ".join(x for x in (s.quote.outlet, s.quote.language) if x)
            lines.append(f"   > {md(s.quote.text)} ({md(source)})")
    outlets = " · ".join(f"{md(o.outlet)} {o.articles}" for o in t.top_outlets)
    return [*lines, "", f"Most coverage: {outlets}.", ""]


def _md_events(t: TopicDigest, day: date) -> list[str]:
    if not t.events:
        return []
    lines = [f"### Events ({events_text(t)})", ""]
    for n, e in enumerate(t.events, 1):
        lines.append(f"{n}. {md_link(e.title, e.url)}: {md(event_facts(e, day))}.")
        for o in e.coverage:
            lines.append(f"   - {md(outlet_label(o))}: {md_link(o.headline, o.url)}")
        if e.other_topics:
            lines.append(f"   Ties to other topics: {md(links_text(e))}.")
    if t.by_tag:
        lines += ["", f"By source tag: {md(tags_text(t))}."]
    return [*lines, ""]


# --- HTML -----------------------------------------------------------------------------------

_TAGS = {"section", "h3", "p", "ol", "ul", "li", "a", "strong", "em", "blockquote", "span"}
_TAGS |= {"small", "cite", "div"}
_ATTRIBUTES = {"*": {"class", "dir", "lang"}, "a": {"href"}}


def sanitise(html: str) -> Markup:
    """The article-derived parts of the page, through nh3 with the template's own tags."""
    cleaned = nh3.clean(
        str(html),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # nh3 output, from autoescaped input


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("digest", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sanitise"] = sanitise
    env.filters["safe_url"] = safe_url
    env.globals.update(
        plural=plural,
        when=when,
        spike_text=spike_text,
        volume_text=volume_text,
        stories_text=stories_text,
        events_text=events_text,
        event_facts=event_facts,
        outlet_label=outlet_label,
        links_text=links_text,
        tags_text=tags_text,
        story_facts=story_facts,
        chart_range=chart_range,
        chart_svg=chart_svg,
    )
    return env


@cache
def _stylesheet() -> tuple[str, str]:
    """The page's CSS and its CSP hash (the only style the page may apply)."""
    css = resources.files("digest").joinpath("templates", "digest.css").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return css, f"'sha256-{digest}'"


def content_security_policy() -> str:
    return (
        f"default-src 'none'; script-src 'none'; style-src {_stylesheet()[1]}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def render_html(d: Digest) -> str:
    css, _ = _stylesheet()
    page = _environment().get_template("digest.html.j2")
    # Both are ours, written as they are: the stylesheet's hash must match its bytes.
    return page.render(digest=d, css=Markup(css), csp=Markup(content_security_policy()))


def chart_svg(t: TopicDigest) -> Markup:
    """A bar per day, the digest's day last (and darker, red when it is a spike)."""
    width, height, gap, top, bottom = 20, 60, 4, 14, 16
    most = max(1, max(c.articles for c in t.chart))
    bars = []
    for i, c in enumerate(t.chart):
        h = round(c.articles / most * height) if c.articles else 1
        last = i == len(t.chart) - 1
        colour = ("#c0392b" if t.spike.spiking else "#1f4e79") if last else "#8fb3d9"
        label = f"{c.day.isoformat()}: {plural(c.articles, 'article')}"
        bars.append(
            f'<rect x="{i * width + gap // 2}" y="{top + height - h}" width="{width - gap}" '
            f'height="{h}" fill="{colour}"><title>{label}</title></rect>'
        )
    total_width = width * len(t.chart)
    name = escape(t.name)
    summary = f"{name}: articles a day, {chart_range(t.chart)}"
    svg = (
        f'<svg class="chart" role="img" viewBox="0 0 {total_width} {top + height + bottom}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{summary}">'
        f'<text x="0" y="10" font-size="10" fill="#555">{most} a day</text>'
        + "".join(bars)
        + f'<text x="0" y="{top + height + 12}" font-size="10" fill="#555">'
        f"{t.chart[0].day:%b %d}</text>"
        f'<text x="{total_width}" y="{top + height + 12}" font-size="10" fill="#555" '
        f'text-anchor="end">{t.chart[-1].day:%b %d}</text></svg>'
    )
    return Markup(svg)  # numbers, dates and an escaped name only
