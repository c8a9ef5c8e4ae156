"""The spend summary: redemptions and reversals added up per voucher month, district, kind,
service item and provider, kept in the same transaction as the ledger transfer each one counts.

A spend report over a year reads a few thousand summary rows instead of millions of redemptions
and journal rows. The journal stays the record: this table is derived from it, `backfill`
rebuilds it from the raw rows (migration 0003 does so once), and the ledger check
(`store.check_book`) compares the two.

Rows are upserted with `INSERT … ON CONFLICT DO UPDATE` (both backends), so two captures of one
provider's service at once add up instead of colliding; the row lock is taken after the ledger
accounts' locks, in the posting's global order, and held for the short capture transaction.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.models import RedemptionRow, SpendSummaryRow
from shared.fast_sql import FastTx, Query

_TABLE = SpendSummaryRow.__table__
_KEY = ("month", "district_code", "kind", "service_code", "provider_id")
_SUMS = ("redemption_count", "order_amount_fen", "voucher_fen", "reversed_fen")


@dataclass(frozen=True)
class SpendDelta:
    month: str
    district_code: str | None
    kind: str
    service_code: str
    provider_id: uuid.UUID
    redemption_count: int = 0
    order_amount_fen: int = 0
    voucher_fen: int = 0
    reversed_fen: int = 0

    def key(self) -> tuple:
        return (self.month, self.district_code or "", self.kind, self.service_code, str(self.provider_id))

    def values(self) -> dict:
        return {"month": self.month, "district_code": self.district_code or "", "kind": self.kind,
                "service_code": self.service_code, "provider_id": self.provider_id,
                **{name: getattr(self, name) for name in _SUMS}}


def redeemed(r: RedemptionRow) -> SpendDelta:
    """What a new redemption (a capture) adds."""
    return SpendDelta(r.month, r.district_code, r.kind, r.service_code, r.provider_id, redemption_count=1,
                      order_amount_fen=r.order_amount_fen, voucher_fen=r.amount_fen)


def reversed_(r: RedemptionRow, amount_fen: int) -> SpendDelta:
    """What a reversal of redemption `r` adds: counted in the redemption's own month and lines."""
    return SpendDelta(r.month, r.district_code, r.kind, r.service_code, r.provider_id, reversed_fen=amount_fen)


def _insert(session: AsyncSession):
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(_TABLE)


async def add(session: AsyncSession, *, deltas: Iterable[SpendDelta]) -> None:
    """Add `deltas` to the summary in the caller's transaction, one row at a time in key order
    (two transactions touching the same rows lock them in the same order)."""
    merged: dict[tuple, SpendDelta] = {}
    for d in deltas:
        if d.key() in merged:
            m = merged[d.key()]
            d = SpendDelta(d.month, d.district_code, d.kind, d.service_code, d.provider_id,
                           *(getattr(m, n) + getattr(d, n) for n in _SUMS))
        merged[d.key()] = d
    for key in sorted(merged):
        statement = _insert(session).values(merged[key].values())
        statement = statement.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: _TABLE.c[name] + statement.excluded[name] for name in _SUMS})
        await session.execute(statement)


def _upsert(insert) -> sa.Executable:
    statement = insert(_TABLE).values({name: sa.bindparam(name) for name in _KEY + _SUMS})
    return statement.on_conflict_do_update(index_elements=list(_KEY),
                                           set_={name: _TABLE.c[name] + statement.excluded[name] for name in _SUMS})


UPSERT = Query(_upsert(postgresql.insert), sqlite=_upsert(sqlite.insert))


def add_one_later(tx: FastTx, *, delta: SpendDelta) -> None:
    """`add` for one delta on the hot paths (shared/fast_sql.py: a meal at the counter), as a
    deferred write: sent with the transaction's last writes."""
    tx.later(UPSERT, **delta.values())


def raw_aggregate() -> sa.Select:
    """The summary computed from the raw rows: every redemption, and the reversal of its capture
    if any (`reverses_id` is unique, so the join never doubles a redemption)."""
    from services.vouchers.models import TransferRow

    r, t = RedemptionRow.__table__, TransferRow.__table__
    district = sa.func.coalesce(r.c.district_code, "")
    return (sa.select(r.c.month, district.label("district_code"), r.c.kind, r.c.service_code, r.c.provider_id,
                      sa.func.count().label("redemption_count"),
                      sa.func.sum(r.c.order_amount_fen).label("order_amount_fen"),
                      sa.func.sum(r.c.amount_fen).label("voucher_fen"),
                      sa.func.coalesce(sa.func.sum(t.c.amount_fen), 0).label("reversed_fen"))
            .select_from(r.outerjoin(t, sa.and_(t.c.reverses_id == r.c.capture_transfer_id, t.c.kind == "reverse")))
            .group_by(r.c.month, district, r.c.kind, r.c.service_code, r.c.provider_id))


async def backfill(session: AsyncSession) -> int:
    """Rebuild the whole summary from the raw rows (migration 0003, and repair by hand)."""
    await session.execute(sa.delete(_TABLE))
    result = await session.execute(_TABLE.insert().from_select(list(_KEY) + list(_SUMS), raw_aggregate()))
    return result.rowcount


async def mismatches(session: AsyncSession) -> list[dict]:
    """Lines where the summary and the raw rows disagree (empty when they agree)."""
    def keyed(rows) -> dict[tuple, tuple]:
        return {(m, d or "", k, s, str(p)): tuple(int(x) for x in sums) for m, d, k, s, p, *sums in rows}

    stored = keyed((await session.execute(sa.select(*(_TABLE.c[n] for n in _KEY + _SUMS)))).all())
    raw = keyed((await session.execute(raw_aggregate())).all())
    return [{"key": list(key), "summary": stored.get(key), "raw": raw.get(key)}
            for key in sorted(set(stored) | set(raw)) if stored.get(key) != raw.get(key)]
