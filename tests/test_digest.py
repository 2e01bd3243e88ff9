"""The digest: JSON (the contract, checked against its schema), Markdown and HTML (the same
content), hostile article text rendered as text (also in a real headless Chromium), and the
demo's digests for every day (issue 7, acceptance 1 and 2)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import lxml.html
import pytest

from digest.build import build_digest, read_day, spike, write_digest
from digest.model import SCHEMA_PATH, Digest, from_json, json_schema, to_json
from digest.render import md, render_html, render_markdown
from extractors.records import EntryKey
from extractors.topics import load_watchlist
from pipeline.extract import Post, process_post
from warehouse import load, queries
from warehouse.db import connect

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "seeds" / "watchlist.yaml"
DAY = date(2026, 1, 5)
PWNED = "PWNED"
# Each would set the page title (or leave an element behind) if it ever became markup.
HOSTILE_TITLES = [
    f"<script>document.title='{PWNED}'</script> Maduro flown out of Caracas",
    f"<img src=x onerror=\"document.title='{PWNED}'\"> Venezuela halts oil exports",
    f'"><svg onload="document.title=\'{PWNED}\'"> Kyiv wakes to drones over Ukraine',
    "</style><style>body{display:none}</style> Taiwan strait patrols resume",
    "**bold** [click](javascript:alert(1)) # Iran | talks `resume` <b>now</b>",
]
HOSTILE_BODY = (
    f"Reporters in Caracas said <script>document.title='{PWNED}'</script> Venezuela was calm. "
    f"<iframe srcdoc=\"<script>parent.document.title='{PWNED}'</script>\"></iframe> "
    "Officials in Kyiv spoke of Ukraine and Taiwan and Iran <img src=x onerror=alert(1)>. "
)
HOSTILE_OUTLET = "Evil <b onmouseover=\"document.title='PWNED'\">Outlet</b>"
URLS = [f"https://127.0.0.1/p/{i}" for i in range(len(HOSTILE_TITLES) - 1)]
HOSTILE_URL = 'https://127.0.0.1/a?x=<script>alert(1)</script>&y=")onmouseover=alert(1)'


def _post(n: int, outlet: str, title: str, body: str, published: datetime, url: str) -> Any:
    wl = load_watchlist(WATCHLIST)
    now = datetime(2026, 1, 6, tzinfo=UTC)
    post = Post(EntryKey(outlet, f"g{n}"), outlet, url, title, body, published, language="en")
    return process_post(post, now, wl)


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real warehouse whose articles have hostile titles, bodies, outlet and URL; one
    story is carried by two outlets since the day before (a continuing story)."""
    path = tmp_path_factory.mktemp("hostile") / "w.duckdb"
    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    pages = [
        _post(i, HOSTILE_OUTLET, t, f"{t}. {HOSTILE_BODY} {i}", at + timedelta(hours=i), url)
        for i, (t, url) in enumerate(zip(HOSTILE_TITLES, [HOSTILE_URL, *URLS], strict=True))
    ]
    wire = "Caracas: the Venezuelan opposition met on Sunday. " * 5
    pages.append(
        _post(
            10,
            "Demo Wire",
            "Venezuela opposition meets",
            wire,
            at - timedelta(1),
            "https://127.0.0.1/w",
        )
    )
    pages.append(
        _post(11, "Other Wire", "Venezuela opposition meets", wire, at, "https://127.0.0.1/o")
    )
    wl = load_watchlist(WATCHLIST)
    with connect(path) as con:
        load.store_pages(con, pages[:-1], wl.version, datetime(2026, 1, 6, tzinfo=UTC))
        load.store_pages(con, pages[-1:], wl.version, datetime(2026, 1, 6, tzinfo=UTC))
    return path


def _digest(path: Path, day: date = DAY) -> Digest:
    with connect(path, read_only=True) as con:
        return build_digest(day, load_watchlist(WATCHLIST), read_day(con, day))


# --- the contract -------------------------------------------------------------------------


def test_schema_file_matches_the_records() -> None:
    """digest/digest.schema.json is what the records generate (python -m digest.model)."""
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == json_schema()


