"""Tables of the vouchers database (the kernel's outbox, inbox, dead letters and idempotency
keys are created by its migrations too).

Money is integer fen in BigInteger columns. The ledger is two tables: `ledger_transfers` is the
append-only journal (migration 0002 adds triggers that refuse UPDATE and DELETE on it), and
`ledger_accounts` keeps each account's four running sums, written only together with the
transfers that change them, so `GET /ledger/check` can prove they equal the journal.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import make_base

Base = make_base("vouchers")

Fen = sa.BigInteger
SeqId = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


class PolicyVersionRow(Base):
    """Every version an administrator ever submitted; the one in force is chosen by date."""

    __tablename__ = "policy_versions"
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    effective_from: Mapped[date] = mapped_column(sa.Date, index=True)
    document: Mapped[dict] = mapped_column(sa.JSON)  # PolicyVersion.model_dump(mode="json")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]


class ElderRow(Base):
    """This service's own copy of what the assessment service publishes about one elder.
    Fields are nullable because an assessment may arrive before the registration."""

    __tablename__ = "elders"
    elder_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    street: Mapped[str | None] = mapped_column(sa.String(100))
    economic_status: Mapped[str | None] = mapped_column(sa.String(20))
    living_situation: Mapped[str | None] = mapped_column(sa.String(20))
    special_hardship: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    grade: Mapped[int | None]
    assessment_id: Mapped[uuid.UUID | None]
    graded_at: Mapped[datetime | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    departed_on: Mapped[date | None] = mapped_column(sa.Date)  # death or moving away, for the audit
    birth_date: Mapped[date | None] = mapped_column(sa.Date)  # the meal subsidy's age tier
    updated_at: Mapped[datetime]


class VoucherRow(Base):
    """One voucher per elder, kind and month: the unique key is what makes issuing idempotent."""

    __tablename__ = "vouchers"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(sa.String(20))
    month: Mapped[str] = mapped_column(sa.String(7))
    face_value_fen: Mapped[int] = mapped_column(Fen)
    share_bp: Mapped[int]
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    policy_version: Mapped[int]
    issue_transfer_id: Mapped[str] = mapped_column(sa.String(64))
    run_id: Mapped[uuid.UUID | None]  # None: issued at once on an eligibility event
    issued_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("elder_id", "kind", "month", name="uq_vouchers_elder_kind_month"),
        sa.Index("ix_vouchers_month_district", "month", "district_code"),
    )


class LedgerAccountRow(Base):
    __tablename__ = "ledger_accounts"
    code: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str | None] = mapped_column(sa.String(20))
    elder_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    month: Mapped[str | None] = mapped_column(sa.String(7))
    provider_id: Mapped[uuid.UUID | None]
    debits_pending: Mapped[int] = mapped_column(Fen, default=0)
    debits_posted: Mapped[int] = mapped_column(Fen, default=0)
    credits_pending: Mapped[int] = mapped_column(Fen, default=0)
    credits_posted: Mapped[int] = mapped_column(Fen, default=0)
    __table_args__ = (
        # The last line of defence under any bug: no account goes past zero on its normal side.
        sa.CheckConstraint(
            "(type = 'funding' AND debits_posted >= credits_posted + credits_pending)"
            " OR (type <> 'funding' AND credits_posted >= debits_posted + debits_pending)",
            name="ck_ledger_accounts_not_overdrawn"),
        sa.Index("ix_ledger_accounts_type_month", "type", "month"),
    )


class TransferRow(Base):
    """The journal. `pending_id` is unique, so a hold can be resolved (captured or voided) once
    only even if every check above the database failed; `reverses_id` likewise for reversals."""

    __tablename__ = "ledger_transfers"
    seq: Mapped[int] = mapped_column(SeqId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    debit_account: Mapped[str] = mapped_column(sa.String(200), index=True)
    credit_account: Mapped[str] = mapped_column(sa.String(200), index=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    pending_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    reverses_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    elder_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    order_id: Mapped[uuid.UUID | None]
    provider_id: Mapped[uuid.UUID | None]
    memo: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="ck_ledger_transfers_positive"),)


class HoldRow(Base):
    """One per order. `id` is also the ledger HOLD transfer's id when the voucher pays anything;
    a hold whose voucher share is 0 fen has no transfer (the ledger books positive amounts only)."""

    __tablename__ = "holds"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    voucher_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(sa.String(20))
    month: Mapped[str] = mapped_column(sa.String(7))
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    service_code: Mapped[str] = mapped_column(sa.String(50))
    price_fen: Mapped[int] = mapped_column(Fen)
    voucher_fen: Mapped[int] = mapped_column(Fen)
    elder_fen: Mapped[int] = mapped_column(Fen)
    share_bp: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20))  # held → captured | released
    captured_fen: Mapped[int | None] = mapped_column(Fen)
    provider_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # when the orders service confirmed that this hold's order exists (services/vouchers/orphans.py)
    order_checked_at: Mapped[datetime | None]


class RedemptionRow(Base):
    """A captured hold with the facts of the service, for settlement, reports and anomaly rules."""

    __tablename__ = "redemptions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    hold_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    order_id: Mapped[uuid.UUID]
    elder_id: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID]
    caregiver_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(sa.String(20))
    month: Mapped[str] = mapped_column(sa.String(7))  # the voucher's month, not the completion's
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    service_code: Mapped[str] = mapped_column(sa.String(50))
    order_amount_fen: Mapped[int] = mapped_column(Fen)
    amount_fen: Mapped[int] = mapped_column(Fen)  # what the voucher paid
    duration_min: Mapped[int | None]
    checkin_distance_m: Mapped[float | None]
    latitude: Mapped[float | None]  # the elder's home, where the service took place
    longitude: Mapped[float | None]
    completed_at: Mapped[datetime]
    capture_transfer_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_redemptions_month_district", "month", "district_code"),
                      sa.Index("ix_redemptions_provider_month", "provider_id", "month"),
                      # recovery: an elder's captures, and the estimates' join of a death list
                      sa.Index("ix_redemptions_elder_id", "elder_id"))


class SpendSummaryRow(Base):
    """Spend per voucher month, district, kind, service item and provider: what the spend reports
    read instead of every redemption and reversal. Written only in the transaction that books the
    capture (a redemption) or the reversal it counts, so it always equals the journal; migration
    0003 fills it from the redemptions and reversals already booked. The journal stays append-only:
    this is a derived table, and `GET /ledger/check` compares it with the raw rows."""

    __tablename__ = "spend_summary"
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # the voucher's month
    district_code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)  # "" when unknown
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    service_code: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    redemption_count: Mapped[int] = mapped_column(sa.BigInteger)
    order_amount_fen: Mapped[int] = mapped_column(Fen)
    voucher_fen: Mapped[int] = mapped_column(Fen)
    reversed_fen: Mapped[int] = mapped_column(Fen)


class IssuanceRunRow(Base):
    __tablename__ = "issuance_runs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(12))  # None: the whole city
    trigger: Mapped[str] = mapped_column(sa.String(20))  # manual | scheduled
    # Set only on scheduled runs: unique, so two replicas' schedulers cannot both record one.
    scheduled_month: Mapped[str | None] = mapped_column(sa.String(7), unique=True)
    requested_by: Mapped[str] = mapped_column(sa.String(100))
    issued_count: Mapped[int]
    issued_fen: Mapped[int] = mapped_column(Fen)
    report: Mapped[dict] = mapped_column(sa.JSON)
    started_at: Mapped[datetime]


class MonthEndRunRow(Base):
    __tablename__ = "month_end_runs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    requested_by: Mapped[str] = mapped_column(sa.String(100))
    expired_count: Mapped[int]
    expired_fen: Mapped[int] = mapped_column(Fen)
    report: Mapped[dict] = mapped_column(sa.JSON)
    ran_at: Mapped[datetime]


class SettlementRow(Base):
    """A provider's statement for one month and one district (each district's bureau pays for
    its own elders). Drafts are recomputed by later month-end runs; confirmed ones are not."""

    __tablename__ = "settlements"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    district_code: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(20))  # draft → confirmed → paid
    redemption_count: Mapped[int]
    redeemed_fen: Mapped[int] = mapped_column(Fen)
    reversed_fen: Mapped[int] = mapped_column(Fen)
    net_fen: Mapped[int] = mapped_column(Fen)
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    confirmed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    settle_transfer_id: Mapped[str | None] = mapped_column(sa.String(64))
    # lines held out by an open return-visit finding (services/vouchers/return_visits.py)
    held_count: Mapped[int] = mapped_column(default=0, server_default="0")
    held_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("month", "provider_id", "district_code", name="uq_settlements_month_provider_district"),)


class SettlementLineRow(Base):
    __tablename__ = "settlement_lines"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    settlement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("settlements.id", ondelete="CASCADE"), index=True)
    service_code: Mapped[str] = mapped_column(sa.String(50))
    kind: Mapped[str] = mapped_column(sa.String(20))
    redemption_count: Mapped[int]
    redeemed_fen: Mapped[int] = mapped_column(Fen)
    reversed_fen: Mapped[int] = mapped_column(Fen)
    net_fen: Mapped[int] = mapped_column(Fen)


class AnomalyFindingRow(Base):
    __tablename__ = "anomaly_findings"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400), unique=True)  # rule:subject, stable across runs
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    rule: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(100))
    explanation: Mapped[str] = mapped_column(sa.Text)
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    provider_id: Mapped[uuid.UUID | None]
    elder_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # an elder's recovery findings
    redemption_ids: Mapped[list] = mapped_column(sa.JSON)
    amount_fen: Mapped[int] = mapped_column(Fen)  # for a recovery finding: the amount to recover
    status: Mapped[str] = mapped_column(sa.String(20))  # open | dismissed | actioned
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditorActionRow(Base):
    __tablename__ = "auditor_actions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    finding_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("anomaly_findings.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))  # dismiss | freeze_provider | reverse
    reason: Mapped[str] = mapped_column(sa.Text)
    actor_id: Mapped[str] = mapped_column(sa.String(100))
    actor_role: Mapped[str] = mapped_column(sa.String(20))
    transfer_ids: Mapped[list] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]


class ProviderFreezeRow(Base):
    """A provider whose settlement an auditor froze: its statements cannot be confirmed or paid."""

    __tablename__ = "provider_freezes"
    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    finding_id: Mapped[uuid.UUID | None]
    reason: Mapped[str] = mapped_column(sa.Text)
    frozen_by: Mapped[str] = mapped_column(sa.String(100))
    frozen_at: Mapped[datetime]


class ServiceMinimumRow(Base):
    """Minimum duration of each provider's catalogue item, copied from providers' events, for the
    'service shorter than the item's minimum' rule."""

    __tablename__ = "service_minimums"
    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    min_duration_min: Mapped[int]


