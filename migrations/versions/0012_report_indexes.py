"""Reports: each customer's orders in order of purchase (the customers report reads them
from the index alone on PostgreSQL; it replaces the index on customer_id alone); the timeline's rows to another tier than the default
lowest, 'standard' (the tiers report finds the customers who moved from it)

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
    op.create_index('ix_timeline_events_moved', 'timeline_events', ['customer_id', 'at'],
                    postgresql_where=sa.text("(standing_after ->> 'tier') <> 'standard'"),
                    sqlite_where=sa.text("json_extract(standing_after, '$.tier') <> 'standard'"))


def downgrade():
    op.drop_index('ix_timeline_events_moved', table_name='timeline_events')
    op.create_index('ix_orders_customer_id', 'orders', ['customer_id'])
    op.drop_index('ix_orders_customer_placed_at', table_name='orders')
