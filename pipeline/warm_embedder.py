"""Imported by the server extraction workers fork from when event linking is on
(`pipeline.worker_server.start_worker_server(embedder=True)`), never by anything else: it
loads the embedder's model and runs it once, so each worker forked afterwards shares the
model's memory (~20 MB) instead of loading a copy of its own on its first page about a topic.
The model runs on one thread, which no OpenMP pool holds: forking after it is safe.
"""

from __future__ import annotations

from pipeline.extract import worker_embedder

worker_embedder().embed(["warm-up"])
