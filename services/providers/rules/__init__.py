"""Pure rules of the providers service, one module per flow: no I/O, no SQLAlchemy, FastAPI or HTTP client."""