class HomeBedRow(Base):
    """A 家庭养老床位 as the assessment service announces it (`youfu.homebed.opened/closed.v1`),
    for the audit rule 家庭养老床位本月无上门服务 (`rules/home_beds.py`). A close that arrives
    before its opening (a replayed dead letter) is kept with the opening's fields empty, so the
    late opening cannot reopen the bed."""

    __tablename__ = "home_beds"
    bed_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_id: Mapped[uuid.UUID | None]
    plan_id: Mapped[uuid.UUID | None]
    opened_on: Mapped[date | None] = mapped_column(sa.Date)
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    close_reason: Mapped[str | None] = mapped_column(sa.String(200))
    visits_per_week: Mapped[int | None]
    remote_monitoring: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class HomeBedVisitRow(Base):
    """A completed order of a home bed's provider for the bed's elder (from
    `youfu.order.completed.v1`, voucher-paid or not): a visit to the bed."""

    __tablename__ = "home_bed_visits"
    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID]
    completed_at: Mapped[datetime]
    completed_on: Mapped[date] = mapped_column(sa.Date)  # the Shanghai day
    __table_args__ = (sa.Index("ix_home_bed_visits_elder_day", "elder_id", "completed_on"),)

class StayRow(Base):
    """This service's copy of an institutional stay, kept from the orders service's `stay.*`
    events: what the monthly bed-day claims are computed from (services/vouchers/stay_claims.py)."""

    __tablename__ = "stays"
    stay_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # long_term | respite
    admitted_on: Mapped[date] = mapped_column(sa.Date)
    ended_on: Mapped[date | None] = mapped_column(sa.Date)  # discharge or death; not a billed day
    end_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # [{starts_on, provider_id, bed_id, care_level, daily_rate_fen}] in date order (a transfer adds one)
    beds: Mapped[list] = mapped_column(sa.JSON)
    leaves: Mapped[list] = mapped_column(sa.JSON)  # [{starts_on, ends_on (last day away or null), kind}]
    updated_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_stays_admitted_ended", "admitted_on", "ended_on"),)