def test_json_validates_and_round_trips(hostile_db: Path) -> None:
    digest = _digest(hostile_db)
    text = to_json(digest)
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text("utf-8"))).validate(
        json.loads(text)
    )
    assert from_json(text) == digest
    assert to_json(_digest(hostile_db)) == text  # deterministic


def test_content_ranks_stories_and_flags(hostile_db: Path) -> None:
    digest = _digest(hostile_db)
    venezuela = next(t for t in digest.topics if t.topic == "venezuela")
    top = venezuela.top_story
    assert top is not None
    assert top.title == "Venezuela opposition meets" and top.outlets == 2
    assert top.first_outlet == "Demo Wire" and top.status == "continuing"
    assert top.carried_by == ("Demo Wire", "Other Wire")
    # the wire's story continues; the five hostile posts are five new stories
    assert (venezuela.continuing_stories, venezuela.new_stories) == (1, 5)
    assert [c.day for c in venezuela.chart][-1] == DAY and len(venezuela.chart) == 14
    assert venezuela.chart[-2].articles == 1  # the wire's first copy, the day before
    # Six articles, but from two outlets: under the three outlets a spike needs.
    assert venezuela.spike.outlets == 2 and not venezuela.spike.spiking
    assert venezuela.spike.articles == venezuela.articles == 6
    assert not digest.empty and "venezuela" not in digest.spikes


def test_spike_needs_outlets_and_ratio() -> None:
    def week(before: list[int], today: int, articles: int = 30) -> Any:
        return spike([*before, today], articles, stories=today)

    assert not week([0] * 7, 2).spiking  # too few outlets to call it a spike
    assert week([0] * 7, 3).spiking and week([0] * 7, 3).outlets == 3
    assert not week([0] * 7, 3, articles=2).spiking  # nor with too few articles
    assert not week([4] * 7, 7).spiking  # under twice the usual
    assert week([4] * 7, 8).ratio == 2.0 and week([4] * 7, 8).spiking


def test_empty_day_says_so(hostile_db: Path, tmp_path: Path) -> None:
    digest = _digest(hostile_db, date(2026, 2, 1))
    paths = write_digest(digest, tmp_path)
    assert digest.empty and digest.articles == 0
    for fmt in ("md", "html"):
        assert "No watchlist article was published on this day" in paths[fmt].read_text("utf-8")
    assert json.loads(paths["json"].read_text("utf-8"))["empty"] is True


def test_markdown_keeps_hostile_text_as_text(hostile_db: Path) -> None:
    text = render_markdown(_digest(hostile_db))
    unquoted = re.sub(r"^\s*> ", "", text, flags=re.M)  # the digest's own quote marks
    assert not re.search(r"(?<!\\)[<>]", unquoted)  # every other angle bracket is escaped
    assert not re.search(r"(?<!\\)\]\(javascript:", text) and "\n# Iran" not in text
    for title in HOSTILE_TITLES:
        assert md(title) in text
    # The hostile URL is linked, but cannot close the link or carry markup.
    link = re.search(r"\]\((https://127\.0\.0\.1/a[^)\s]*)\)", text)
    assert link is not None and "<" not in link.group(1) and '"' not in link.group(1)


def test_html_escapes_sanitises_and_forbids_scripts(hostile_db: Path) -> None:
    html = render_html(_digest(hostile_db))
    tree = lxml.html.fromstring(html)
    csp = tree.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert csp and "script-src 'none'" in csp[0] and "default-src 'none'" in csp[0]
    assert "<script" not in html and "<iframe" not in html and "<img" not in html
    assert tree.xpath('//meta[@name="viewport"]')
    assert not [a for el in tree.iter() for a in el.attrib if a.lower().startswith("on")]
    assert all(h.startswith("http") for h in tree.xpath("//a/@href") if not h.startswith("#"))


