"""Reports: ledger entries found by booking date (a BRIN index on PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_ledger_entries_created', 'ledger_entries', ['created_at'], postgresql_using='brin')


def downgrade():
    op.drop_index('ix_ledger_entries_created', table_name='ledger_entries')
