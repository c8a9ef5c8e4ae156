"""Routes of one-key emergency alarms (issue 25): the elder's button and a home device's press, the
lists (the caregiver's, the desk's `?state=escalated`), "我去", at the door, closing, an order made
from an alarm, the month's figures by district, and the officers' home devices."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response

from services.orders.alarms import devices, raising, response
from services.orders.runtime import OrdersRuntime, Runtime
from services.orders.schemas import (
    AlarmCloseIn,
    AlarmDeviceIn,
    AlarmDeviceOut,
    AlarmIn,
    AlarmOrderIn,
    AlarmOut,
    AlarmReportOut,
    AlarmStateName,
    DeviceAlarmIn,
    OrderOut,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, PageOffset
from shared.idempotency import run_idempotent

router = APIRouter(tags=["alarms"])
DeviceToken = Annotated[str | None, Header(alias="X-Device-Token", max_length=200,
                                           description="呼叫终端或手表的设备令牌（民政办理时发放）")]


async def _raise(ctx, rt: OrdersRuntime, press: raising.Press, *, key: str | None, scope: str,
                 http: Response) -> dict:
    """The press's one transaction (under the Idempotency-Key, when sent); the contacts are told
    once a new alarm is committed."""
    now = ctx.now()
    created: list[raising.Raised] = []

    async def work(session) -> tuple[int, dict]:
        raised = await raising.raise_alarm(session, press=press, now=now)
        created.append(raised)
        return (201 if raised.created else 200), raised.answer

    status, answer, _ = await run_idempotent(ctx.db, key=key, scope=scope,
                                             body={"elder_id": str(press.elder.elder_id), "lat": press.lat,
                                                   "lon": press.lon}, work=work)
    if created and created[-1].created:  # (the last try is the one that committed)
        rt.run_soon(raising.tell_contacts(rt, elder_id=press.elder.elder_id, elder_name=press.elder.name,
                                          address=press.elder.address, raised_at=now))
    http.status_code = status
    return answer


@router.post("/elders/{elder_id}/alarms", status_code=201, response_model=AlarmOut,
             summary="紧急呼叫（老人本人、绑定家属，或坐席/民政代报）；一分钟内再按并入同一呼叫（200）")
async def raise_alarm(elder_id: UUID, body: AlarmIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                      http: Response, idempotency_key: IdempotencyKey) -> dict:
    press = await raising.prepare_press(rt, principal=principal, elder_id=elder_id, lat=body.lat, lon=body.lon,
                                        now=ctx.now())
    return await _raise(ctx, rt, press, key=idempotency_key, scope=f"{principal.user_id}:POST:/elders/{elder_id}/alarms",
                        http=http)


@router.post("/device/alarms", status_code=201, response_model=AlarmOut,
             summary="呼叫终端、手表发起紧急呼叫（请求头 X-Device-Token；只能为绑定的老人呼叫）")
async def raise_device_alarm(body: DeviceAlarmIn, ctx: Ctx, rt: Runtime, http: Response, token: DeviceToken = None,
                             idempotency_key: IdempotencyKey = None) -> dict:
    device = await raising.device_of(rt, token=token, elder_id=body.elder_id)
    press = await raising.prepare_press(rt, principal=None, elder_id=device.elder_id, lat=body.lat, lon=body.lon,
                                        now=ctx.now(), device=device)
    return await _raise(ctx, rt, press, key=idempotency_key, scope=f"device:{device.id}:POST:/device/alarms",
                        http=http)


@router.get("/alarms", response_model=list[AlarmOut],
            summary="紧急呼叫列表（按角色：本人的、收到的、本服务商的、本辖区的；state=escalated 为坐席待办）")
async def list_alarms(ctx: Ctx, principal: CurrentPrincipal, state: AlarmStateName | None = None,
                      open: bool = Query(False, description="只看未结束的"), elder_id: UUID | None = None,
                      limit: int = Query(50, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await response.list_alarms(s, principal=principal, state=state, open_only=open, elder_id=elder_id,
                                          limit=limit, offset=offset, now=ctx.now())


@router.get("/alarms/report", response_model=AlarmReportOut,
            summary="紧急呼叫月度统计：按辖区的呼叫数、升级数、结果，及 3 分钟响应、30 分钟到达的达标情况")
async def alarm_report(ctx: Ctx, principal: CurrentPrincipal, month: str = Query(pattern=r"^\d{4}-\d{2}$"),
                       district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await response.alarm_report(s, principal=principal, month=month, district_code=district_code)


@router.get("/alarms/{alarm_id}", response_model=AlarmOut, summary="紧急呼叫详情（他人的呼叫返回 404）")
async def read_alarm(alarm_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as s:
        return await response.read_alarm(s, principal=principal, alarm_id=alarm_id, now=ctx.now())


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut,
             summary="护理员响应「我去」（只有一人成功，其他人得到 409：已由某某前往）")
async def acknowledge(alarm_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await response.acknowledge_alarm(s, principal=principal, alarm_id=alarm_id, now=ctx.now())


@router.post("/alarms/{alarm_id}/arrive", response_model=AlarmOut, summary="前往的护理员登记已到达")
async def arrive(alarm_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await response.arrive_at_alarm(s, principal=principal, alarm_id=alarm_id, now=ctx.now())


@router.post("/alarms/{alarm_id}/close", response_model=AlarmOut,
             summary="结束呼叫并记录结果（前往的护理员、坐席或民政）：现场已处置 / 已拨打 120 / 误报")
async def close(alarm_id: UUID, body: AlarmCloseIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await response.close_alarm(s, principal=principal, alarm_id=alarm_id, outcome=body.outcome,
                                          note=body.note, now=ctx.now())


@router.post("/alarms/{alarm_id}/orders", status_code=201, response_model=OrderOut,
             summary="由紧急呼叫生成一张普通订单（按普通订单付费与派单；每个呼叫一张）")
async def order_from_alarm(alarm_id: UUID, body: AlarmOrderIn, ctx: Ctx, rt: Runtime,
                           principal: CurrentPrincipal) -> dict:
    return await response.order_from_alarm(rt, principal=principal, alarm_id=alarm_id, service_code=body.service_code,
                                           payment=body.payment, notes=body.notes, now=ctx.now())


@router.post("/elders/{elder_id}/alarm-devices", status_code=201, response_model=AlarmDeviceOut,
             summary="为老人办理呼叫终端或手表（民政；令牌只显示这一次）")
async def issue_device(elder_id: UUID, body: AlarmDeviceIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await devices.issue_device(s, principal=principal, elder_id=elder_id, label=body.label, now=ctx.now())


@router.get("/elders/{elder_id}/alarm-devices", response_model=list[AlarmDeviceOut], summary="老人的呼叫设备（民政）")
async def list_devices(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await devices.list_devices(s, principal=principal, elder_id=elder_id)


@router.post("/alarm-devices/{device_id}/revoke", response_model=AlarmDeviceOut, summary="停用呼叫设备（民政）")
async def revoke_device(device_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await devices.revoke_device(s, principal=principal, device_id=device_id, now=ctx.now())
