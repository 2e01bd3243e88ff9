"""Pure functions from bytes or text to typed records: feeds, pages, URLs, fingerprints, topics.

Nothing in here touches the network, files (but for `topics.load_watchlist`), DuckDB or Prefect.
"""
