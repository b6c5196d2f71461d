"""Customer ids of up to 255 characters (Stripe's client_reference_id takes 200)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The customer's own row first, then every table that refers to it.
CUSTOMER_IDS = [("customers", "id"), ("orders", "customer_id"), ("ledger_entries", "customer_id"),
                ("redemptions", "customer_id"), ("support_actions", "customer_id"),
                ("timeline_events", "customer_id"), ("spend_buckets", "customer_id")]


def _resize(old, new):
    # PostgreSQL widens a varchar in place; SQLite rebuilds each table (batch mode), with
    # foreign keys off during migrations (migrations/env.py).
    for table, column in CUSTOMER_IDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                  existing_nullable=False)


def upgrade():
    _resize(64, 255)


def downgrade():
    # PostgreSQL refuses it while a longer id is stored; SQLite does not enforce lengths.
    _resize(255, 64)
