"""Events out: webhook endpoints, the outbox of events, deliveries and their attempts,
and each customer's event sequence

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:50:00

"""
from alembic import op
import sqlalchemy as sa

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTCDateTime = sa.DateTime(timezone=True)


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_sequence', sa.BigInteger(), nullable=False, server_default='0'))
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('events', sa.JSON(), nullable=True),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('previous_secret', sa.String(length=100), nullable=True),
        sa.Column('previous_secret_until', UTCDateTime, nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=500), nullable=True),
        sa.Column('disabled_at', UTCDateTime, nullable=True),
        sa.Column('last_success_at', UTCDateTime, nullable=True),
        sa.Column('created_at', UTCDateTime, nullable=False),
    )
    op.create_table(
        'outbound_events',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('message_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=255), nullable=True),
        sa.Column('sequence', sa.BigInteger(), nullable=True),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime, nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=255), nullable=True),
        sa.Column('fanned_out', sa.Boolean(), nullable=False, server_default=sa.text('false')),
    )
    op.create_index('ix_outbound_events_customer_sequence', 'outbound_events', ['customer_id', 'sequence'])
    op.create_index('ix_outbound_events_created', 'outbound_events', ['created_at'], postgresql_using='brin')
    op.create_index('ix_outbound_events_to_fan_out', 'outbound_events', ['id'],
                    postgresql_where=sa.text("NOT fanned_out"), sqlite_where=sa.text("NOT fanned_out"))
    op.create_index('ix_outbound_events_dedupe_key', 'outbound_events', ['dedupe_key'], unique=True,
                    postgresql_where=sa.text("dedupe_key IS NOT NULL"), sqlite_where=sa.text("dedupe_key IS NOT NULL"))
    op.create_table(
        'deliveries',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('event_id', sa.BigInteger(), sa.ForeignKey('outbound_events.id'), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), sa.ForeignKey('webhook_endpoints.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('retry', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime, nullable=False),
        sa.Column('round_started_at', UTCDateTime, nullable=False),
        sa.Column('last_attempt_at', UTCDateTime, nullable=True),
        sa.Column('delivered_at', UTCDateTime, nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', UTCDateTime, nullable=False),
    )
    op.create_index('ix_deliveries_due', 'deliveries', ['next_attempt_at'],
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index('ix_deliveries_endpoint_event', 'deliveries', ['endpoint_id', 'event_id'], unique=True)
    op.create_table(
        'delivery_attempts',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('delivery_id', sa.BigInteger(), sa.ForeignKey('deliveries.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('at', UTCDateTime, nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=False),
        sa.Column('response', sa.String(length=500), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
    )
    op.create_index('ix_delivery_attempts_delivery', 'delivery_attempts', ['delivery_id', 'id'])


def downgrade():
    op.drop_table('delivery_attempts')
    op.drop_table('deliveries')
    op.drop_table('outbound_events')
    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('event_sequence')
