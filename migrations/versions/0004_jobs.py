"""Jobs: order release time; an index of expiry lots; drop an index no query uses

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:36:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

LOTS = sa.text("status = 'available' AND points > 0")


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_order_id')
    op.create_index('ix_ledger_entries_lots', 'ledger_entries', ['customer_id', 'available_on'], unique=False,
                    postgresql_where=LOTS, sqlite_where=LOTS)


def downgrade():
    op.drop_index('ix_ledger_entries_lots', table_name='ledger_entries')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_order_id', ['order_id'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('released_at')
