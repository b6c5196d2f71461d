"""Every ledger entry says where it came from: an event's source, the API or the jobs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
    # Entries written before: the jobs' and the API's by kind, the others by their order's source.
    op.execute("UPDATE ledger_entries SET source = 'jobs' WHERE kind IN ('release', 'expiry')")
    op.execute("UPDATE ledger_entries SET source = 'api' WHERE kind IN ('redemption', 'adjustment')")
    op.execute("UPDATE ledger_entries SET source = (SELECT orders.source FROM orders "
               "WHERE orders.id = ledger_entries.order_id) WHERE source IS NULL AND order_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('source')
