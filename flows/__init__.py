"""Prefect flows and tasks (`ingest`, `digest`), the HTTP fetcher and the digest renderer.

Flows orchestrate: they call `extractors` for parsing and `warehouse` for SQL.
"""
