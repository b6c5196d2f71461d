"""Purchase write path: spend buckets, timeline, parked refunds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:57:32.092038

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('parked_refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('order_key', sa.String(length=255), nullable=False),
    sa.Column('refund_key', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('cumulative', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'order_key', 'refund_key', name='uq_parked_refunds_key')
    )
    with op.batch_alter_table('parked_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_refunds_order_key'), ['order_key'], unique=False)

    op.create_table('spend_buckets',
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id', 'day')
    )
    op.create_table('timeline_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('cumulative', sa.Boolean(), nullable=False),
    sa.Column('refund_key', sa.String(length=255), nullable=True),
    sa.Column('standing_after', sa.JSON(), nullable=False),
    sa.Column('order_after', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'refund_key', name='uq_timeline_events_order_refund_key')
    )
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_events_customer_at', ['customer_id', 'at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timeline_events_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier_floor', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('floor_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fixed_points', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('fixed_removed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('points_pending', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('available_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('programme_version', sa.String(length=64), nullable=True))



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('programme_version')
        batch_op.drop_column('available_on')
        batch_op.drop_column('points_pending')
        batch_op.drop_column('fixed_removed')
        batch_op.drop_column('fixed_points')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('last_event_at')
        batch_op.drop_column('floor_since')
        batch_op.drop_column('tier_floor')

    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeline_events_order_id'))
        batch_op.drop_index('ix_timeline_events_customer_at')

    op.drop_table('timeline_events')
    op.drop_table('spend_buckets')
    with op.batch_alter_table('parked_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_refunds_order_key'))

    op.drop_table('parked_refunds')
