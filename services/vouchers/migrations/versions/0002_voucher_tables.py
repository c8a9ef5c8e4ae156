"""voucher tables: policy versions, elder copy, vouchers, the ledger (accounts and an
append-only journal), holds, redemptions, issuance and month-end runs, settlements, anomaly
findings and auditor actions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:00:08.970639
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


# The journal is append-only: corrections are reversing transfers, never edits. The database
# refuses UPDATE and DELETE on it, whichever code path tries.
PG_APPEND_ONLY = [
    """CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'ledger_transfers is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only()""",
]
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
    BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END""",
    """CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
    BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END""",
]


def upgrade() -> None:
    op.create_table('anomaly_findings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rule', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=True),
    sa.Column('elder_id', sa.Uuid(), nullable=True),
    sa.Column('redemption_ids', sa.JSON(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('anomaly_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_findings_month'), ['month'], unique=False)

    op.create_table('elders',
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('street', sa.String(length=100), nullable=True),
    sa.Column('economic_status', sa.String(length=20), nullable=True),
    sa.Column('living_situation', sa.String(length=20), nullable=True),
    sa.Column('special_hardship', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('assessment_id', sa.Uuid(), nullable=True),
    sa.Column('graded_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('departed_on', sa.Date(), nullable=True),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('elder_id')
    )
    with op.batch_alter_table('elders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_elders_district_code'), ['district_code'], unique=False)

    op.create_table('holds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('voucher_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('service_code', sa.String(length=50), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('voucher_fen', sa.BigInteger(), nullable=False),
    sa.Column('elder_fen', sa.BigInteger(), nullable=False),
    sa.Column('share_bp', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('captured_fen', sa.BigInteger(), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_elder_id'), ['elder_id'], unique=False)

    op.create_table('issuance_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('scheduled_month', sa.String(length=7), nullable=True),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('issued_fen', sa.BigInteger(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('started_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scheduled_month')
    )
    with op.batch_alter_table('issuance_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuance_runs_month'), ['month'], unique=False)

    op.create_table('ledger_accounts',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('elder_id', sa.Uuid(), nullable=True),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=True),
    sa.Column('debits_pending', sa.BigInteger(), nullable=False),
    sa.Column('debits_posted', sa.BigInteger(), nullable=False),
    sa.Column('credits_pending', sa.BigInteger(), nullable=False),
    sa.Column('credits_posted', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("(type = 'funding' AND debits_posted >= credits_posted + credits_pending) OR (type <> 'funding' AND credits_posted >= debits_posted + debits_pending)", name='ck_ledger_accounts_not_overdrawn'),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_accounts_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index('ix_ledger_accounts_type_month', ['type', 'month'], unique=False)

    op.create_table('ledger_transfers',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('debit_account', sa.String(length=200), nullable=False),
    sa.Column('credit_account', sa.String(length=200), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('pending_id', sa.String(length=64), nullable=True),
    sa.Column('reverses_id', sa.String(length=64), nullable=True),
    sa.Column('elder_id', sa.Uuid(), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name='ck_ledger_transfers_positive'),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('pending_id'),
    sa.UniqueConstraint('reverses_id')
    )
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transfers_credit_account'), ['credit_account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_debit_account'), ['debit_account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_elder_id'), ['elder_id'], unique=False)

    op.create_table('month_end_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('expired_count', sa.Integer(), nullable=False),
    sa.Column('expired_fen', sa.BigInteger(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('ran_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('month_end_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_month_end_runs_month'), ['month'], unique=False)

    op.create_table('policy_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_versions_effective_from'), ['effective_from'], unique=False)

    op.create_table('provider_freezes',
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('finding_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('frozen_by', sa.String(length=100), nullable=False),
    sa.Column('frozen_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider_id')
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('hold_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('caregiver_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('service_code', sa.String(length=50), nullable=False),
    sa.Column('order_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=True),
    sa.Column('checkin_distance_m', sa.Double(), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('completed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capture_transfer_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hold_id')
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_month_district', ['month', 'district_code'], unique=False)
        batch_op.create_index('ix_redemptions_provider_month', ['provider_id', 'month'], unique=False)

    op.create_table('service_minimums',
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('service_code', sa.String(length=50), nullable=False),
    sa.Column('min_duration_min', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('provider_id', 'service_code')
    )
    op.create_table('settlements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('redemption_count', sa.Integer(), nullable=False),
    sa.Column('redeemed_fen', sa.BigInteger(), nullable=False),
    sa.Column('reversed_fen', sa.BigInteger(), nullable=False),
    sa.Column('net_fen', sa.BigInteger(), nullable=False),
    sa.Column('confirmed_by', sa.String(length=100), nullable=True),
    sa.Column('confirmed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('settle_transfer_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'provider_id', 'district_code', name='uq_settlements_month_provider_district')
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_provider_id'), ['provider_id'], unique=False)

    op.create_table('vouchers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('face_value_fen', sa.BigInteger(), nullable=False),
    sa.Column('share_bp', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('issue_transfer_id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('issued_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('elder_id', 'kind', 'month', name='uq_vouchers_elder_kind_month')
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index('ix_vouchers_month_district', ['month', 'district_code'], unique=False)

    op.create_table('auditor_actions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('finding_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('transfer_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['anomaly_findings.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('auditor_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditor_actions_finding_id'), ['finding_id'], unique=False)

    op.create_table('settlement_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('settlement_id', sa.Uuid(), nullable=False),
    sa.Column('service_code', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('redemption_count', sa.Integer(), nullable=False),
    sa.Column('redeemed_fen', sa.BigInteger(), nullable=False),
    sa.Column('reversed_fen', sa.BigInteger(), nullable=False),
    sa.Column('net_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_lines_settlement_id'), ['settlement_id'], unique=False)

    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PG_APPEND_ONLY if postgres else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_update ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS ledger_transfers_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_delete")
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_lines_settlement_id'))

    op.drop_table('settlement_lines')
    with op.batch_alter_table('auditor_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditor_actions_finding_id'))

    op.drop_table('auditor_actions')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index('ix_vouchers_month_district')

    op.drop_table('vouchers')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlements_provider_id'))

    op.drop_table('settlements')
    op.drop_table('service_minimums')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_provider_month')
        batch_op.drop_index('ix_redemptions_month_district')

    op.drop_table('redemptions')
    op.drop_table('provider_freezes')
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_versions_effective_from'))

    op.drop_table('policy_versions')
    with op.batch_alter_table('month_end_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_month_end_runs_month'))

    op.drop_table('month_end_runs')
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_elder_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_debit_account'))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_credit_account'))

    op.drop_table('ledger_transfers')
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_accounts_type_month')
        batch_op.drop_index(batch_op.f('ix_ledger_accounts_elder_id'))

    op.drop_table('ledger_accounts')
    with op.batch_alter_table('issuance_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuance_runs_month'))

    op.drop_table('issuance_runs')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_elder_id'))

    op.drop_table('holds')
    with op.batch_alter_table('elders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_elders_district_code'))

    op.drop_table('elders')
    with op.batch_alter_table('anomaly_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_findings_month'))

    op.drop_table('anomaly_findings')
