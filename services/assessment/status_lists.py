"""Use cases of status lists from other bureaus: upload (stores the list and its dry run), read,
list, apply (one transaction), and an elder's applied changes. Each runs inside the one
transaction its caller opened. What a row means is `rules/status_lists.py`; who may do it,
`access.py`.

Everything is set-based so a list of 165,000 rows stays within seconds (bench/status_lists.py):
the ID numbers are matched through the blind index in a few `= ANY(array)` queries, the elders
are changed by a few UPDATE … FROM unnest(arrays) statements, and the changes and events are
inserted many rows per statement.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import access
from services.assessment.elders import elder_for
from services.assessment.events import ElderUpdated, elder_facts
from services.assessment.home_beds import end_plans_and_beds
from services.assessment.models import ElderRow, ElderStatusChangeRow, StatusListLineRow, StatusListRow
from services.assessment.rules import status_lists as rules
from services.assessment.rules.hardship import special_hardship_reasons
from services.assessment.views import status_change_view, status_list_summary, status_list_view
from shared.auth import Principal, require_role
from shared.city import local_day
from shared.db import insert_rows
from shared.errors import Forbidden, NotFound
from shared.events import make_events
from shared.outbox import add_events
from shared.pii import PiiCipher

Estimate = Callable[[list[dict]], Awaitable[dict[str, int] | None]]
DEFAULT_PAGE = 200
# what the events and the classification read: not the ciphertexts (the heaviest columns)
ELDER_COLUMNS = [ElderRow.__table__.c[name] for name in (
    "id", "district_code", "street", "economic_status", "living_situation", "lat", "lon", "special_hardship", "status",
    "grade", "birth_date", "name", "address", "status_date")]
_elders = ElderRow.__table__
_lines = StatusListLineRow.__table__
_changes = ElderStatusChangeRow.__table__


def _postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def require_keeper(principal: Principal) -> None:
    if principal.role not in access.LIST_KEEPERS:
        raise Forbidden("名单由市级民政部门上传和应用")


async def _elders_where(session: AsyncSession, column: sa.Column, values: list, *, columns: list,
                        for_update: bool = False) -> list[sa.Row]:
    """The elder rows whose `column` is one of `values`: on PostgreSQL one `= ANY(array)` query per
    20,000 values, on SQLite `IN` lists under its bound-parameter limit."""
    postgres = _postgres(session)
    out: list[sa.Row] = []
    for chunk in _chunks(values, 20_000 if postgres else 900):
        if postgres:
            item_type = sa.String() if column.key == "id_card_index" else sa.Uuid()
            condition = column == sa.any_(sa.bindparam("values", chunk, type_=ARRAY(item_type)))
        else:
            condition = column.in_(chunk)
        query = sa.select(*columns).where(condition)
        if for_update:
            query = query.with_for_update()
        out += (await session.execute(query)).all()
    return out


def _facts(row: Any) -> rules.ElderFacts:
    return rules.ElderFacts(elder_id=row.id, name=row.name, status=row.status, status_date=row.status_date,
                            economic_status=row.economic_status)


def _not_found_list() -> NotFound:
    return NotFound("没有找到这份名单，请核对编号", resource="status_list")


async def _list_for(session: AsyncSession, principal: Principal, list_id: uuid.UUID, *,
                    for_update: bool = False) -> StatusListRow:
    require_keeper(principal)
    query = sa.select(StatusListRow).where(StatusListRow.id == list_id)
    if for_update:
        query = query.with_for_update()
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise _not_found_list()
    return found


# ---- upload and dry run -------------------------------------------------------------------------


async def dry_run(session: AsyncSession, *, kind: rules.Kind, raws: list[rules.RawRow], cipher: PiiCipher,
                  today: date, estimate: Estimate) -> tuple[list[dict], dict[str, int], int | None]:
    """Each row's line record (for `status_list_rows`), the counts, and the money at stake."""
    rows = rules.check_rows(kind, raws, today=today)
    repeated = rules.duplicates(rows)
    index_of = {r.line: cipher.blind_index(r.id_card) for r in rows if r.error is None}
    found = await _elders_where(session, ElderRow.id_card_index, sorted(set(index_of.values())),
                                columns=[ElderRow.id, ElderRow.id_card_index, ElderRow.name, ElderRow.status,
                                         ElderRow.status_date, ElderRow.economic_status])
    by_index = {r.id_card_index: _facts(r) for r in found}
    lines: list[dict] = []
    matched = 0
    for row in rows:
        elder = by_index.get(index_of.get(row.line, ""))
        matched += elder is not None
        result = repeated.get(row.line) or rules.classify(kind, row, elder)
        change = result.change
        lines.append({
            "line": row.line, "id_card_masked": row.masked_id and row.masked_id[:40], "id_card_index": index_of.get(row.line),
            "name": (row.name or None) and row.name[:50], "list_date": row.date, "list_status": row.status,
            "elder_id": elder.elder_id if elder else None, "outcome": str(result.outcome),
            "reason": result.reason and result.reason[:300],
            "change_field": change and change.field, "change_from": change and change.from_value,
            "change_to": change and change.to_value, "effective_date": change and change.effective_date,
            "amount_fen": None})
    money = None
    if kind is not rules.Kind.ASSISTANCE:
        asked = [line for line in lines if line["outcome"] == rules.Outcome.APPLY]
        amounts = await estimate([{"elder_id": str(line["elder_id"]), "since": line["effective_date"].isoformat()}
                                  for line in asked])
        if amounts is not None:
            for line in asked:
                line["amount_fen"] = amounts.get(str(line["elder_id"]), 0)
            money = sum(line["amount_fen"] for line in asked)
    return lines, rules.counts([line["outcome"] for line in lines], matched=matched), money


