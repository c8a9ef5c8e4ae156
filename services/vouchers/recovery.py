"""Recovery (追缴) after a death or a move out of the city: the findings per elder and provider,
kept in step with the elder's real date and with the captures, and the estimates assessment's dry
run asks for. Which captures count and how a finding follows a recomputation are the pure rules
in `rules/recovery.py`.

A recovery finding is an anomaly finding of rule SERVICE_AFTER_DEPARTURE under the key
`service_after_departure:<elder>|<provider>`, listed under the month of the date of departure.
It is recomputed whenever the elder's departure is recorded or changes (the event, or a
redelivery of it), whenever a capture for a departed elder arrives, and when an officer lists the
findings of a month with such captures. The auditor's `reverse` action reverses its redemptions.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.events import parse_uuid
from services.vouchers.ledger.rules import TransferKind
from services.vouchers.models import AnomalyFindingRow, ElderRow, HoldRow, RedemptionRow, TransferRow
from services.vouchers.rules.audit import SERVICE_AFTER_DEPARTURE
from services.vouchers.rules.calendar import month_of_date
from services.vouchers.rules.recovery import (
    Capture,
    Stored,
    explain,
    plan_findings,
    recoveries,
    recovery_key,
    recovery_title,
)
from shared.auth import Principal, require_role
from shared.errors import FieldError, Invalid

ESTIMATE_ROLES = ("service", "city_officer", "admin")
MAX_ESTIMATE_ELDERS = 200_000


async def _captures(session: AsyncSession, elder_id: uuid.UUID) -> tuple[list[Capture], dict[str, str | None]]:
    rows = (await session.execute(
        sa.select(RedemptionRow, sa.func.coalesce(sa.func.sum(TransferRow.amount_fen), 0))
        .outerjoin(TransferRow, sa.and_(TransferRow.reverses_id == RedemptionRow.capture_transfer_id,
                                        TransferRow.kind == str(TransferKind.REVERSE)))
        .where(RedemptionRow.elder_id == elder_id).group_by(RedemptionRow.id))).all()
    captures = [Capture(str(r.id), str(r.provider_id), r.amount_fen, r.completed_at, r.duration_min, int(back))
                for r, back in rows]
    return captures, {str(r.provider_id): r.district_code for r, _ in rows}


async def refresh_recovery(session: AsyncSession, *, elder: ElderRow, now: datetime) -> list[str]:
    """Bring the elder's recovery findings in step with their departure date and captures;
    answers the keys of the findings the elder has after it. Idempotent."""
    stored_rows = {row.key: row for row in (await session.execute(
        sa.select(AnomalyFindingRow).where(AnomalyFindingRow.elder_id == elder.elder_id,
                                           AnomalyFindingRow.rule == SERVICE_AFTER_DEPARTURE)
        .with_for_update())).scalars() if row.key.startswith(recovery_key(elder.elder_id, ""))}
    departed_on = elder.departed_on if elder.status != "active" else None
    if departed_on is None and not stored_rows:
        return []
    captures, districts = await _captures(session, elder.elder_id) if departed_on else ([], {})
    wanted = {recovery_key(elder.elder_id, r.provider_id): r for r in recoveries(captures, departed_on)}
    month = month_of_date(departed_on) if departed_on else ""
    explanation = {key: explain(r, departed_on=departed_on, status=elder.status) for key, r in wanted.items()}
    stored = {key: Stored(row.status, tuple(row.redemption_ids), row.amount_fen, row.explanation, row.month)
              for key, row in stored_rows.items()}
    plan = plan_findings(stored, wanted, explanation=explanation, month=month)
    for key, recovery in plan.insert:
        session.add(AnomalyFindingRow(
            id=uuid.uuid4(), key=key, month=month, rule=SERVICE_AFTER_DEPARTURE, title=recovery_title(),
            explanation=explanation[key], district_code=districts.get(recovery.provider_id) or elder.district_code,
            provider_id=uuid.UUID(recovery.provider_id), elder_id=elder.elder_id,
            redemption_ids=list(recovery.redemption_ids), amount_fen=recovery.amount_fen, status="open",
            created_at=now, updated_at=now))
    for change in plan.update:
        row = stored_rows[change.key]
        row.redemption_ids, row.amount_fen = list(change.recovery.redemption_ids), change.recovery.amount_fen
        row.explanation, row.month, row.status, row.updated_at = explanation[change.key], month, change.status, now
    for key in plan.delete:  # open, so no auditor action refers to it
        await session.delete(stored_rows[key])
    await session.flush()
    return sorted(wanted) + sorted(k for k in stored_rows if k not in wanted and k not in plan.delete)


async def recover_after_capture(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """After `order.completed`: a capture for an elder already departed joins their findings."""
    elder_id = parse_uuid(data.get("elder_id"))
    if elder_id is None:
        elder_id = (await session.execute(sa.select(HoldRow.elder_id).where(
            HoldRow.order_id == parse_uuid(data.get("order_id"))))).scalar_one_or_none()
    elder = await session.get(ElderRow, elder_id) if elder_id else None
    if elder is not None and elder.departed_on is not None and elder.status != "active":
        await refresh_recovery(session, elder=elder, now=now)


async def refresh_for_month(session: AsyncSession, *, elder_ids: set[uuid.UUID], now: datetime) -> list[str]:
    """The departed elders among those with captures in a month: their findings, recomputed."""
    keys: list[str] = []
    ids = sorted(elder_ids)
    for start in range(0, len(ids), 5_000):
        departed = (await session.execute(sa.select(ElderRow).where(
            ElderRow.elder_id.in_(ids[start:start + 5_000]), ElderRow.departed_on.is_not(None),
            ElderRow.status != "active"))).scalars().all()
        for elder in departed:
            keys.extend(await refresh_recovery(session, elder=elder, now=now))
    return keys


# The list goes into a temporary table with its statistics, so the planner hash-joins it to the
# redemptions (a function scan it would guess at 100 rows and probe the index 165,000 times); the
# reversals, few, are joined by the capture they reverse. Sums per elder and provider in SQL.
_ASKED_PG = [
    sa.text("CREATE TEMPORARY TABLE recovery_asked (elder_id uuid PRIMARY KEY, since date NOT NULL) ON COMMIT DROP"),
    sa.text("INSERT INTO recovery_asked SELECT * FROM jsonb_to_recordset(CAST(:asked AS jsonb)) AS x(elder_id uuid, since date)"),
    sa.text("ANALYZE recovery_asked"),
    sa.text("SET LOCAL work_mem = '64MB'"),
]
_ESTIMATE_PG = sa.text("""
WITH per_provider AS (
    SELECT r.elder_id, r.provider_id, CAST(SUM(r.amount_fen - COALESCE(t.amount_fen, 0)) AS bigint) AS amount_fen
    FROM recovery_asked a
    JOIN redemptions r ON r.elder_id = a.elder_id
    LEFT JOIN ledger_transfers t ON t.reverses_id = r.capture_transfer_id AND t.kind = :reverse
    WHERE CAST((r.completed_at - make_interval(mins => COALESCE(r.duration_min, 0))) AT TIME ZONE 'Asia/Shanghai' AS date)
          >= a.since
    GROUP BY r.elder_id, r.provider_id
    HAVING SUM(r.amount_fen - COALESCE(t.amount_fen, 0)) > 0
), per_elder AS (
    SELECT elder_id, CAST(SUM(amount_fen) AS bigint) AS amount_fen,
           json_agg(json_build_object('provider_id', provider_id, 'provider_name', NULL, 'amount_fen', amount_fen)
                    ORDER BY provider_id) AS providers
    FROM per_provider GROUP BY elder_id
)
SELECT json_build_object('elders', COALESCE(json_agg(json_build_object(
    'elder_id', elder_id, 'amount_fen', amount_fen, 'providers', providers) ORDER BY elder_id), '[]'))::text
