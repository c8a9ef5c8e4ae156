"""Tables of the orders database (the kernel's outbox, inbox, dead letters and idempotency
keys are created by its migrations too).

Money is integer fen. Times are UTC-aware. States and outcomes are stored as the string values
of the enums in `rules/lifecycle.py` and `rules/dispatch.py`, so the pure rules and the rows speak the same words.

Dispatch is restart-proof because everything it needs is a row: each offer keeps its deadline
and outcome, and `orders.next_dispatch_at` says when the dispatcher must look at the order again
(the earliest open deadline, "now" after a decline, or the next retry of an unmatched order).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import make_base

Base = make_base("orders")

Fen = sa.BigInteger


class ElderRow(Base):
    """This service's copy of what assessment publishes about an elder (home, district,
    special hardship); filled from `elder.*` events, or fetched once when an order comes first."""

    __tablename__ = "elders"
    elder_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    district_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    street: Mapped[str | None] = mapped_column(sa.String(100))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    special_hardship: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")  # active, deceased, moved_away
    source: Mapped[str] = mapped_column(sa.String(10))  # event | fetched
    updated_at: Mapped[datetime]


class OrderRow(Base):
    __tablename__ = "orders"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), default="on_demand")  # on_demand | recurring | visit
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    street: Mapped[str | None] = mapped_column(sa.String(100))
    service_code: Mapped[str] = mapped_column(sa.String(50))
    service_name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str | None] = mapped_column(sa.String(20))
    min_duration_min: Mapped[int | None]
    # money: price = voucher share + what the elder pays
    price_fen: Mapped[int] = mapped_column(Fen)
    voucher_fen: Mapped[int] = mapped_column(Fen, default=0)
    elder_fen: Mapped[int] = mapped_column(Fen)
    payment: Mapped[str] = mapped_column(sa.String(20))  # community | mutual_aid | institutional | self_pay
    hold_id: Mapped[uuid.UUID | None]
    share_bp: Mapped[int | None]
    captured_fen: Mapped[int | None] = mapped_column(Fen)  # from voucher.redeemed
    # when and where
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    address: Mapped[str] = mapped_column(sa.String(300))
    lat: Mapped[float]
    lon: Mapped[float]
    notes: Mapped[str] = mapped_column(sa.String(500), default="")
    # life cycle
    state: Mapped[str] = mapped_column(sa.String(20))
    dispatch_mode: Mapped[str] = mapped_column(sa.String(12))  # sequential | grab
    grab_size: Mapped[int] = mapped_column(default=1)
    next_dispatch_at: Mapped[datetime | None]
    unmatched_count: Mapped[int] = mapped_column(default=0)  # rounds that found nobody
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    provider_name: Mapped[str | None] = mapped_column(sa.String(200))
    caregiver_id: Mapped[uuid.UUID | None]
    caregiver_name: Mapped[str | None] = mapped_column(sa.String(100))
    completed_event_sent: Mapped[bool] = mapped_column(default=False)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(20))  # lifecycle.Actor value
    dispute_reason: Mapped[str | None] = mapped_column(sa.String(500))
    dispute_state_before: Mapped[str | None] = mapped_column(sa.String(20))
    resolution: Mapped[str | None] = mapped_column(sa.String(20))
    recurring_rule_id: Mapped[uuid.UUID | None]
    # the provider a care plan chose: dispatch offers it first when it has someone qualified
    preferred_provider_id: Mapped[uuid.UUID | None]
    placed_by: Mapped[str] = mapped_column(sa.String(100))
    placed_by_role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    __table_args__ = (
        sa.Index("ix_orders_due", "state", "next_dispatch_at"),
        sa.Index("ix_orders_district_state", "district_code", "state"),
        sa.Index("ix_orders_kind_completed", "kind", "completed_at"),
    )


class OfferRow(Base):
    """One offer of one order to one provider, with its stored deadline and outcome."""

    __tablename__ = "offers"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    provider_id: Mapped[uuid.UUID]
    provider_name: Mapped[str | None] = mapped_column(sa.String(200))
    caregiver_id: Mapped[uuid.UUID | None]  # the one the search suggested; accept may name another
    caregiver_name: Mapped[str | None] = mapped_column(sa.String(100))
    distance_m: Mapped[float | None]
    score: Mapped[float | None]
    rank: Mapped[int]
    offered_at: Mapped[datetime]
    deadline: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(sa.String(12))  # dispatch.OfferOutcome values
    answered_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(sa.String(500))  # the provider's decline reason
    __table_args__ = (
        sa.Index("ix_offers_provider_open", "provider_id", "outcome", "deadline"),
        # the database itself refuses a second winner for one order
        sa.Index("uq_offers_one_accepted", "order_id", unique=True,
                 postgresql_where=sa.text("outcome = 'accepted'"), sqlite_where=sa.text("outcome = 'accepted'")),
    )


class ServiceRecordRow(Base):
    """Check-in and check-out of one order: where, how far from the address, why if too far."""

    __tablename__ = "service_records"
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id"), primary_key=True)
    caregiver_id: Mapped[uuid.UUID | None]
    checked_in_by: Mapped[str] = mapped_column(sa.String(100))
    checkin_at: Mapped[datetime]
    checkin_lat: Mapped[float]
    checkin_lon: Mapped[float]
    checkin_distance_m: Mapped[int]
    checkin_limit_m: Mapped[int]
    checkin_outcome: Mapped[str] = mapped_column(sa.String(12))  # accepted | exception
    exception_reason: Mapped[str | None] = mapped_column(sa.String(500))
    checkout_at: Mapped[datetime | None]
    checked_out_by: Mapped[str | None] = mapped_column(sa.String(100))
    record: Mapped[str | None] = mapped_column(sa.Text)  # what was done
    duration_min: Mapped[int | None]


class ReviewRow(Base):
    """One review per order (the primary key is what refuses rating twice)."""

    __tablename__ = "reviews"
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id"), primary_key=True)
    elder_id: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    caregiver_id: Mapped[uuid.UUID | None]
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(sa.String(1000), default="")
    reviewed_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]


class RecurringRuleRow(Base):
    """E.g. 助餐 on weekdays at 11:00 for 8 weeks; the spawner places each occurrence a day ahead."""

    __tablename__ = "recurring_rules"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    service_code: Mapped[str] = mapped_column(sa.String(50))
    weekdays: Mapped[list] = mapped_column(sa.JSON)  # ISO weekdays, 1 = Monday
    local_time: Mapped[str] = mapped_column(sa.String(5))  # "11:00", Asia/Shanghai wall clock
    duration_min: Mapped[int]  # length of each occurrence's window
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    skip_dates: Mapped[list] = mapped_column(sa.JSON, default=list)  # ISO dates
    extra_dates: Mapped[list] = mapped_column(sa.JSON, default=list)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    notes: Mapped[str] = mapped_column(sa.String(500), default="")
    payment: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # active | paused | ended
    # why the platform ended it ("老人已故" / "老人已迁出"); None when a person ended it
    end_reason: Mapped[str | None] = mapped_column(sa.String(100))
    # days of the month (a care plan's "N times a month"), beside or instead of weekdays
    month_days: Mapped[list | None] = mapped_column(sa.JSON, default=list)
    # a rule made from a care plan's item (`care_plans.py`): one rule per item, however often the
    # activation arrives (the unique key); the item's provider is offered each order first
    source_plan_id: Mapped[uuid.UUID | None]
    source_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    preferred_provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_by_role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("source_plan_id", "source_item_id", name="uq_recurring_rule_plan_item"),)


class RecurringOccurrenceRow(Base):
    """One occurrence of a rule that the spawner handled; the unique key makes spawning once."""

    __tablename__ = "recurring_occurrences"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    rule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("recurring_rules.id"))
    occurs_at: Mapped[datetime]
    order_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(sa.String(10))  # placed | failed
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("rule_id", "occurs_at", name="uq_recurring_occurrence"),)


class VisitPlanRow(Base):
    """One planning run of the monthly 探访关爱 visits (who asked, for which scope)."""

    __tablename__ = "visit_plans"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)  # YYYY-MM, Asia/Shanghai
    district_code: Mapped[str | None] = mapped_column(sa.String(12))  # None: the whole city
    planned_count: Mapped[int]
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]


class PlannedVisitRow(Base):
    """One special-hardship elder due one visit in one month: the register coverage counts."""

    __tablename__ = "planned_visits"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    elder_id: Mapped[uuid.UUID]
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    street: Mapped[str | None] = mapped_column(sa.String(100))
    scheduled_at: Mapped[datetime]
    order_id: Mapped[uuid.UUID | None]
    plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("visit_plans.id"))
    error: Mapped[str | None] = mapped_column(sa.String(500))  # why no order could be placed
    created_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("month", "elder_id", name="uq_planned_visit_month_elder"),
        sa.Index("ix_planned_visits_month_district", "month", "district_code"),
    )


class StayApplicationRow(Base):
    """An application for a place in an institution (issue 22): submitted by the elder's side,
    accepted by the institution's desk with a bed that providers then holds for it (`bed_id`),
    or declined; admitted once the stay begins."""

    __tablename__ = "stay_applications"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    care_level: Mapped[str] = mapped_column(sa.String(12))  # self_care | nursing | dementia
    kind: Mapped[str] = mapped_column(sa.String(10))  # long_term | respite
    planned_start: Mapped[date] = mapped_column(sa.Date)
    planned_end: Mapped[date | None] = mapped_column(sa.Date)  # respite only
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(10))  # submitted | accepted | declined | admitted
    bed_id: Mapped[uuid.UUID | None]  # reserved at providers on accepting
    decline_reason: Mapped[str | None] = mapped_column(sa.String(500))
    applied_by: Mapped[str] = mapped_column(sa.String(100))
    applied_by_role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StayRow(Base):
    """An elder living in an institution's bed, from admission to discharge or death. At most one
    open stay per elder: the partial unique index is the guard that holds under concurrency."""

    __tablename__ = "stays"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("stay_applications.id"), unique=True)
    elder_id: Mapped[uuid.UUID]
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_name: Mapped[str | None] = mapped_column(sa.String(200))
    bed_id: Mapped[uuid.UUID]
    care_level: Mapped[str] = mapped_column(sa.String(12))
    kind: Mapped[str] = mapped_column(sa.String(10))  # long_term | respite
    daily_rate_fen: Mapped[int] = mapped_column(Fen)  # the provider's rate for the care level, at admission/transfer
    status: Mapped[str] = mapped_column(sa.String(16))  # rules/stays.StayStatus
    admitted_on: Mapped[date] = mapped_column(sa.Date)
    planned_end: Mapped[date | None] = mapped_column(sa.Date)  # respite
    since: Mapped[date] = mapped_column(sa.Date)  # the day of the last movement (admission, return, transfer)
    leave_kind: Mapped[str | None] = mapped_column(sa.String(10))  # the current leave: home | hospital
    leave_from: Mapped[date | None] = mapped_column(sa.Date)
    leave_to: Mapped[date | None] = mapped_column(sa.Date)
    ended_on: Mapped[date | None] = mapped_column(sa.Date)  # None while open
    end_reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        # one open stay per elder; also the index placement's check reads (community orders)
        sa.Index("uq_stays_one_open_per_elder", "elder_id", unique=True,
                 postgresql_where=sa.text("ended_on IS NULL"), sqlite_where=sa.text("ended_on IS NULL")),
    )


class StayMovementRow(Base):
    """The stay's history as it happened: admission, each leave and return, transfers, the end."""

    __tablename__ = "stay_movements"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stay_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("stays.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # admitted | left | returned | transferred | ended
    on: Mapped[date] = mapped_column(sa.Date)
    leave_kind: Mapped[str | None] = mapped_column(sa.String(10))
    leave_to: Mapped[date | None] = mapped_column(sa.Date)
    provider_id: Mapped[uuid.UUID]
    bed_id: Mapped[uuid.UUID]
    daily_rate_fen: Mapped[int] = mapped_column(Fen)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    recorded_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]


