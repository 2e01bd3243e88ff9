"""When to poll a source next: adaptive intervals, graded failures, backoff, disabling.

Pure policy, no I/O: the poller hands in what happened and what the source looked like, and
gets back the next poll time with the reason for it (stored in `feed_state.schedule_note`).

- A healthy source is polled at the rate it publishes: a week divided by the entries it
  published in the last week, within its bounds (default 5 minutes to 24 hours). A feed's own
  hints (`<ttl>`, `sy:updatePeriod`, Cache-Control max-age) lengthen the interval, never past
  the upper bound.
- A failure adds its weight to the source's failure score: a DNS error, a 404 or a page that is
  not a feed says more about the source than one timeout or a 503. The next try backs off
  exponentially with jitter, capped at 24 hours; Retry-After on a 429 or 503 is honoured.
- A failure of our own configuration (`CONFIG_ERRORS`: the allow-list refused the host, the
  URL is not one, the source's `ca_bundle` cannot be read) is recorded with its reason but not
  counted against the publisher: its failure score and backoff stay as they were, and it is
  tried again at its shortest interval, so a fixed configuration takes effect soon.
- A source whose score passes `slow_retry_score` is flagged and tried once a day; it is not
  dropped. Only a 410 Gone, or a score past the failure budget, disables it, with the reason.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from extractors.records import Source

WEEK_S = 7 * 24 * 3600
DAY_S = 24 * 3600

# How much one failure of each kind says about the source (a timeout may be our network).
FAILURE_WEIGHTS = {
    "dns": 3.0,
    "refused_address": 3.0,
    "tls": 3.0,
    "telegram_not_public": 3.0,
    "not_a_feed": 2.0,
    "parser_error": 2.0,
    "too_large": 2.0,
    "too_many_redirects": 2.0,
    "bad_url": 3.0,
    "timeout": 1.0,
    "connection": 1.0,
}
# Failures caused by our configuration, not by the publisher.
CONFIG_ERRORS = frozenset({"refused_address", "bad_url", "ca_bundle"})
HTTP_WEIGHTS = {401: 3.0, 403: 3.0, 404: 3.0, 410: 3.0, 429: 0.5}


@dataclass(frozen=True, slots=True)
class Policy:
    """The knobs (NEWSWATCH_MIN_INTERVAL, ...); per-source bounds override them (`policy_for`)."""

    min_interval_s: int = 300
    max_interval_s: int = DAY_S
    slow_retry_score: float = 10.0
    failure_budget: float = 100.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one poll of one source found."""

    failed: bool
    error_kind: str | None = None
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    hint_s: float | None = None  # the feed's ttl or the response's max-age
    published_last_week: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    next_poll_at: datetime
    interval_s: int
    failure_score: float
    consecutive_failures: int
    slow_retry: bool
    disabled_reason: str | None
    note: str


def policy_for(source: Source, default: Policy) -> Policy:
    """The polling policy of `source`: its own interval bounds (feeds.yaml) where it has them."""
    low = source.min_interval_s or default.min_interval_s
    high = source.max_interval_s or default.max_interval_s
    return replace(default, min_interval_s=low, max_interval_s=max(low, high))


def failure_weight(kind: str | None, status: int | None) -> float:
    if kind == "http_status" and status is not None:
        return HTTP_WEIGHTS.get(status, 1.0 if status >= 500 else 2.0)
    return FAILURE_WEIGHTS.get(kind or "", 1.0)


def plan_next(
    outcome: Outcome,
    *,
    now: datetime,
    policy: Policy,
    failure_score: float = 0.0,
    consecutive_failures: int = 0,
    rng: random.Random | None = None,
) -> Plan:
    if outcome.failed and outcome.error_kind in CONFIG_ERRORS:
        return _after_config_failure(outcome, now, policy, failure_score, consecutive_failures)
    if outcome.failed:
        return _after_failure(outcome, now, policy, failure_score, consecutive_failures, rng)
    return _after_success(outcome, now, policy)


def _after_success(outcome: Outcome, now: datetime, policy: Policy) -> Plan:
    rate = (
        WEEK_S / outcome.published_last_week
        if outcome.published_last_week
        else policy.max_interval_s
    )
    interval = _clamp(rate, policy)
    note = f"{outcome.published_last_week} entries in the last week"
    if outcome.hint_s and outcome.hint_s > interval:
        interval = _clamp(outcome.hint_s, policy)
        note += f"; the feed asks for {int(outcome.hint_s)} s between polls"
    return Plan(now + timedelta(seconds=interval), interval, 0.0, 0, False, None, note)


def _after_config_failure(
    outcome: Outcome,
    now: datetime,
    policy: Policy,
    failure_score: float,
    consecutive_failures: int,
) -> Plan:
    interval = policy.min_interval_s
    note = (
        f"our configuration failed ({outcome.error_kind}): not counted against the source; "
        f"retried in {interval} s"
    )
    slow = failure_score >= policy.slow_retry_score
    when = now + timedelta(seconds=interval)
    return Plan(when, interval, failure_score, consecutive_failures, slow, None, note)


def _after_failure(
    outcome: Outcome,
    now: datetime,
    policy: Policy,
    failure_score: float,
    consecutive_failures: int,
    rng: random.Random | None,
) -> Plan:
    failures = consecutive_failures + 1
    score = failure_score + failure_weight(outcome.error_kind, outcome.status)
    disabled = _disabled_reason(outcome, score, failures, policy)
    slow = score >= policy.slow_retry_score
    if slow:
        delay, note = float(DAY_S), f"keeps failing (score {score:g}): retried once a day"
    else:
        jitter = (rng or random).uniform(0.75, 1.25)
        delay = min(policy.min_interval_s * 2 ** (failures - 1) * jitter, DAY_S)
        note = f"failure {failures} in a row: backing off {int(delay)} s"
    if outcome.retry_after_s and outcome.status in (429, 503) and outcome.retry_after_s > delay:
        delay = min(outcome.retry_after_s, DAY_S)
        note = f"the server asked to retry after {int(outcome.retry_after_s)} s"
    interval = int(delay)
    return Plan(now + timedelta(seconds=interval), interval, score, failures, slow, disabled, note)


def _disabled_reason(outcome: Outcome, score: float, failures: int, policy: Policy) -> str | None:
    if outcome.status == 410:
        return "HTTP 410 Gone: the publisher has removed this feed"
    if score >= policy.failure_budget:
        return (
            f"failed {failures} times in a row (failure score {score:g} reached the budget of "
            f"{policy.failure_budget:g}); last error: {outcome.error_kind}: {outcome.error}"
        )
    return None


def _clamp(seconds: float, policy: Policy) -> int:
    return int(min(max(seconds, policy.min_interval_s), policy.max_interval_s))