# --- acceptance 2: a real browser ---------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(profile: Path, page: Path, *args: str) -> str:
    """Headless Chromium on a file:// URL, kept off every network: no background services,
    every host name resolves to nothing, and a proxy that does not exist."""
    done = subprocess.run(
        [
            CHROMIUM or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=2000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _visible_text(dom: str) -> str:
    """The text a reader sees: the page's body without style, chart and script elements."""
    body = lxml.html.fromstring(dom).find("body")
    assert body is not None
    for el in body.xpath("//style | //script | //*[local-name()='svg']"):
        el.drop_tree()
    return " ".join(body.text_content().split())


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs Debian's)")
def test_hostile_digest_in_headless_chromium(hostile_db: Path, tmp_path: Path) -> None:
    paths = write_digest(_digest(hostile_db), tmp_path / "digests")
    page = paths["html"]
    profile = tmp_path / "chromium-profile"

    # The control: a page whose script does run sets the title, and the dump shows it.
    control = tmp_path / "control.html"
    control.write_text(
        f"<html><head><title>control</title></head><body>"
        f"<script>document.title='{PWNED}'</script></body></html>",
        encoding="utf-8",
    )
    assert f"<title>{PWNED}</title>" in _chromium(profile, control, "--dump-dom")

    dom = _chromium(profile, page, "--dump-dom")
    tree = lxml.html.fromstring(dom)
    assert tree.findtext(".//title") == f"newswatch digest: {DAY.isoformat()}"
    assert PWNED not in (tree.findtext(".//title") or "")
    assert not tree.xpath("//script | //iframe | //img | //body//style")
    assert not [a for el in tree.iter() for a in el.attrib if a.lower().startswith("on")]
    text = _visible_text(dom)
    for title in HOSTILE_TITLES:
        assert " ".join(title.split()) in text, title
    assert "Evil <b onmouseover=" in text  # the outlet's name, as text

    # Without the Content-Security-Policy, escaping and sanitising alone still hold.
    bare = tmp_path / "no-csp.html"
    bare.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text("utf-8")),
        encoding="utf-8",
    )
    bare_dom = _chromium(profile, bare, "--dump-dom")
    assert f"<title>newswatch digest: {DAY.isoformat()}</title>" in bare_dom

    shot = tmp_path / "digest.png"
    _chromium(profile, page, f"--screenshot={shot}", "--window-size=412,2400", "--hide-scrollbars")
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"


# --- acceptance 1: the demo's digests -----------------------------------------------------


def test_demo_writes_every_day_in_three_formats(demo_run: Any) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    with connect(demo_run.db, read_only=True) as con:
        days = queries.article_days(con)
    folder = demo_run.db.parent / "digests"
    assert len(days) >= 7 and len(demo_run.digests) == len(days)
    named = 0
    for day in days:
        md_text = (folder / f"{day}.md").read_text(encoding="utf-8")
        html = (folder / f"{day}.html").read_text(encoding="utf-8")
        data = json.loads((folder / f"{day}.json").read_text(encoding="utf-8"))
        validator.validate(data)
        digest = from_json(json.dumps(data))
        assert render_markdown(digest) == md_text and render_html(digest) == html
        for topic in digest.topics:
            top = topic.top_story
            if top is None:
                assert topic.articles == 0
                continue
            count = f"{top.outlets} outlet{'s' if top.outlets != 1 else ''}"
            line = next(x for x in md_text.splitlines() if x.startswith("Top story"))
            section = md_text.split(f"## {topic.name}\n", 1)[1].split("\n## ", 1)[0]
            assert f"**{md(top.title)}**, carried by {count}" in section, (day, topic.topic)
            assert line
            named += 1
    assert named >= 20  # every topic of the demo week has its top story named


def test_the_digest_flow_publishes_each_day_as_a_prefect_artifact(
    prefect_harness: None, demo_run: Any, tmp_path: Path
) -> None:
    """The scheduled `digest` flow (the demo runs the plain digest, without Prefect)."""
    from prefect.artifacts import Artifact

    from flows.digest import digest
    from newswatch.settings import Settings

    settings = Settings(db=demo_run.db, watchlist=REPO / "seeds" / "watchlist.yaml")
    written = digest(day="2026-01-05", out=str(tmp_path), settings=settings)
    assert [Path(p).name for p in written] == ["2026-01-05.md"]
    artifact = Artifact.get("digest-2026-01-05")
    assert artifact is not None and artifact.type == "markdown"
    assert "# newswatch digest: 2026-01-05" in str(artifact.data)


# --- issue 18: activity first, quiet topics folded, spikes in outlets, quotes from the body --