class StayClaimRow(Base):
    """One stay's bed days in one institution and month: drafted → confirmed (the institution) →
    settled (approved by the district officer, the voucher part captured). A draft's voucher part
    is held in the elder's institutional wallet of the month (`hold_id`), so month-end expiry
    leaves it for the claim."""

    __tablename__ = "stay_claims"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stay_id: Mapped[uuid.UUID]
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    stay_kind: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(20))  # drafted | confirmed | settled
    first_day: Mapped[date] = mapped_column(sa.Date)
    last_day: Mapped[date] = mapped_column(sa.Date)
    present_days: Mapped[int]
    paid_leave_days: Mapped[int]
    unpaid_leave_days: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(Fen)
    voucher_fen: Mapped[int] = mapped_column(Fen)
    elder_fen: Mapped[int] = mapped_column(Fen)
    share_bp: Mapped[int]
    lines: Mapped[list] = mapped_column(sa.JSON)  # [{status, care_level, daily_rate_fen, days, amount_fen}]
    policy_version: Mapped[int]
    revision: Mapped[int]  # 1, then +1 each time a re-draft changes the figures
    hold_id: Mapped[uuid.UUID | None]  # None when the voucher pays nothing
    capture_transfer_id: Mapped[str | None] = mapped_column(sa.String(64))
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    confirmed_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(sa.String(100))
    approved_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("stay_id", "provider_id", "month", name="uq_stay_claims_stay_provider_month"),
        sa.Index("ix_stay_claims_month_district", "month", "district_code"),
    )


