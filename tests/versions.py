"""Programme versions for tests: drafted and published through the store, as the CLI does."""
from datetime import datetime, timezone

from loyalty.extensions import db
from loyalty.programmes import store


def publish(app, text, fmt="toml", effective_from=None):
    """Draft `text` and publish it, in force from `effective_from` (default: now); answers when it takes over."""
    with app.app_context():
        now = datetime.now(timezone.utc)
        row = store.draft(db.session, text, fmt, "test", now)
        store.publish(db.session, row.id, "test", now, effective_from)
        db.session.commit()
        return effective_from or now
