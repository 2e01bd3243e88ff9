"""The DuckDB warehouse: schema migrations, connecting, idempotent loading, named queries.

All of newswatch's SQL lives in this package.
"""
