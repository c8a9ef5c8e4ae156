"""`youfu simulate`: a synthetic city day driven through the gateway (see README "youfu simulate")."""
