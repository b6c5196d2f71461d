"""The tier history: tiers the periodic review changed (the timeline holds the others)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tier_reviews',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('customer_id', sa.String(length=255), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('from_tier', sa.String(length=32), nullable=False),
        sa.Column('to_tier', sa.String(length=32), nullable=False),
    )
    op.create_index('ix_tier_reviews_customer_at', 'tier_reviews', ['customer_id', 'at'])


def downgrade():
    op.drop_table('tier_reviews')
