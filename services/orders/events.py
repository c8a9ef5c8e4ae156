"""Events the orders service publishes on `youfu.orders` (key: order id; a stay's and an alarm's
events: elder id), and the counters' meals on `youfu.meals` (key: elder id; D67: the busiest stream,
read by no other service, kept off the topic the others consume)."""
from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import event_type, make_event
from shared.fast_sql import FastTx
from shared.outbox import add_event

TOPIC = "youfu.orders"
MEALS_TOPIC = "youfu.meals"  # D67
SOURCE = "/youfu/orders"


def publish(session: AsyncSession, data: BaseModel) -> None:
    """Queue an event in the caller's transaction (sent only if it commits)."""
    add_event(session, make_event(data, source=SOURCE))


async def publish_fast(tx: FastTx, data: BaseModel) -> None:
    """`publish` for the paths on `shared.fast_sql`."""
    await tx.add_event(make_event(data, source=SOURCE))


class OrderRef(BaseModel):
    order_id: UUID
    elder_id: UUID
    provider_id: UUID | None = None
    district_code: str | None = None


@event_type("youfu.order.placed.v1", topic=TOPIC, key="order_id")
class OrderPlaced(OrderRef):
    """An order was placed, priced and held."""

    service_code: str
    price_fen: int
    voucher_fen: int
    voucher_kind: str | None = None
    hold_id: UUID | None = None
    kind: str = "on_demand"  # on_demand | recurring | visit
    window_start: str | None = None  # ISO instant with offset


@event_type("youfu.order.accepted.v1", topic=TOPIC, key="order_id")
class OrderAccepted(OrderRef):
    """A provider accepted the offer and assigned a caregiver."""

    caregiver_id: UUID | None = None
    # when the service starts: the caregiver's daily load counts on that day, not the day of accepting
    window_start: str | None = None  # ISO instant with offset


@event_type("youfu.order.completed.v1", topic=TOPIC, key="order_id")
class OrderCompleted(OrderRef):
    """The caregiver checked out; vouchers capture the hold on this event."""

    hold_id: UUID | None = None
    service_code: str
    amount_fen: int
    voucher_fen: int
    duration_min: int
    checkin_distance_m: float | None = None
    caregiver_id: UUID | None = None
    completed_at: str
    # how the service was confirmed at the door (issue 24): code | family | unconfirmed (with the
    # caregiver's reason); absent on orders completed before confirmation existed
    confirmation: str | None = None
    unconfirmed_reason: str | None = None


@event_type("youfu.order.cancelled.v1", topic=TOPIC, key="order_id")
class OrderCancelled(OrderRef):
    """The order was cancelled; vouchers release its hold."""

    hold_id: UUID | None = None
    reason: str
    cancelled_by: str | None = None  # elder | family | platform


@event_type("youfu.order.reviewed.v1", topic=TOPIC, key="order_id")
class OrderReviewed(OrderRef):
    """The elder or family rated the service."""

    caregiver_id: UUID | None = None
    rating: int
    comment: str | None = None


@event_type("youfu.order.returned.v1", topic=TOPIC, key="order_id")
class OrderReturned(OrderRef):
    """The provider that accepted gave the order back before check-in; it is dispatched again
    (and this provider is not asked again). Its caregiver's load for the order ends here."""

    caregiver_id: UUID | None = None
    reason: str


@event_type("youfu.order.offered.v1", topic=TOPIC, key="order_id")
class OrderOffered(OrderRef):
    """Dispatch offered the order to one provider (one event per offer): the provider desk's
    "new offer" notice."""

    service_code: str
    window_start: str  # ISO instant with offset
    offer_deadline: str


@event_type("youfu.order.en_route.v1", topic=TOPIC, key="order_id")
class OrderEnRoute(OrderRef):
    """The assigned caregiver set off to the elder (tapped 出发)."""

    caregiver_id: UUID | None = None
    at: str


@event_type("youfu.order.checked_in.v1", topic=TOPIC, key="order_id")
class OrderCheckedIn(OrderRef):
    """The caregiver arrived and checked in at the door (geo-checked)."""

    caregiver_id: UUID | None = None
    at: str
    distance_m: int


@event_type("youfu.order.no_show.v1", topic=TOPIC, key="order_id")
class OrderNoShow(OrderRef):
    """The caregiver waited at the door and the elder was not at home: the order ended as no-show.
    Nothing is captured: vouchers releases the hold as on a cancellation."""

    hold_id: UUID | None = None
    caregiver_id: UUID | None = None
    at: str


@event_type("youfu.order.unmatched.v1", topic=TOPIC, key="order_id")
class OrderUnmatched(OrderRef):
    """The service time passed and no provider took the order (it is also cancelled by the
    platform, `order.cancelled`, which gives the hold back)."""

    service_code: str
    window_start: str


