"""`python -m newswatch` runs the CLI."""

from __future__ import annotations

from newswatch.cli import main

main()