class MealSubsidyRow(Base):
    """One meal at a meal point's counter, as the orders service asked for its subsidy
    (services/vouchers/meal_subsidies.py), keyed by the orders service's redemption id: the same
    id again answers from here. A self-paid meal is kept too (the meal anomaly rules count every
    meal); a subsidised one has its voucher redemption (`voucher_redemption_id`). A reversal that
    comes before its meal leaves a row `reversed` with nothing paid, so the late meal pays nothing."""

    __tablename__ = "meal_subsidies"
    redemption_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID | None]
    provider_id: Mapped[uuid.UUID | None]
    meal_date: Mapped[date | None] = mapped_column(sa.Date)
    meal: Mapped[str | None] = mapped_column(sa.String(10))
    method: Mapped[str | None] = mapped_column(sa.String(10))  # scanned | typed
    price_fen: Mapped[int] = mapped_column(Fen)
    subsidy_fen: Mapped[int] = mapped_column(Fen)
    tier: Mapped[str] = mapped_column(sa.String(20))
    tier_name: Mapped[str] = mapped_column(sa.String(40))
    reason_zh: Mapped[str] = mapped_column(sa.String(200))
    month: Mapped[str | None] = mapped_column(sa.String(7))
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    policy_version: Mapped[int | None]
    voucher_redemption_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(sa.String(20))  # granted | reversed
    served_at: Mapped[datetime]
    reversed_at: Mapped[datetime | None]
    __table_args__ = (sa.Index("ix_meal_subsidies_elder_day", "elder_id", "meal_date"),
                      sa.Index("ix_meal_subsidies_month", "month"))


class MealPointCapacityRow(Base):
    """A meal point's declared meals a day, set by an officer (providers keep no such field)."""

    __tablename__ = "meal_point_capacities"
    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    meals_per_day: Mapped[int]
    set_by: Mapped[str] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime]