async def upload_list(session: AsyncSession, *, principal: Principal, cipher: PiiCipher, kind: str, source: str,
                      raws: list[rules.RawRow], now: datetime, estimate: Estimate) -> dict[str, Any]:
    """Store the list, its lines and their dry run; nothing in the elders' records changes."""
    require_keeper(principal)
    list_kind = rules.Kind(kind)
    lines, counts, money = await dry_run(session, kind=list_kind, raws=raws, cipher=cipher, today=local_day(now),
                                         estimate=estimate)
    stored = StatusListRow(id=uuid.uuid4(), kind=list_kind.value, source=source[:200], state="dry_run", counts=counts,
                           money_at_stake_fen=money, uploaded_by=principal.user_id, uploaded_at=now)
    session.add(stored)
    await session.flush()
    await insert_rows(session, _lines, [line | {"list_id": stored.id} for line in lines])
    return await _view(session, stored, offset=0, limit=DEFAULT_PAGE)


async def _view(session: AsyncSession, stored: StatusListRow, *, offset: int, limit: int) -> dict[str, Any]:
    query = (sa.select(StatusListLineRow, ElderRow.name).outerjoin(ElderRow, ElderRow.id == StatusListLineRow.elder_id)
             .where(StatusListLineRow.list_id == stored.id).order_by(StatusListLineRow.line).offset(offset).limit(limit))
    rows = (await session.execute(query)).all()
    return status_list_view(stored, [(line, name) for line, name in rows], offset=offset, limit=limit)


async def read_list(session: AsyncSession, *, principal: Principal, list_id: uuid.UUID, offset: int,
                    limit: int) -> dict[str, Any]:
    stored = await _list_for(session, principal, list_id)
    return await _view(session, stored, offset=offset, limit=limit)


async def list_lists(session: AsyncSession, *, principal: Principal, page: int, page_size: int) -> dict[str, Any]:
    require_keeper(principal)
    total = (await session.execute(sa.select(sa.func.count()).select_from(StatusListRow))).scalar_one()
    rows = await session.execute(sa.select(StatusListRow).order_by(StatusListRow.uploaded_at.desc(), StatusListRow.id)
                                 .offset((page - 1) * page_size).limit(page_size))
    return {"items": [status_list_summary(r) for r in rows.scalars()], "total": total, "page": page,
            "page_size": page_size}


# ---- apply --------------------------------------------------------------------------------------


async def _update_elders(session: AsyncSession, kind: rules.Kind, updates: list[dict], now: datetime) -> None:
    """Write the new status (or economic status and hardship flag) of many elders: one UPDATE … FROM
    unnest(arrays) per 20,000 on PostgreSQL, an executemany on SQLite."""
    if not updates:
        return
    if kind is rules.Kind.ASSISTANCE:
        fields = {"economic_status": "text", "special_hardship": "boolean"}
    else:
        fields = {"status": "text", "status_date": "date"}
    if _postgres(session):
        sets = ", ".join(f"{name} = v.{name}" for name in fields)
        arrays = ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, sql_type in fields.items())
        statement = sa.text(f"UPDATE elders AS e SET {sets}, updated_at = :now "
                            f"FROM unnest(CAST(:ids AS uuid[]), {arrays}) AS v(id, {', '.join(fields)}) "
                            f"WHERE e.id = v.id")
        for chunk in _chunks(updates, 20_000):
            params = {"ids": [u["id"] for u in chunk], "now": now} | {name: [u[name] for u in chunk] for name in fields}
            await session.execute(statement, params)
        return
    statement = (sa.update(_elders).where(_elders.c.id == sa.bindparam("b_id", type_=_elders.c.id.type))
                 .values(updated_at=sa.bindparam("b_now", type_=_elders.c.updated_at.type),
                         **{name: sa.bindparam(f"b_{name}", type_=_elders.c[name].type) for name in fields}))
    await session.execute(statement, [{"b_id": u["id"], "b_now": now} | {f"b_{name}": u[name] for name in fields}
                                      for u in updates])


