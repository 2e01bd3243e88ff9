"""The stream evaluation of event linking (bench/events.py, part 1b).

SemEval-2022 Task 8 pairs were sampled as similar candidates, so their negatives are all hard;
a news stream is mostly easy negatives, and linking only compares an article with events that
share a named entity or topic (the gate). Here each split's articles form a stream: the truth
is the connected components of the pairs scored one event (labels.yaml), every pair SemEval
never scored is taken as two events (a lower bound on precision: a true pair counted as a false
link), and the pairs scored in between are left out.

Two measures on the held-out stream: pairwise decisions (each pair of articles, linked when
the gate passes and the score reaches the threshold) and the events `assign` builds from the
stream (articles in id order, one timestamp: SemEval has no dates), pairwise over all pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from events import Features, LinkModel, assign, pair_features
from events.calibrate import PR
from events.score import gate, hours_apart, probability, vector_floor, vector_part


@dataclass(frozen=True, slots=True)
class StreamPairs:
    """The candidate pairs of a stream: index pairs (i < j) above `floor` cosine that pass
    the gate and lie within the model's window, their evidence and truth, and the counts of
    every true pair (for recall) and of those the gate and the window keep from linking."""

    i: np.ndarray
    j: np.ndarray
    x: np.ndarray
    truth: np.ndarray
    cross: np.ndarray
    positives: int
    cross_positives: int
    gate_lost: int
    window_lost: int


def stream_pairs(stream, feats: Sequence[Features], model: LinkModel) -> StreamPairs:  # type: ignore[no-untyped-def]
    """The stream's pairs that `model` could link (their vectors' part of its log-odds at or
    over `vector_floor`, read off plain dot products), share an id and lie within its
    `window_hours` (session 29: linking never compares two articles further apart, and the
    articles are dated by the devset's story clock), with every same-event pair counted."""
    ids = [f.article.id for f in feats]
    cluster = np.array([stream.cluster[i] for i in ids])
    lang = np.array([f.article.language for f in feats])
    v = np.vstack([f.vector for f in feats])
    middles = [f.middle for f in feats]
    stacked = None if any(m is None for m in middles) else np.vstack(middles)
    mid = 0.0 if stacked is None else stacked @ stacked.T
    known = vector_part(model, v @ v.T, mid)
    floor = vector_floor(model)
    iu, ju = np.triu_indices(len(feats), k=1)
    same = cluster[iu] == cluster[ju]
    amb = {frozenset(p) for p in stream.ambiguous}
    positives = int(same.sum())
    cross_all = lang[iu] != lang[ju]
    cross_positives = int((same & cross_all).sum())
    sel = np.flatnonzero((known[iu, ju] >= floor) | same)
    rows_i, rows_j, xs, truth, cross = [], [], [], [], []
    gate_lost = window_lost = 0
    for k in sel:
        a, b = int(iu[k]), int(ju[k])
        if frozenset((ids[a], ids[b])) in amb:
            continue
        if not gate(feats[a], feats[b]):
            gate_lost += int(same[k])
            continue
        if hours_apart(feats[a], feats[b]) > model.window_hours:
            window_lost += int(same[k])
            continue
        if known[a, b] < floor:
            continue
        rows_i.append(a)
        rows_j.append(b)
        xs.append(pair_features(feats[a], feats[b]))
        truth.append(bool(same[k]))
        cross.append(bool(cross_all[k]))
    return StreamPairs(
        np.array(rows_i),
        np.array(rows_j),
        np.vstack(xs),
        np.array(truth),
        np.array(cross),
        positives,
        cross_positives,
        gate_lost,
        window_lost,
    )


def _pr(tp: int, predicted: int, positives: int) -> PR:
    return PR(
        tp / predicted if predicted else 1.0,
        tp / positives if positives else 1.0,
        tp,
        predicted,
        positives,
    )


def pairwise(sp: StreamPairs, linked: np.ndarray) -> tuple[PR, PR]:
    """Precision and recall of pairwise decisions over every pair of the stream."""
    tp = int((linked & sp.truth).sum())
    xtp = int((linked & sp.truth & sp.cross).sum())
    return (
        _pr(tp, int(linked.sum()), sp.positives),
        _pr(xtp, int((linked & sp.cross).sum()), sp.cross_positives),
    )


def model_pairwise(sp: StreamPairs, model: LinkModel) -> tuple[PR, PR]:
    return pairwise(sp, np.asarray(probability(model, sp.x)) >= model.threshold)


def clustered(stream, feats: Sequence[Features], model: LinkModel) -> tuple[PR, PR]:  # type: ignore[no-untyped-def]
    """Pairwise precision and recall of the events `assign` makes of the stream."""
    done, _ = assign([], list(feats), model)
    event = {a.article_id: a.event_id for a in done}
    members: dict[str, list[Features]] = defaultdict(list)
    for f in feats:
        members[event[f.article.id]].append(f)
    amb = {frozenset(p) for p in stream.ambiguous}
    tp = pred = xtp = xpred = 0
    for group in members.values():
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                fa, fb = group[a], group[b]
                if frozenset((fa.article.id, fb.article.id)) in amb:
                    continue
                cross = fa.article.language != fb.article.language
                same = stream.cluster[fa.article.id] == stream.cluster[fb.article.id]
                pred += 1
                tp += same
                xpred += cross
                xtp += same and cross
    ids = [f.article.id for f in feats]
    lang = {f.article.id: f.article.language for f in feats}
    by_cluster: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        by_cluster[stream.cluster[i]].append(i)
    pos = xpos = 0
    for group in by_cluster.values():
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                pos += 1
                xpos += lang[group[a]] != lang[group[b]]
    return _pr(tp, pred, pos), _pr(xtp, xpred, xpos)


# --- the time window, on dated posts ------------------------------------------------------------

TELEGRAM = ("political", "moscow")  # the source's categories that carry news
SURE_COSINE = 0.93  # one language: one event in 92% of the SemEval training pairs this close


@dataclass(frozen=True, slots=True)
class WindowStudy:
    """Pairs of posts of two channels that almost surely report one event (cosine >= 0.93 and
    a shared name, place or number), and how many hours apart they were posted."""

    posts: int
    channels: int
    pairs: int
    hours: np.ndarray  # one per pair
    resolved_sure: float  # share of pairs of two channels at cosine >= 0.93 sharing a resolved id
    resolved_any: float  # the same share over every pair of two channels within 72 hours

    def within(self, hours: float) -> float:
        return float(np.mean(self.hours <= hours)) if len(self.hours) else 0.0


def _resolved(f: Features) -> frozenset[str]:
    return frozenset(e for e in f.entities if e.startswith(("person:", "city:")))


def window_study(feats: Sequence[Features], channel: Sequence[str]) -> WindowStudy:
    """The gaps between sure same-event posts of different channels in a dated stream, and
    how often such pairs share a resolved name against any two posts of the window."""
    vectors = np.vstack([f.vector for f in feats])
    sims = vectors @ vectors.T
    resolved = [_resolved(f) for f in feats]
    hours, sure_shared = [], []
    any_pairs = any_shared = 0
    for i in range(len(feats)):
        for j in range(i + 1, len(feats)):
            if channel[i] == channel[j]:
                continue
            a, b = feats[i], feats[j]
            gap = abs((a.article.published - b.article.published).total_seconds()) / 3600
            shared = not resolved[i].isdisjoint(resolved[j])
            if gap <= 72:
                any_pairs += 1
                any_shared += shared
            if sims[i, j] < SURE_COSINE:
                continue
            sure_shared.append(shared)  # before the filter below, which would bias it
            if a.entities.isdisjoint(b.entities) and a.numbers.isdisjoint(b.numbers):
                continue
            hours.append(gap)
    return WindowStudy(
        len(feats),
        len(set(channel)),
        len(hours),
        np.array(hours),
        float(np.mean(sure_shared)) if sure_shared else 0.0,
        any_shared / any_pairs if any_pairs else 0.0,
    )


@dataclass(frozen=True, slots=True)
class AnchorStudy:
    """A dated stream assigned day by day with and without event anchors: how many events,
    how many links, and how many of those needed an anchor."""

    events: int
    events_without: int
    links: int
    anchor_links: int


def anchor_study(feats: Sequence[Features], model: LinkModel) -> AnchorStudy:
    from dataclasses import replace

    def by_day(m: LinkModel) -> dict[str, str]:
        days: dict[object, list[Features]] = defaultdict(list)
        for f in feats:
            days[f.article.published.date()].append(f)
        events: dict[str, object] = {}
        reasons: dict[str, str] = {}
        for day in sorted(days, key=str):
            done, touched = assign(list(events.values()), days[day], m)  # type: ignore[arg-type]
            events.update({e.id: e for e in touched})
            reasons.update({a.article_id: f"{a.reason} {a.event_id}" for a in done})
        return reasons

    with_anchors = by_day(model)
    without = by_day(replace(model, anchor_bonus=0.0))
    kinds = [r.split()[0] for r in with_anchors.values()]
    return AnchorStudy(
        events=len({r.split()[1] for r in with_anchors.values()}),
        events_without=len({r.split()[1] for r in without.values()}),
        links=sum(k in ("link", "anchor") for k in kinds),
        anchor_links=kinds.count("anchor"),
    )
