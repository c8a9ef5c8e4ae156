"""Staff kept between runs (var/simulation-staff.json): the officers, assessors, city officer and
clerks a run created, with their passwords and latest refresh tokens, so that the next run against
the same platform signs them in with a refresh (no argon2 hash on the gateway) instead of creating
a new bureau. The file is readable by its owner only, like var/demo-accounts.json; it names the
platform by its admin account's id, so a fresh platform (new databases) starts afresh."""
from __future__ import annotations

import json
import os
from pathlib import Path

FIELDS = ("role", "district_code", "name", "phone", "password")


def load(path: Path | None, platform: str) -> list[dict]:
    """The staff kept for this platform (none when the file is missing, unreadable or another platform's)."""
    if path is None or not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("platform") != platform:
        return []
    return [entry for entry in data.get("staff", []) if isinstance(entry, dict) and all(k in entry for k in FIELDS)]


def save(path: Path | None, platform: str, kept: list[dict]) -> None:
    """Writes the staff with each one's current refresh token (a session's, when signed in this run)."""
    if path is None or not kept:
        return
    staff = []
    for entry in kept:
        session = entry.get("session")
        row = {k: entry.get(k) for k in FIELDS}
        row["refresh_token"] = session.refresh if session is not None and session.refresh else entry.get("refresh_token")
        staff.append(row)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"platform": platform, "staff": staff}, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except OSError:  # not kept: the next run creates its staff again
        pass
