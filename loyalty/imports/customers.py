"""Importing customers: `id, email, birthday, stripe_customer_id`, a chunk per transaction.

A row enrols the customer or sets the fields it gives; an empty cell leaves what is
stored (an import never erases). A Stripe customer id that belongs to another customer
refuses that row only: the chunk is then written one row at a time.

A birthday an import sets or changes counts as set now, as one the API or a purchase sets:
the file cannot say when the customer gave it, and a customer able to edit it in the
shop's own system could otherwise move it to today for the birthday gift. So imported
customers get their first gift once `recent_change_days` have passed; a re-run of the same
file changes nothing and so restarts no wait.
"""
from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.imports import rows as import_rows
from loyalty.programme import current_programme
from loyalty.services.customers import begin_write, by_stripe_customer, enrol

CHUNK_ROWS = 1000


def import_customers(source_rows, report, progress):
    chunk = []
    for row in source_rows:
        progress.row()
        report.tally.rows += 1
        if row.problem is not None:
            report.refuse(row.line, row.problem)
            continue
        customer, why = import_rows.customer_of(row.fields)
        if why is not None:
            report.refuse(row.line, why)
            continue
        chunk.append((row.line, customer))
        if len(chunk) >= CHUNK_ROWS:
            _take(chunk, report)
            chunk = []
    _take(chunk, report)
    return report.tally


def _take(chunk, report):
    if not chunk:
        return
    programme = current_programme()
    try:
        begin_write()
        for _, customer in chunk:
            _write(programme, customer)
        db.session.commit()
    except LoyaltyError:
        db.session.rollback()
        for line, customer in chunk:        # find the rows at fault; write the others
            try:
                begin_write()
                _write(programme, customer)
                db.session.commit()
            except LoyaltyError as error:
                db.session.rollback()
                report.refuse(line, f"{error.code}: {error.message}")
                continue
            report.tally.took("customer")
        return
    for _ in chunk:
        report.tally.took("customer")


def _write(programme, customer):
    stripe_id = customer["stripe_customer_id"]
    if stripe_id:
        holder = by_stripe_customer(stripe_id)
        if holder not in (None, customer["id"]):
            raise LoyaltyError(409, "stripe_customer_taken", "That Stripe customer belongs to another customer.")
    enrol(customer["id"], programme, email=customer["email"], birthday=customer["birthday"],
          stripe_customer_id=stripe_id)
    db.session.flush()