# ---- meals at the counter (issue 23) ----------------------------------------------------------


class MealCardRow(Base):
    """A printed meal card (static code) for an elder without a phone. Issuing a new card revokes
    the elder's earlier ones; the code carries `serial`, looked up at the counter."""

    __tablename__ = "meal_cards"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(12), unique=True)  # the code's nonce, 12 hex digits
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(sa.String(100))
    revoked_at: Mapped[datetime | None]


class MealRedemptionRow(Base):
    """One meal taken at a counter. `code_id` (a dynamic code's elder + nonce) is unique: a code
    makes one meal however often it is sent; card meals leave it empty."""

    __tablename__ = "meal_redemptions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # also vouchers' meal-subsidy key
    code_id: Mapped[str | None] = mapped_column(sa.String(44), unique=True)
    card_id: Mapped[uuid.UUID | None]
    elder_id: Mapped[uuid.UUID]
    elder_name: Mapped[str | None] = mapped_column(sa.String(100))
    district_code: Mapped[str | None] = mapped_column(sa.String(12))  # the meal point's
    provider_id: Mapped[uuid.UUID]
    provider_name: Mapped[str | None] = mapped_column(sa.String(200))
    meal: Mapped[str] = mapped_column(sa.String(8))  # lunch | dinner
    meal_date: Mapped[date] = mapped_column(sa.Date)  # local day of the scan
    price_fen: Mapped[int] = mapped_column(Fen)
    subsidy_fen: Mapped[int] = mapped_column(Fen)
    self_fen: Mapped[int] = mapped_column(Fen)
    tier: Mapped[str | None] = mapped_column(sa.String(40))  # vouchers' subsidy tier
    reason_zh: Mapped[str | None] = mapped_column(sa.String(200))  # vouchers' words when the subsidy is 0 or cut
    method: Mapped[str] = mapped_column(sa.String(8))  # scanned | typed
    static: Mapped[bool]
    scanned_at: Mapped[datetime]
    redeemed_at: Mapped[datetime]
    redeemed_by: Mapped[str] = mapped_column(sa.String(100))
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(sa.String(100))
    __table_args__ = (
        sa.Index("ix_meal_redemptions_elder_day", "elder_id", "meal_date"),
        sa.Index("ix_meal_redemptions_provider_day", "provider_id", "meal_date"),
        sa.Index("ix_meal_redemptions_day", "meal_date"),
    )