UKRAINE_BODY = (
    "Drones flew over Kyiv overnight, officials in Ukraine said. Power was cut in the east."
)
SOLO = "Solo Outlet"
WIRES = ["Wire A", "Wire B", "Wire C", "Wire D"]
ECHO_TITLE = "Venezuela halts oil exports"


@pytest.fixture(scope="module")
def spread_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day: one outlet's 25 copies of a Ukraine story; four outlets on Venezuela (two
    stories, one whose body only repeats its headline); nothing on
    Taiwan or Iran."""
    path = tmp_path_factory.mktemp("spread") / "w.duckdb"
    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    pages = [
        _post(
            100 + i, SOLO, "Kyiv under drone attack", UKRAINE_BODY, at, f"https://127.0.0.1/s/{i}"
        )
        for i in range(25)
    ]
    caracas = "Caracas: the Venezuelan opposition met on Sunday to plan the talks. " * 3
    for i, outlet in enumerate(WIRES[:3]):
        url = f"https://127.0.0.1/w/{i}"
        pages.append(_post(200 + i, outlet, "Opposition meets in Caracas", caracas, at, url))
    echo = f"  {ECHO_TITLE.upper()} "  # a feed whose body only repeats the headline
    pages.append(_post(300, WIRES[3], ECHO_TITLE, echo, at, "https://127.0.0.1/e"))
    wl = load_watchlist(WATCHLIST)
    with connect(path) as con:
        load.store_pages(con, pages, wl.version, datetime(2026, 1, 6, tzinfo=UTC))
    return path


def test_topics_by_activity_and_quiet_ones_folded(spread_db: Path) -> None:
    digest = _digest(spread_db)
    order = [(t.topic, t.articles, t.outlets) for t in digest.topics]
    assert order == [("ukraine", 25, 1), ("venezuela", 4, 4), ("iran", 0, 0), ("taiwan", 0, 0)]
    data = json.loads(to_json(digest))
    assert [t["topic"] for t in data["topics"]] == ["ukraine", "venezuela", "iran", "taiwan"]
    text = render_markdown(digest)
    assert "Quiet today: Iran, Taiwan." in text.splitlines()
    assert "## Iran" not in text and "## Taiwan" not in text and "Nothing on this day" not in text
    assert text.index("## Ukraine") < text.index("## Venezuela") < text.index("Quiet today")
    page = lxml.html.fromstring(render_html(digest))
    assert [s.get("id") for s in page.iter("section")] == ["topic-ukraine", "topic-venezuela"]
    assert page.find_class("quiet")[0].text_content() == "Quiet today: Iran, Taiwan."


def test_one_outlets_copies_are_no_spike_several_outlets_are(spread_db: Path) -> None:
    digest = _digest(spread_db)
    topics = {t.topic: t for t in digest.topics}
    ukraine, venezuela = topics["ukraine"].spike, topics["venezuela"].spike
    assert (ukraine.articles, ukraine.outlets, ukraine.stories) == (25, 1, 1)
    assert not ukraine.spiking
    assert (venezuela.articles, venezuela.outlets, venezuela.stories) == (4, 4, 2)
    assert venezuela.spiking and venezuela.trailing_mean == 0 and venezuela.ratio is None
    assert digest.spikes == ("venezuela",)
    assert "Spike: Venezuela (4 outlets (2 stories) against 0 a day" in render_markdown(digest)


def test_quote_never_repeats_the_headline(spread_db: Path, hostile_db: Path) -> None:
    def flat(text: str) -> str:
        return " ".join(text.split()).casefold()

    quoted = 0
    for path in (spread_db, hostile_db):
        for topic in _digest(path).topics:
            for story in topic.stories:
                if story.quote is not None:
                    assert story.quote.field == "text"
                    assert flat(story.quote.text) not in flat(story.title), story.title
                    quoted += 1
    # Every story of the two fixtures with a body line beyond its headline keeps a quote: 23
    # (15 if the quote were taken only from a story's first line of evidence).
    assert quoted == 23
    venezuela = next(t for t in _digest(spread_db).topics if t.topic == "venezuela")
    echo = next(s for s in venezuela.stories if s.title == ECHO_TITLE)
    assert echo.quote is None  # its only body evidence is the headline again
    assert f"> {ECHO_TITLE}" not in render_markdown(_digest(spread_db))
