"""HTTP adapter: FastAPI routes under /api/v1, RFC 9457 problem bodies, the web UI."""
