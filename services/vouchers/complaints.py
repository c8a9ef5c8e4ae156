"""Complaints (投诉): an elder, a linked family member or a 12349 operator files one about an
order, a provider or a caregiver; it becomes a ticket of the district's bureau due in working
days (`rules/complaints.py`, the days off in `oversight_policy.json`), worked open → in_progress
→ resolved | rejected, the answer shown to the complainant's side. A provider admin reads the
complaints about its provider, without the complainant when anonymity was asked
(`views.complaint_answer`). Overdue tickets lead the list.

The optional photo is added by the complainant right after filing (`add_complaint_photo`: checked
and re-encoded by shared/images.py, kept through shared/storage.py) and read by whoever may read
the complaint — the provider too, even when anonymous: it shows the service, and the answer still
hides who complained (D65)."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import (
    ELDER_ROLES,
    OPERATORS,
    acting_district,
    complaint_readable_by,
    may_act_for_elder,
    own_elders,
)
from services.vouchers.events import ComplaintAnswered, ComplaintFiled, publish
from services.vouchers.models import ComplaintRow, CompletedOrderRow, ElderRow, HoldRow
from services.vouchers.oversight_policy import oversight_policy
from services.vouchers.rules.calendar import local_date
from services.vouchers.rules.complaints import ComplaintStatus, ComplaintSubject, check_move, complaint_deadline
from services.vouchers.views import complaint_answer as _view
from shared.auth import Principal
from shared.city import DISTRICTS
from shared.errors import Conflict, Forbidden, NotFound, invalid_field
from shared.images import EXTENSIONS, check_photo, clean_image
from shared.storage import BlobStorage

FILERS = ELDER_ROLES | OPERATORS
LIST_LIMIT = 500


def complaint_answer(row: ComplaintRow, *, principal: Principal, now: datetime) -> dict:
    """The provider's side never learns who complained when anonymity was asked."""
    return _view(row, now=now, hide_complainant=principal.role == "provider_admin" and row.anonymous)


async def _order_facts(session: AsyncSession, order_id: uuid.UUID) -> dict | None:
    """What this service knows of an order: its completion (provider, caregiver) or its hold."""
    done = await session.get(CompletedOrderRow, order_id)
    if done is not None:
        return {"elder_id": done.elder_id, "provider_id": done.provider_id, "caregiver_id": done.caregiver_id,
                "district_code": done.district_code}
    hold = (await session.execute(sa.select(HoldRow).where(HoldRow.order_id == order_id))).scalar_one_or_none()
    if hold is not None:
        return {"elder_id": hold.elder_id, "provider_id": hold.provider_id, "caregiver_id": None,
                "district_code": hold.district_code}
    return None


