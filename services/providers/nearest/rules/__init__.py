"""Pure parts of the nearest-qualified search: no I/O, no SQLAlchemy, FastAPI or HTTP client."""