# ---- supervision at the door (issue 24) -------------------------------------------------------


class DoorRecordRow(Base):
    """What happened at the door of one order besides check-in and check-out: the caregiver set
    off (出发), wrong confirmation codes typed (and the lock), the family's remote confirmation,
    how the check-out was confirmed, and "老人不在家". The code itself is never stored (derived
    with HMAC, `rules/door.py`)."""

    __tablename__ = "door_records"
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id"), primary_key=True)
    elder_id: Mapped[uuid.UUID]
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    en_route_at: Mapped[datetime | None]
    en_route_by: Mapped[str | None] = mapped_column(sa.String(100))
    code_attempts: Mapped[int] = mapped_column(default=0)  # wrong codes typed
    code_locked_at: Mapped[datetime | None]
    family_confirmed_at: Mapped[datetime | None]
    family_confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    confirmation: Mapped[str | None] = mapped_column(sa.String(12))  # code | family | unconfirmed (at check-out)
    unconfirmed_reason: Mapped[str | None] = mapped_column(sa.String(500))
    no_show_at: Mapped[datetime | None]
    no_show_by: Mapped[str | None] = mapped_column(sa.String(100))
    __table_args__ = (sa.Index("ix_door_records_no_show", "district_code", "no_show_at"),)


class OrderPhotoRow(Base):
    """A photo taken at check-in or check-out: re-encoded without metadata, kept in the blob
    store (`shared/storage.py`) under `blob_key`; served only within the order's scope."""

    __tablename__ = "order_photos"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(10))  # checkin | checkout
    blob_key: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(20))  # image/jpeg | image/png
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    taken_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
