"""Policy versions in the database: every version kept, the one in force chosen by date."""
from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.models import PolicyVersionRow
from services.vouchers.rules.calendar import local_date
from services.vouchers.rules.policy import DEFAULT_POLICY, PolicyVersion, parse_policy, policy_in_force
from services.vouchers.views import describe_policy
from shared.auth import Principal, require_role
from shared.db import Database
from shared.errors import invalid_field
from shared.fast_sql import FastTx, Query


def _to_domain(row: PolicyVersionRow) -> PolicyVersion:
    return PolicyVersion.model_validate(row.document)


async def all_versions(session: AsyncSession) -> list[PolicyVersion]:
    rows = (await session.execute(sa.select(PolicyVersionRow).order_by(PolicyVersionRow.version))).scalars()
    return [_to_domain(row) for row in rows]


async def version_in_force(session: AsyncSession, *, on: date) -> PolicyVersion:
    return policy_in_force(await all_versions(session), on)


# A stored version never changes: parsed once per process and database.
_PARSED: dict[tuple[str, int], PolicyVersion] = {}


# the number of the version in force on the bound date `policy_on`, in one indexed statement
VERSION_NUMBER_ON = (sa.select(PolicyVersionRow.version).where(PolicyVersionRow.effective_from <= sa.bindparam("policy_on"))
                     .order_by(PolicyVersionRow.effective_from.desc(), PolicyVersionRow.version.desc()).limit(1))
_DOCUMENT = Query(sa.select(PolicyVersionRow.document).where(PolicyVersionRow.version == sa.bindparam("number")))


async def version_on(session: AsyncSession, *, on: date) -> PolicyVersion:
    """`version_in_force` in one indexed statement (the month's meal rules in the audit)."""
    number = (await session.execute(VERSION_NUMBER_ON, {"policy_on": on})).scalar()
    if number is None:
        return policy_in_force([], on)  # raises the zh-CN "no policy in force"
    key = (str(session.bind.url), number)
    if key not in _PARSED:
        _PARSED[key] = _to_domain(await session.get(PolicyVersionRow, number))
    return _PARSED[key]


async def version_numbered(tx: FastTx, *, number: int | None, on: date) -> PolicyVersion:
    """The version `number` (chosen by `VERSION_NUMBER_ON` inside a larger statement) on the hot
    path: parsed once per process and database."""
    if number is None:
        return policy_in_force([], on)
    key = (str(tx.db.url), number)
    if key not in _PARSED:
        document = (await tx.row(_DOCUMENT, number=number))["document"]
        _PARSED[key] = PolicyVersion.model_validate(json.loads(document) if isinstance(document, str) else document)
    return _PARSED[key]


async def list_versions(session: AsyncSession) -> list[dict]:
    rows = (await session.execute(sa.select(PolicyVersionRow).order_by(PolicyVersionRow.version))).scalars()
    return [describe_policy(row) for row in rows]


async def current_version(session: AsyncSession, *, on: date) -> dict:
    chosen = await version_in_force(session, on=on)
    return describe_policy(await session.get(PolicyVersionRow, chosen.version))


async def create_version(session: AsyncSession, *, principal: Principal, submitted: dict, now: datetime) -> dict:
    """A new version numbered after the last one. It may not take effect in the past: months
    already issued under the old version must stay explainable by the version in force then."""
    require_role(principal, "admin")
    latest = (await session.execute(sa.select(sa.func.max(PolicyVersionRow.version)))).scalar_one() or 0
    policy = parse_policy({**submitted, "version": latest + 1})
    if policy.effective_from < local_date(now):
        raise invalid_field("effective_from", "生效日期不能早于今天，已发放的月份须按当时的政策解释",
                            "生效日期不能早于今天")
    row = PolicyVersionRow(version=policy.version, effective_from=policy.effective_from,
                           document=policy.model_dump(mode="json"), note=policy.note,
                           created_by=principal.user_id, created_at=now)
    session.add(row)
    await session.flush()
    return describe_policy(row)


async def ensure_default_policy(db: Database, *, now: datetime) -> None:
    """Store the shipped city defaults as version 1 on a fresh database (startup hook)."""
    async with db.sessions() as session:
        if (await session.execute(sa.select(sa.func.count()).select_from(PolicyVersionRow))).scalar_one():
            return
    try:
        async with db.transaction() as session:
            session.add(PolicyVersionRow(
                version=DEFAULT_POLICY.version, effective_from=DEFAULT_POLICY.effective_from,
                document=DEFAULT_POLICY.model_dump(mode="json"), note=DEFAULT_POLICY.note,
                created_by="system", created_at=now))
    except IntegrityError:
        pass  # another replica stored it first
