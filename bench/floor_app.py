"""The floor: a bare Flask app doing the least work the same jobs need, with raw psycopg.

A webhook: verify the same HMAC signature, parse the JSON, one INSERT (the event) and one
UPDATE (the balance), commit. A balance read: one primary-key SELECT. Served by the same
gunicorn settings as the service, so the ratio measures what our product adds.
"""
import hashlib
import hmac
import json
import os

import psycopg
from flask import Flask, abort, request

app = Flask(__name__)
SECRET = os.environ["LOYALTY_WEBHOOK_SECRET"].encode()
_connection = None


def connection():
    global _connection
    if _connection is None:
        _connection = psycopg.connect(os.environ["FLOOR_DSN"])
    return _connection


@app.post("/webhooks/shop")
def webhook():
    raw = request.get_data()
    parts = dict(item.split("=", 1) for item in request.headers["Loyalty-Signature"].split(","))
    expected = hmac.new(SECRET, parts["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts["v1"]):
        abort(400)
    event = json.loads(raw)
    order = event["data"]["order"]
    conn = connection()
    with conn.cursor() as cursor:
        cursor.execute("INSERT INTO floor_events (id, payload) VALUES (%s, %s)", (event["id"], raw.decode()))
        cursor.execute("UPDATE floor_balances SET points = points + %s WHERE id = %s",
                       (order["total"]["amount"] // 100, event["data"]["customer"]["id"]))
    conn.commit()
    return {"status": "processed"}


@app.get("/v1/customers/<customer_id>/balance")
def balance(customer_id):
    with connection().cursor() as cursor:
        cursor.execute("SELECT points FROM floor_balances WHERE id = %s", (customer_id,))
        row = cursor.fetchone()
    connection().commit()
    if row is None:
        abort(404)
    return {"customer_id": customer_id, "points": row[0]}


@app.get("/health")
def health():
    return {"status": "ok"}
