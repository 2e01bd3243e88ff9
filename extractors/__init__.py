"""Pure functions from bytes or text to typed records: feeds, pages, URLs, fingerprints, topics.

The bottom layer: it imports nothing of warehouse/, flows/ or newswatch/, and holds the error
tree every layer raises (`errors`). Nothing in here touches the network, files (but for
reading the seed files: `seedfile`, `topics.load_watchlist`), DuckDB or Prefect.
"""
