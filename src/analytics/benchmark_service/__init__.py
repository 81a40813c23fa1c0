"""The benchmark service (CONTRACT.md §3): per-campaign anomaly thresholds over HTTP.

A second, small FastAPI application, independent of the analytics service's domain,
adapters and API (an import-linter contract says so): it shares nothing but the repository.
"""
