"""Waking the worker on PostgreSQL: recording an event sends NOTIFY only while a worker
sleeps (holds `inbox.SLEEPING`, shared), and a recording that saw no sleeper keeps the lock
to its commit, so a worker going to sleep finds that event by its last look at the queue.
The worker process itself waking at once is in test_e2e_worker.py."""
import threading
import time

import psycopg

from loyalty import inbox
from loyalty.extensions import db
from tests.conftest import migrated_app
from tests.webhooks import post_shop, purchase


def connect(server, database, autocommit=True):
    return psycopg.connect(server.url(database).replace("postgresql+psycopg://", "postgresql://"),
                           autocommit=autocommit)


def heard(listener, seconds=0.5):
    return len(list(listener.notifies(timeout=seconds)))


def test_recording_notifies_only_while_a_worker_sleeps(postgres_server, app_factory):
    app = migrated_app(app_factory, postgres_server.create_database("wakeup_notify"))
    client = app.test_client()
    with connect(postgres_server, "wakeup_notify") as listener:
        listener.execute(f"LISTEN {inbox.CHANNEL}")
        assert post_shop(client, purchase(order="o-1")).status_code == 202
        assert heard(listener) == 0                     # nobody sleeps: no NOTIFY
        listener.execute("SELECT pg_advisory_lock_shared(%s)", (inbox.SLEEPING,))
        assert post_shop(client, purchase(order="o-2")).status_code == 202
        assert heard(listener) == 1                     # a sleeper: woken
        listener.execute("SELECT pg_advisory_unlock_shared(%s)", (inbox.SLEEPING,))
        assert post_shop(client, purchase(order="o-3")).status_code == 202
        assert heard(listener) == 0


def test_a_worker_going_to_sleep_waits_for_a_recording_that_saw_no_sleeper(postgres_server, app_factory):
    """The recording's statement, held open in a transaction, stands for one between its
    look at the lock and its commit: the sleeper's lock waits for it, then finds its event."""
    app = migrated_app(app_factory, postgres_server.create_database("wakeup_race"))
    with app.app_context():
        compiled = inbox._RECORD["postgresql"].compile(dialect=db.engine.dialect)
    parameters = compiled.construct_params({"source": "shop", "event_id": "evt-1", "type": "purchase.completed",
                                            "payload": "{}", "received_at": "2026-11-30T10:00:00Z",
                                            "status": "queued"})
    with connect(postgres_server, "wakeup_race", autocommit=False) as recording, \
            connect(postgres_server, "wakeup_race") as worker:
        assert recording.execute(compiled.string, parameters).fetchone() is not None     # saw no sleeper
        locked = threading.Event()
        sleeper = threading.Thread(target=lambda: (
            worker.execute("SELECT pg_advisory_lock_shared(%s)", (inbox.SLEEPING,)), locked.set()))
        sleeper.start()
        time.sleep(0.5)
        assert not locked.is_set()                      # waits for the recording to commit
        recording.commit()
        sleeper.join(10)
        assert locked.is_set()
        assert worker.execute(inbox.UNCLAIMED).fetchone() is not None     # and then finds its event
