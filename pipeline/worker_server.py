"""The server extraction workers fork from, started before anything else of a run.

Importing this module costs nothing (multiprocessing only), so a command can start the server
first thing, and the server's imports and its warm-up of the extractor (pipeline/warm_worker.py,
~1.4 s of CPU) run on the other core while the command imports Prefect, opens the warehouse
and polls the first feeds.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

# What the server that worker pools fork from imports first: the main module (so no worker
# imports it again), the feed parser (pipeline.poll forks its parsers from the same server) and
# the extractor, run once (pipeline/warm_worker.py), and the module the workers run, with what
# it imports (event linking's embedder: its model itself loads in a worker, on first use).
WORKER_PRELOAD = ("__main__", "extractors.feeds", "pipeline.warm_worker", "pipeline.extract")


def start_worker_server() -> None:
    """Start the process that worker pools fork from, with `WORKER_PRELOAD` imported, so an
    extraction worker starts ready instead of importing and warming up the extractor itself
    (~1.4 s of CPU each). It returns at once and the server warms up on another core while
    the run starts; the first pool to need it waits for it. There is one such server per
    process and the first start decides what it imports: call this before any pool. Calling
    it again does nothing."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))
    multiprocessing.forkserver.ensure_running()
