"""The birthday gift: when a birthday was set or changed, and the date of the last gift

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 05:00:00

Both on the customer row, which the gift job locks and reads anyway: the last gift's date
there makes "once in 365 days" one comparison under the row lock, in the same UPDATE that
books the points, instead of a search of the customer's ledger for its newest gift.
Customers stored before have neither: a birthday of unknown setting date counts as set
long ago, and no gift yet.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birthday_set_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('birthday_gift_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('birthday_gift_on')
        batch_op.drop_column('birthday_set_at')
