"""The daily digest without Prefect: its record (`digest.model`, the JSON contract and
`digest.schema.json`), building it from the warehouse's rows (`digest.build`), and rendering
it as Markdown and sanitised HTML (`digest.render`, `templates/`). `flows/digest.py` runs it.
"""
