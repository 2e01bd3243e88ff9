"""HTTP fetching: the one place that builds httpx transports and talks to the network
(`fetching.fetch`), the address guard every connection goes through (`fetching.guard`), and
reading bodies within caps (`fetching.bodies`). Configured by a `FetchOptions` record, never
by the environment.
"""