class StayRef(BaseModel):
    """What every stay event carries, so vouchers can price bed days without asking anyone: the
    bed, the care level and the provider's daily rate in force (taken from providers at admission
    and at a transfer). `on` is the local day (YYYY-MM-DD) the movement happened."""

    stay_id: UUID
    elder_id: UUID
    application_id: UUID
    provider_id: UUID
    bed_id: UUID
    care_level: str  # self_care | nursing | dementia
    daily_rate_fen: int
    kind: str  # long_term | respite
    district_code: str | None = None
    on: str


@event_type("youfu.stay.admitted.v1", topic=TOPIC, key="elder_id")
class StayAdmitted(StayRef):
    """The elder moved into the reserved bed."""

    planned_end: str | None = None  # respite: the planned last day


@event_type("youfu.stay.left.v1", topic=TOPIC, key="elder_id")
class StayLeft(StayRef):
    """The elder went on leave (home or hospital), `from`..`to` both counted; `on` = `from`."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)  # "from" is a Python keyword
    leave_from: str = Field(alias="from")
    leave_to: str = Field(alias="to")
    leave_kind: str  # home | hospital


@event_type("youfu.stay.returned.v1", topic=TOPIC, key="elder_id")
class StayReturned(StayRef):
    """The elder came back from leave on `on`."""


@event_type("youfu.stay.transferred.v1", topic=TOPIC, key="elder_id")
class StayTransferred(StayRef):
    """The elder moved to another bed (of this or another institution) on `on`: `provider_id`,
    `bed_id` and `daily_rate_fen` are the new ones, the `from_*` fields the ones left."""

    from_provider_id: UUID
    from_bed_id: UUID
    from_daily_rate_fen: int


@event_type("youfu.stay.ended.v1", topic=TOPIC, key="elder_id")
class StayEnded(StayRef):
    """The stay ended on `on`: discharged (the desk's reason) or by the elder's death (死亡)."""

    reason: str
    status: str  # discharged | ended_by_death


class MealRef(BaseModel):
    """What both meal events carry (issue 23): enough for vouchers' anomaly rules (same elder at
    two points, a point past its capacity, typed rather than scanned) without asking orders.
    `meal_date` is the local day (YYYY-MM-DD)."""

    redemption_id: UUID
    elder_id: UUID
    provider_id: UUID
    meal: str  # lunch | dinner
    meal_date: str
    price_fen: int
    subsidy_fen: int
    method: str  # scanned | typed
    static: bool  # the printed card rather than the phone's code
    scanned_at: str | None = None  # ISO instant with offset


@event_type("youfu.meal.redeemed.v1", topic=MEALS_TOPIC, key="elder_id")
class MealRedeemed(MealRef):
    """A meal was taken at a meal point's counter; vouchers has already captured the subsidy."""


@event_type("youfu.meal.undone.v1", topic=MEALS_TOPIC, key="elder_id")
class MealUndone(MealRef):
    """The counter undid a meal within the undo window; vouchers has already given the subsidy back."""


class AlarmRef(BaseModel):
    """What every alarm event carries (issue 25); key: the elder, so one elder's alarms stay in order."""

    alarm_id: UUID
    elder_id: UUID
    district_code: str | None = None


@event_type("youfu.alarm.raised.v1", topic=TOPIC, key="elder_id")
class AlarmRaised(AlarmRef):
    """An elder's emergency call: the caregivers in `caregiver_ids` are alerted at once (the
    gateway's live notices deliver it). Sent again, same alarm_id, when the elder presses again
    after the join window and nobody has acknowledged yet (`renewed`)."""

    provider_ids: list[UUID]
    caregiver_ids: list[UUID]
    lat: float | None = None
    lng: float | None = None
    raised_at: str  # ISO instant with offset
    source: str  # button | device | operator
    renewed: bool = False


@event_type("youfu.alarm.acknowledged.v1", topic=TOPIC, key="elder_id")
class AlarmAcknowledged(AlarmRef):
    """A caregiver said "我去"; the other alerted caregivers are told who went."""

    caregiver_id: UUID
    caregiver_name: str | None = None
    provider_id: UUID | None = None
    at: str


@event_type("youfu.alarm.escalated.v1", topic=TOPIC, key="elder_id")
class AlarmEscalated(AlarmRef):
    """Nobody acknowledged in time (or nobody could be alerted): the operator desk and the district
    officer take it. `reason`: not_acknowledged | no_caregiver."""

    at: str
    reason: str


@event_type("youfu.alarm.closed.v1", topic=TOPIC, key="elder_id")
class AlarmClosed(AlarmRef):
    """The alarm ended with an outcome: resolved_on_site | called_120 | false_alarm."""

    outcome: str
    at: str
    order_id: UUID | None = None
