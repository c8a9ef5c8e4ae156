"""Holds without an order: released after a while.

Orders asks for the hold inside its own transaction and writes the order after the answer. If
vouchers dies after committing a hold and before answering (or orders dies before committing),
orders answers 503 and writes nothing, but the hold stays: the wallet would be short until month
end. So every held hold is checked once, `ORPHAN_AFTER` after it was made: the orders service
(as the platform) either has the order (the hold is marked checked and left alone) or answers
404 (the hold is released, with a ledger void and a `voucher.released` event). Orders that are
merely slow or down are asked again on the next pass; nothing is released on doubt.

A client that retries with the same Idempotency-Key after the release gets the hold's current
status ("released") from `POST /holds`, and orders then refuses the order as expired instead of
writing it on a hold that no longer exists (tests/faults/test_process_crash.py).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from services.vouchers.models import HoldRow
from services.vouchers.spending import release_orphan
from shared.db import Database
from shared.errors import DomainError, NotFound
from shared.http import ServiceClient

log = logging.getLogger("youfu.vouchers.orphans")
ORPHAN_AFTER = timedelta(minutes=10)
BATCH = 100


async def unchecked_holds(db: Database, *, before: datetime, limit: int = BATCH) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(hold id, order id) of held holds made before `before` whose order nobody has confirmed."""
    async with db.sessions() as s:
        rows = await s.execute(sa.select(HoldRow.id, HoldRow.order_id)
                               .where(HoldRow.status == "held", HoldRow.order_checked_at.is_(None),
                                      HoldRow.created_at < before)
                               .order_by(HoldRow.created_at).limit(limit))
        return [(r[0], r[1]) for r in rows]


async def sweep(db: Database, *, orders: ServiceClient, now: datetime, orphan_after: timedelta = ORPHAN_AFTER) -> dict:
    """One pass; `orders` is the client of the orders service. Returns what it did."""
    done = {"checked": 0, "released": 0, "unknown": 0}
    for hold_id, order_id in await unchecked_holds(db, before=now - orphan_after):
        try:
            await orders.get(f"/orders/{order_id}")
        except NotFound:
            async with db.transaction() as s:
                if await release_orphan(s, hold_id=hold_id, now=now):
                    done["released"] += 1
                    log.warning("hold %s of order %s released: the order was never written", hold_id, order_id)
            continue
        except DomainError as exc:  # orders down or busy: ask again next time, never release on doubt
            done["unknown"] += 1
            log.info("could not check the order of hold %s: %s", hold_id, exc.detail)
            continue
        async with db.transaction() as s:
            await s.execute(sa.update(HoldRow).where(HoldRow.id == hold_id).values(order_checked_at=now))
        done["checked"] += 1
    return done