class CompletedOrderRow(Base):
    """Every completed order as `youfu.order.completed.v1` told it (voucher-paid or not): the
    population the monthly return-visit sample is drawn from, and what complaints check an
    order against. `month` is the Shanghai month of completion."""

    __tablename__ = "completed_orders"
    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_id: Mapped[uuid.UUID]
    caregiver_id: Mapped[uuid.UUID | None]
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    service_code: Mapped[str] = mapped_column(sa.String(50))
    completed_at: Mapped[datetime]
    month: Mapped[str] = mapped_column(sa.String(7))
    __table_args__ = (sa.Index("ix_completed_orders_district_month", "district_code", "month"),)


class ReturnVisitSampleRow(Base):
    """One district's drawn sample of one month: the seed and the policy figures it was drawn
    with, so it reproduces; unique per district and month (drawing again answers this one)."""

    __tablename__ = "return_visit_samples"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(12))
    month: Mapped[str] = mapped_column(sa.String(7))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    policy_version: Mapped[str] = mapped_column(sa.String(20))
    rate_bp: Mapped[int]
    minimum: Mapped[int]
    population: Mapped[int]
    drawn_by: Mapped[str] = mapped_column(sa.String(100))
    drawn_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("district_code", "month", name="uq_return_visit_samples_district_month"),)


class ReturnVisitRow(Base):
    """One drawn order to call back, and the call's result once recorded."""

    __tablename__ = "return_visits"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sample_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("return_visit_samples.id"), index=True)
    position: Mapped[int]
    order_id: Mapped[uuid.UUID]
    elder_id: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID]
    district_code: Mapped[str] = mapped_column(sa.String(12))
    month: Mapped[str] = mapped_column(sa.String(7))
    service_code: Mapped[str] = mapped_column(sa.String(50))
    completed_at: Mapped[datetime]
    result: Mapped[str | None] = mapped_column(sa.String(20))  # satisfied | dissatisfied | not_delivered | unreachable
    note: Mapped[str | None] = mapped_column(sa.String(500))
    called_by: Mapped[str | None] = mapped_column(sa.String(100))
    called_role: Mapped[str | None] = mapped_column(sa.String(20))
    called_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    __table_args__ = (sa.UniqueConstraint("sample_id", "order_id", name="uq_return_visits_sample_order"),
                      sa.Index("ix_return_visits_provider_month", "provider_id", "month"))


class ServiceFindingRow(Base):
    """A finding a return visit opened (服务未发生): while `open`, the order's redemption is held
    out of the provider's settlement. Resolved `cleared` (the line is paid: in its own month's
    statement while that is a draft, else `carried_to_month`'s) or `upheld` (the capture is
    reversed and the line stays out)."""

    __tablename__ = "service_findings"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))  # service_not_delivered
    visit_id: Mapped[uuid.UUID | None]
    order_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    elder_id: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID]
    district_code: Mapped[str] = mapped_column(sa.String(12), index=True)
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # None: no voucher paid for the order
    status: Mapped[str] = mapped_column(sa.String(20))  # open | resolved
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # cleared | upheld
    carried_to_month: Mapped[str | None] = mapped_column(sa.String(7))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    resolution: Mapped[str | None] = mapped_column(sa.String(500))
    opened_by: Mapped[str] = mapped_column(sa.String(100))
    opened_at: Mapped[datetime]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(100))
    resolved_at: Mapped[datetime | None]


class ComplaintRow(Base):
    """A complaint about an order, a provider or a caregiver: a ticket of the district's bureau
    with a deadline in working days. `anonymous`: the provider never sees who complained."""

    __tablename__ = "complaints"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(12))
    subject: Mapped[str] = mapped_column(sa.String(20))  # order | provider | caregiver
    order_id: Mapped[uuid.UUID | None]
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    caregiver_id: Mapped[uuid.UUID | None]
    elder_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    complainant_user_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    complainant_role: Mapped[str] = mapped_column(sa.String(20))
    anonymous: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20))  # open | in_progress | resolved | rejected
    deadline: Mapped[datetime]
    policy_version: Mapped[str] = mapped_column(sa.String(20))
    handled_by: Mapped[str | None] = mapped_column(sa.String(100))
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None]
    filed_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_complaints_district_status", "district_code", "status"),
                      sa.Index("ix_complaints_filed_at", "filed_at"))
