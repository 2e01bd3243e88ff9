"""Waiting on a condition, for tests that watch another thread or process act."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float, step: float = 0.01) -> bool:
    """Whether `condition()` became true within `timeout` s (looked at every `step` s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True
