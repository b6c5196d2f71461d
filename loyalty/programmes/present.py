"""Programme versions as the admin API and the command line show them."""
import json

from loyalty.programmes import store


def version(row, rows, now, source=False):
    """A version: its id, label, status and who drafted and published it when."""
    shown = {"id": row.id, "version": row.label, "status": store.status_of(row, rows, now),
             "effective_from": row.effective_from, "created_at": row.created_at, "created_by": row.created_by,
             "published_at": row.published_at, "published_by": row.published_by, "digest": row.digest}
    if source:
        shown.update(format=row.format, source=row.source, programme=json.loads(row.document))
    return shown


def audit(entry, labels):
    return {"at": entry.at, "version": labels.get(entry.version_id), "version_id": entry.version_id,
            "action": entry.action, "actor": entry.actor, "detail": json.loads(entry.detail) if entry.detail else {}}
