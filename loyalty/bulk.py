"""Appending many rows at once, for the write paths that make them in bulk (the batch
applier, the outbox of events out)."""
import json

from sqlalchemy import JSON, insert


def append(session, table, rows):
    """New rows (all with the same keys) into an append-mostly table. PostgreSQL: one COPY
    stream on the session's connection and transaction: no statement a row for the server to
    plan and run, and psycopg formats the rows in C (bench/history.md: the worker's rate with
    and without). Elsewhere: one multi-row INSERT."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    as_json = {column.name for column in table.columns if isinstance(column.type, JSON)}
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[name]) if name in as_json else row[name] for name in columns])
