"""The steps of newswatch's pipeline as plain functions, callable with or without Prefect:
polling (`poll`, `schedule`), fetching and extracting pages (`pages`, `extract`,
`warm_worker`), folding copies into stories (`stories`), feed discovery (`discover`), and the
steps of the ingest, retag, reprocess and search-index runs. `flows/` wraps them in Prefect
flows and tasks; each takes explicit arguments and option records, never the environment.
"""