async def apply_list(session: AsyncSession, *, principal: Principal, list_id: uuid.UUID, source: str,
                     now: datetime) -> dict[str, Any]:
    """Apply, in the caller's one transaction, every row the dry run marked `apply` whose change
    still holds against the record as it is now (the elders are locked): a row whose target already
    holds is `unchanged`, so applying twice, or applying the same list uploaded again, changes
    nothing. Each changed elder gets one `youfu.elder.updated.v1` with the list as its source."""
    stored = await _list_for(session, principal, list_id, for_update=True)
    kind = rules.Kind(stored.kind)
    if stored.state == "applied":
        view = await _view(session, stored, offset=0, limit=DEFAULT_PAGE)
        return view | {"applied": 0, "unchanged": stored.counts["apply"] + stored.counts["unchanged"]}
    planned = (await session.execute(sa.select(_lines).where(_lines.c.list_id == stored.id,
                                                               _lines.c.outcome == rules.Outcome.APPLY.value)
                                     .order_by(_lines.c.line))).all()
    elders = {r.id: r for r in await _elders_where(session, ElderRow.id, [p.elder_id for p in planned],
                                                   columns=ELDER_COLUMNS, for_update=True)}
    updates: list[dict] = []
    changes: list[dict] = []
    events = []
    regraded: list[dict] = []  # lines whose outcome is no longer `apply`
    for plan in planned:
        elder = elders.get(plan.elder_id)
        row = rules.ListRow(plan.line, None, plan.name, plan.list_date, plan.list_status)
        result = rules.classify(kind, row, _facts(elder)) if elder else rules.Classified(
            rules.Outcome.UNKNOWN, "未找到该身份证号对应的老人档案")
        if result.outcome is not rules.Outcome.APPLY:
            regraded.append({"b_line": plan.line, "b_outcome": result.outcome.value, "b_reason": result.reason,
                             "b_from": None, "b_to": None, "b_field": None, "b_date": None})
            continue
        change = result.change
        facts = dict(elder._mapping)
        if change.field == "status":
            facts |= {"status": change.to_value, "status_date": change.effective_date}
            update = {"id": elder.id, "status": change.to_value, "status_date": change.effective_date}
            changed = ["status", "status_date"]
        else:
            hardship = bool(special_hardship_reasons(living_situation=elder.living_situation,
                                                     economic_status=change.to_value, grade=elder.grade))
            facts |= {"economic_status": change.to_value, "special_hardship": hardship}
            update = {"id": elder.id, "economic_status": change.to_value, "special_hardship": hardship}
            changed = ["economic_status"] + (["special_hardship"] if hardship != elder.special_hardship else [])
        updates.append(update)
        changes.append({"id": uuid.uuid4(), "elder_id": elder.id, "list_id": stored.id, "kind": kind.value,
                        "file": stored.source, "line": plan.line, "field": change.field,
                        "from_value": change.from_value, "to_value": change.to_value,
                        "effective_date": change.effective_date, "applied_by": principal.user_id, "applied_at": now})
        if plan.change_from != change.from_value:  # the record moved since the dry run: keep what was applied
            regraded.append({"b_line": plan.line, "b_outcome": "apply", "b_reason": None, "b_field": change.field,
                             "b_from": change.from_value, "b_to": change.to_value, "b_date": change.effective_date})
        events.append(elder_facts(SimpleNamespace(**facts)) | {"changed_fields": changed, "change_source": {
            "list_id": str(stored.id), "kind": kind.value, "file": stored.source, "line": plan.line}})
    await _update_elders(session, kind, updates, now)
    await insert_rows(session, _changes, changes)
    await add_events(session, make_events(ElderUpdated, events, source=source))
    if updates and kind is not rules.Kind.ASSISTANCE:  # deaths and moves end the elders' plans and beds
        await end_plans_and_beds(session, source=source, now=now)
    if regraded:
        await session.execute(
            sa.update(_lines).where(_lines.c.list_id == stored.id, _lines.c.line == sa.bindparam("b_line"))
            .values(outcome=sa.bindparam("b_outcome"), reason=sa.bindparam("b_reason"),
                    change_field=sa.bindparam("b_field"), change_from=sa.bindparam("b_from"),
                    change_to=sa.bindparam("b_to"), effective_date=sa.bindparam("b_date")), regraded)
        outcomes = await session.execute(sa.select(_lines.c.outcome, sa.func.count()).where(_lines.c.list_id == stored.id)
                                         .group_by(_lines.c.outcome))
        counts = dict(stored.counts) | {o: 0 for o in rules.OUTCOMES} | {o: n for o, n in outcomes.all()}
        stored.counts = counts
    stored.state, stored.applied_by, stored.applied_at = "applied", principal.user_id, now
    await session.flush()
    view = await _view(session, stored, offset=0, limit=DEFAULT_PAGE)
    return view | {"applied": len(updates), "unchanged": stored.counts["unchanged"]}


# ---- the elder's side ---------------------------------------------------------------------------


async def elder_status_changes(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict]:
    """The changes lists made to this elder's record, newest first, each explained in Chinese."""
    require_role(principal, *access.READERS)
    elder = await elder_for(session, principal, elder_id)
    rows = await session.execute(sa.select(ElderStatusChangeRow).where(ElderStatusChangeRow.elder_id == elder.id)
                                 .order_by(ElderStatusChangeRow.applied_at.desc(), ElderStatusChangeRow.line.desc()))
    return [status_change_view(r) for r in rows.scalars()]
