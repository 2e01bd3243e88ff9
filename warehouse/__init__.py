"""The DuckDB warehouse: connecting (`db`), the schema (`migrate`), transactions on either
backend (`transactions`), Arrow batches (`arrow`), recording polls (`polls`), loading articles
(`load`), named queries (`queries`), full-text search (`search`), the raw archive (`archive`).

All of newswatch's SQL lives in this package. It imports extractors/ (records, errors), never
flows/ or newswatch/.
"""