async def file_complaint(session: AsyncSession, *, principal: Principal, subject: ComplaintSubject,
                         text: str, anonymous: bool, now: datetime, elder_id: uuid.UUID | None = None,
                         order_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
                         caregiver_id: uuid.UUID | None = None, district_code: str | None = None) -> dict:
    if principal.role not in FILERS:
        raise Forbidden("只有老人、家属或 12349 坐席可以提交投诉")
    if len(text.strip()) < 2:
        raise invalid_field("text", "请写下投诉内容（至少 2 个字）")
    if principal.role in ELDER_ROLES:
        mine = own_elders(principal)
        if elder_id is None and len(mine) == 1:
            elder_id = mine[0]
        if elder_id is None:
            raise invalid_field("elder_id", "请指定为哪位老人投诉")
        if not may_act_for_elder(principal, elder_id):
            raise Forbidden("只能为本人或已绑定的老人投诉")
    if order_id is not None:
        facts = await _order_facts(session, order_id)
        in_scope = facts is not None and (
            facts["elder_id"] == elder_id if principal.role in ELDER_ROLES or elder_id else True)
        if in_scope and principal.role in OPERATORS and principal.district:
            in_scope = facts["district_code"] == principal.district
        if not in_scope:
            raise NotFound("没有这笔订单，或不是该老人的订单")
        elder_id = facts["elder_id"]
        # what this service recorded of the order wins; the complainant's page fills in the provider
        # and caregiver of an order not completed yet (vouchers learns them at completion)
        provider_id = facts["provider_id"] or provider_id
        caregiver_id = (facts["caregiver_id"] if subject is ComplaintSubject.CAREGIVER else None) or caregiver_id
        district_code = facts["district_code"] or district_code
    if subject is ComplaintSubject.ORDER and order_id is None:
        raise invalid_field("order_id", "投诉服务订单须指明订单")
    if subject in (ComplaintSubject.PROVIDER, ComplaintSubject.CAREGIVER) and provider_id is None:
        raise invalid_field("provider_id", "请指明被投诉的服务机构")
    if subject is ComplaintSubject.CAREGIVER and caregiver_id is None:
        raise invalid_field("caregiver_id", "请指明被投诉的护理员（或所投诉的订单）")
    if elder_id is not None and not district_code:
        elder = await session.get(ElderRow, elder_id)
        district_code = elder.district_code if elder else None
    if principal.role in OPERATORS and principal.district:
        if district_code and district_code != principal.district:
            raise Forbidden("只能受理本辖区的投诉", district_code=district_code)
        district_code = principal.district
    if not district_code or district_code not in DISTRICTS:
        raise invalid_field("district_code", "无法确定投诉所属区县，请指定区县")
    policy = oversight_policy(local_date(now))
    deadline = complaint_deadline(now, policy.complaint_working_days, holidays=policy.holidays,
                                  make_up_workdays=policy.make_up_workdays)
    row = ComplaintRow(id=uuid.uuid4(), district_code=district_code, subject=str(subject), order_id=order_id,
                       provider_id=provider_id, caregiver_id=caregiver_id, elder_id=elder_id,
                       complainant_user_id=principal.user_id, complainant_role=principal.role, anonymous=anonymous,
                       text=text.strip(), status=str(ComplaintStatus.OPEN), deadline=deadline,
                       policy_version=policy.version, filed_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    publish(session, ComplaintFiled(complaint_id=row.id, district_code=district_code, provider_id=provider_id,
                                    order_id=order_id, deadline=deadline))
    return complaint_answer(row, principal=principal, now=now)


def _listed(principal: Principal):
    return sa.select(ComplaintRow).where(complaint_readable_by(principal, ComplaintRow))


async def list_complaints(session: AsyncSession, *, principal: Principal, status: ComplaintStatus | None,
                          now: datetime) -> list[dict]:
    """The caller's complaints, overdue tickets first (oldest deadline first), then the open
    ones by deadline, then the closed ones, newest answer first."""
    open_ = ComplaintRow.status.in_([str(ComplaintStatus.OPEN), str(ComplaintStatus.IN_PROGRESS)])
    overdue = sa.and_(open_, ComplaintRow.deadline <= now)
    rank = sa.case((overdue, 0), (open_, 1), else_=2)
    query = _listed(principal).order_by(rank, sa.case((open_, ComplaintRow.deadline), else_=None),
                                        ComplaintRow.answered_at.desc(), ComplaintRow.filed_at.desc()).limit(LIST_LIMIT)
    if status:
        query = query.where(ComplaintRow.status == str(status))
    return [complaint_answer(r, principal=principal, now=now) for r in (await session.execute(query)).scalars()]


async def get_complaint(session: AsyncSession, *, principal: Principal, complaint_id: uuid.UUID, now: datetime) -> dict:
    row = (await session.execute(_listed(principal).where(ComplaintRow.id == complaint_id))).scalar_one_or_none()
    if row is None:
        raise NotFound("没有这条投诉")
    return complaint_answer(row, principal=principal, now=now)


async def move_complaint(session: AsyncSession, *, principal: Principal, complaint_id: uuid.UUID,
                         status: ComplaintStatus, answer: str | None, now: datetime) -> dict:
    """The district's bureau works the ticket: take it (in_progress), or close it with an answer."""
    acting_district(principal)
    row = (await session.execute(_listed(principal).where(ComplaintRow.id == complaint_id)
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("没有这条投诉，或不在您的辖区")
    current = ComplaintStatus(row.status)
    if current == status and status.closed and (answer or "").strip() == (row.answer or ""):
        return complaint_answer(row, principal=principal, now=now)  # the same answer again
    check_move(current, status, answer=answer)
    row.status, row.handled_by, row.updated_at = str(status), principal.user_id, now
    if status.closed:
        row.answer, row.answered_at = (answer or "").strip(), now
        publish(session, ComplaintAnswered(complaint_id=row.id, status=str(status),
                                           complainant_user_id=row.complainant_user_id, elder_id=row.elder_id))
    await session.flush()
    return complaint_answer(row, principal=principal, now=now)


async def add_complaint_photo(session: AsyncSession, *, principal: Principal, storage: BlobStorage,
                              complaint_id: uuid.UUID, data: bytes, max_bytes: int, now: datetime) -> dict:
    """The complainant attaches the one photo to a ticket still being worked: 413 past the size,
    422 unless JPEG/PNG; re-encoded without metadata, stored, then recorded. Someone else who may
    read the complaint: 403; anyone else: 404."""
    kind = check_photo(data, max_bytes=max_bytes)
    row = (await session.execute(_listed(principal).where(ComplaintRow.id == complaint_id)
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("没有这条投诉")
    if row.complainant_user_id != principal.user_id:
        raise Forbidden("只有投诉人本人可以添加照片")
    if ComplaintStatus(row.status).closed:
        raise Conflict("投诉已办结，不能再添加照片", reason="complaint_closed", current_status=row.status)
    if row.photo_key is not None:
        raise Conflict("这条投诉已经有照片了（每条投诉 1 张）", reason="photo_exists")
    clean, width, height = await asyncio.to_thread(clean_image, data, kind)
    key = f"vouchers/complaints/{row.id}/{uuid.uuid4()}.{EXTENSIONS[kind]}"
    await storage.put(key, clean, kind)
    row.photo_key, row.photo_content_type, row.photo_size_bytes = key, kind, len(clean)
    row.photo_width, row.photo_height, row.photo_added_at, row.updated_at = width, height, now, now
    try:
        await session.flush()
    except Exception:
        await storage.delete(key)  # the row was not written: leave no blob behind
        raise
    return complaint_answer(row, principal=principal, now=now)


async def read_complaint_photo(session: AsyncSession, *, principal: Principal, storage: BlobStorage,
                               complaint_id: uuid.UUID) -> tuple[bytes, str]:
    """The photo's bytes for whoever may read the complaint (others, and a complaint without a
    photo: 404)."""
    row = (await session.execute(_listed(principal).where(ComplaintRow.id == complaint_id))).scalar_one_or_none()
    if row is None or row.photo_key is None:
        raise NotFound("没有找到该照片", complaint_id=str(complaint_id))
    try:
        return await storage.get(row.photo_key), row.photo_content_type
    except KeyError:
        raise NotFound("照片文件已不存在", complaint_id=str(complaint_id)) from None
