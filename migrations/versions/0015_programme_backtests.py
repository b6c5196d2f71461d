"""Backtests asked for through the admin API that run long: queued, run by `loyalty worker`

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 04:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'programme_backtests',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('version_id', sa.Integer(), sa.ForeignKey('programme_versions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_by', sa.String(length=120), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
    )
    op.create_index('ix_programme_backtests_status', 'programme_backtests', ['status'])


def downgrade():
    op.drop_table('programme_backtests')
