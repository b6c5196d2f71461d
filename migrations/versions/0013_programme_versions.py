"""Programme versions in the database, with an audit log; the configured file is the first

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:30:00

"""
import hashlib
import json
import tomllib
from datetime import date, datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from flask import current_app

import rules


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BEGINNING = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _seed():
    """The programme file this installation runs (LOYALTY_PROGRAMME, or the shipped
    default) becomes the first version, in force from the beginning."""
    configured = current_app.config.get("LOYALTY_PROGRAMME") if current_app else None
    path = Path(configured) if configured else Path(rules.__file__).with_name("default_programme.toml")
    text = path.read_text(encoding="utf-8")
    fmt = "json" if path.suffix.lower() == ".json" else "toml"
    data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    document = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=lambda value: value.isoformat() if isinstance(value, date) else str(value))
    now = datetime.now(timezone.utc)
    bind = op.get_bind()
    stamp = (lambda value: value.replace(tzinfo=None)) if bind.dialect.name == "sqlite" else (lambda value: value)
    versions = sa.table('programme_versions', *(sa.column(name) for name in (
        'label', 'format', 'source', 'document', 'digest', 'created_at', 'created_by', 'published_at',
        'published_by', 'effective_from')))
    audit = sa.table('programme_audit', *(sa.column(name) for name in ('version_id', 'action', 'actor', 'at', 'detail')))
    version_id = bind.execute(versions.insert().returning(sa.literal_column('id')), {
        'label': str(data.get('version') or 'initial')[:64], 'format': fmt, 'source': text, 'document': document,
        'digest': hashlib.sha256(document.encode()).hexdigest(), 'created_at': stamp(now),
        'created_by': 'db upgrade', 'published_at': stamp(now), 'published_by': 'db upgrade',
        'effective_from': stamp(BEGINNING)}).scalar_one()
    bind.execute(audit.insert(), {'version_id': version_id, 'action': 'published', 'actor': 'db upgrade',
                                  'at': stamp(now), 'detail': json.dumps({'effective_from': BEGINNING.isoformat(),
                                                                          'file': str(path)})})


def upgrade():
    op.create_table(
        'programme_versions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('label', sa.String(length=64), nullable=False, unique=True),
        sa.Column('format', sa.String(length=8), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_by', sa.String(length=120), nullable=True),
        sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True, unique=True),
    )
    op.create_table(
        'programme_audit',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('version_id', sa.Integer(), sa.ForeignKey('programme_versions.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
    )
    _seed()


def downgrade():
    op.drop_table('programme_audit')
    op.drop_table('programme_versions')
