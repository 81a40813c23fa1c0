"""Adapters: the domain's ports implemented with real technology (SQL, DuckDB, HTTP)."""
