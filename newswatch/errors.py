"""The error tree, re-exported from `extractors.errors` (its home at the bottom of the layers).

Code above the pure layers (flows, the CLI) may keep importing from here; extractors and
warehouse import `extractors.errors` directly, so they never depend on this package. The
names are those of `extractors.errors.__all__`, so the two can never drift apart.
"""

from __future__ import annotations

from extractors import errors as _errors
from extractors.errors import *  # noqa: F403 (the whole tree, by its own __all__)

__all__ = _errors.__all__
