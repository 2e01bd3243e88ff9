"""Prefect flows and tasks (`ingest`, `digest`, `retag`, `reprocess`, `search-index`) and
`serve`, which runs their deployments.

Flows orchestrate: the work is in `fetching`, `pipeline` and `digest`, which call
`extractors` for parsing and `warehouse` for SQL.
"""
