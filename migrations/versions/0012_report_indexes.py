"""Reports: each customer's orders in order of purchase (the customers report reads them
from the index alone on PostgreSQL; it replaces the index on customer_id alone); the tier
after each timeline step as a column, in the customer's index, and the customers who moved
from the default lowest tier, 'standard' (the tiers report)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_customer_placed_at', 'orders', ['customer_id', 'placed_at'],
                    postgresql_include=['total', 'refunded'])
    op.drop_index('ix_orders_customer_id', table_name='orders')     # the new one serves its reads too
    with op.batch_alter_table('timeline_events') as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=32)))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE timeline_events SET tier = standing_after ->> 'tier'")
    else:
        op.execute("UPDATE timeline_events SET tier = json_extract(standing_after, '$.tier')")
    op.drop_index('ix_timeline_events_customer_at', table_name='timeline_events')
    op.create_index('ix_timeline_events_customer_at', 'timeline_events', ['customer_id', 'at', 'id'],
                    postgresql_include=['tier'])
    op.create_index('ix_timeline_events_moved', 'timeline_events', ['customer_id'],
                    postgresql_where=sa.text("tier <> 'standard'"), sqlite_where=sa.text("tier <> 'standard'"))


def downgrade():
    op.drop_index('ix_timeline_events_moved', table_name='timeline_events')
    op.drop_index('ix_timeline_events_customer_at', table_name='timeline_events')
    op.create_index('ix_timeline_events_customer_at', 'timeline_events', ['customer_id', 'at', 'id'])
    with op.batch_alter_table('timeline_events') as batch_op:
        batch_op.drop_column('tier')
    op.create_index('ix_orders_customer_id', 'orders', ['customer_id'])
    op.drop_index('ix_orders_customer_placed_at', table_name='orders')
