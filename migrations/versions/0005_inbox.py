"""Inbox: webhook events are queued, then applied by `loyalty worker`

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")


def upgrade():
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.alter_column('outcome', new_column_name='status', existing_type=sa.String(length=16),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('error_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('error_message', sa.String(length=500), nullable=True))
    # Events applied in the request before this release were applied at receipt.
    op.execute("UPDATE webhook_events SET applied_at = received_at WHERE status IN ('processed', 'duplicate')")
    op.create_index('ix_webhook_events_queued', 'webhook_events', ['id'], unique=False,
                    postgresql_where=QUEUED, sqlite_where=QUEUED)
    op.create_index('ix_webhook_events_status_received', 'webhook_events', ['status', 'received_at'], unique=False)
    with op.batch_alter_table('parked_refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('parked_refunds', schema=None) as batch_op:
        batch_op.drop_column('event_id')
    op.drop_index('ix_webhook_events_status_received', table_name='webhook_events')
    op.drop_index('ix_webhook_events_queued', table_name='webhook_events')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_column('error_message')
        batch_op.drop_column('error_code')
        batch_op.drop_column('attempts')
        batch_op.drop_column('applied_at')
        batch_op.alter_column('status', new_column_name='outcome', existing_type=sa.String(length=16),
                              existing_nullable=False)
