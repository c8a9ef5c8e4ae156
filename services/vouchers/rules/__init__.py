"""The vouchers service's pure rules: no I/O, no SQLAlchemy, FastAPI or HTTP client."""
