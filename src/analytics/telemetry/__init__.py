"""Operating the service: Prometheus metrics (`metrics`, `exposition`) and OpenTelemetry
traces (`tracing`). Logs live in `analytics.logs`."""
