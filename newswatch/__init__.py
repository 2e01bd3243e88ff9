"""newswatch: media-monitoring ingestion pipeline (CLI, settings and config loading live here)."""

from __future__ import annotations

__version__ = "0.1.0"
