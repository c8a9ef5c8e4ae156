"""Dispatch (派单): the dispatcher's side (`dispatcher`: offers, deadlines, retries) and the
providers' side (`offers`: see, accept, decline). The pure rules are `rules/dispatch.py`."""
