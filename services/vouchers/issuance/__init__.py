"""Issuance: this service's copy of the elders and who is owed what (`eligibility`), the
monthly runs (`runs`; set-based on PostgreSQL in `bulk`) and their pure rules (`rules`)."""
