"""The batch applier's rate for the code at a given checkout, for before/after comparisons:
run it alternately against a worktree of an older commit and this one (ABBA), e.g.

    git worktree add /tmp/old 2e9135a
    for root in . /tmp/old /tmp/old .; do .venv/bin/python bench/applier_ab.py $root; done

Each run: a fresh PostgreSQL, 20,000 queued shop purchases of 1,000 customers, applied
in-process with `drain` (the worker's loop); prints events per second."""
import json
import os
import sys
import time
from pathlib import Path

root = str(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
sys.path.insert(0, root)
os.chdir(root)

from flask_migrate import upgrade  # noqa: E402
from loyalty import create_app, inbox  # noqa: E402
from loyalty.extensions import db  # noqa: E402
from loyalty.worker import drain  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

server = PostgresServer().init().start()
try:
    url = server.create_database("ab")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOYALTY_LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        start = int(time.time()) - 86400
        for i in range(20000):
            event = {"id": f"e{i}", "type": "purchase.completed", "created": start + i,
                     "data": {"customer": {"id": f"c{i % 1000}"}, "order": {"id": f"o{i}", "total": {"amount": 1000 + i % 5000, "currency": "EUR"}, "lines": []}}}
            inbox.record("shop", event["id"], event["type"], json.dumps(event))
        db.session.commit()
    started = time.perf_counter()
    done = drain(app)
    seconds = time.perf_counter() - started
    print(f"{root}: {done} events in {seconds:.2f} s: {done / seconds:.0f}/s")
finally:
    server.destroy()