FROM per_elder
""")


def _asked(elders: list[dict]) -> dict[uuid.UUID, date]:
    if len(elders) > MAX_ESTIMATE_ELDERS:
        raise Invalid(f"一次最多估算 {MAX_ESTIMATE_ELDERS} 位老人", errors=[FieldError("elders", "名单过长")])
    asked: dict[uuid.UUID, date] = {}
    for item in elders:  # the same elder twice: the earlier date, which covers the later
        elder_id, since = item["elder_id"], item["since"]
        asked[elder_id] = min(since, asked.get(elder_id, since))
    return asked


async def estimate_recovery(session: AsyncSession, *, principal: Principal, elders: list[dict]) -> str:
    """`POST /recovery-estimates`: per elder, the voucher money captured for services from
    `since` on, net of reversals, per provider; elders with nothing are left out. Answers the JSON
    text itself: for a city's list it is megabytes, which PostgreSQL builds faster than Python
    turns its rows into objects and back. On PostgreSQL it needs a transaction (its temporary
    table goes at commit); it writes nothing else."""
    require_role(principal, *ESTIMATE_ROLES)
    asked = _asked(elders)
    if not asked:
        return json.dumps({"elders": []})
    if session.bind.dialect.name == "postgresql":
        payload = json.dumps([{"elder_id": str(k), "since": v.isoformat()} for k, v in asked.items()])
        for statement in _ASKED_PG:
            await session.execute(statement, {"asked": payload})
        return (await session.execute(_ESTIMATE_PG, {"reverse": str(TransferKind.REVERSE)})).scalar_one()
    # SQLite, the embedded default: the same sums through the pure rules, in chunks
    found: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    ids = sorted(asked)
    for start in range(0, len(ids), 500):
        rows = (await session.execute(
            sa.select(RedemptionRow, sa.func.coalesce(sa.func.sum(TransferRow.amount_fen), 0))
            .outerjoin(TransferRow, sa.and_(TransferRow.reverses_id == RedemptionRow.capture_transfer_id,
                                            TransferRow.kind == str(TransferKind.REVERSE)))
            .where(RedemptionRow.elder_id.in_(ids[start:start + 500])).group_by(RedemptionRow.id))).all()
        by_elder: dict[uuid.UUID, list[Capture]] = {}
        for r, back in rows:
            by_elder.setdefault(r.elder_id, []).append(
                Capture(str(r.id), str(r.provider_id), r.amount_fen, r.completed_at, r.duration_min, int(back)))
        for elder_id, captures in by_elder.items():
            for recovery in recoveries(captures, asked[elder_id]):
                found.setdefault(elder_id, {})[uuid.UUID(recovery.provider_id)] = recovery.amount_fen
    return json.dumps({"elders": [
        {"elder_id": str(elder_id), "amount_fen": sum(providers.values()),
         "providers": [{"provider_id": str(p), "provider_name": None, "amount_fen": amount}
                       for p, amount in sorted(providers.items(), key=lambda item: str(item[0]))]}
        for elder_id, providers in sorted(found.items(), key=lambda item: str(item[0]))]})
