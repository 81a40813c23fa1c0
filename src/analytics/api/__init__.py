"""HTTP interface: thin FastAPI routers over the domain use cases."""
