"""Orders imported by several processes side by side (PostgreSQL): each process checks,
records and applies the rows of its share of the customers (orders.py `settle`).

Every row of a customer goes to the same process, in file order, so each customer's
history is applied in order as by one importer. A refund (its row names the order, not
the customer) goes where its order's purchase went, remembered for the last
`ORDER_MEMORY` purchases (memory stays flat), else by its order id. A refund applied in
another process than its purchase is still applied right, as with several workers: the
batch applier serialises everything about an order (an advisory lock per order) and
locks customers in id order.

This process reads the file, deals the rows out a chunk at a time (at most two chunks
wait for each process), writes the report and keeps the tally; the jobs run after every
process has finished. A process that fails stops the import (its batch is rolled back);
a re-run carries on.
"""
import multiprocessing
import os
import queue
import threading
import zlib
from collections import OrderedDict

from flask import current_app

from loyalty.imports.orders import CHUNK_ROWS, Chunk, checked, settle

ORDER_MEMORY = 50_000          # about 11 MiB; reached by any file worth processes, so memory stays flat
_CONFIG = ("LOYALTY_", "STRIPE_", "SQLALCHEMY_")


class ImportProcessFailed(RuntimeError):
    pass


def share(fields, owners, processes, line):
    """The process (0 to `processes` - 1) that takes this row. `owners`: order id -> process
    of the purchases seen last."""
    order, customer = fields.get("order_id"), fields.get("customer_id")
    if not isinstance(order, str):
        return line % processes         # refused on checking, wherever it goes
    if fields.get("type") == "purchase" and isinstance(customer, str):
        taker = zlib.crc32(customer.encode()) % processes
        owners[order] = taker
        owners.move_to_end(order)
        if len(owners) > ORDER_MEMORY:
            owners.popitem(last=False)
        return taker
    taker = owners.get(order)
    return taker if taker is not None else zlib.crc32(order.encode()) % processes


def import_apart(source_rows, report, progress, now, processes):
    config = {key: value for key, value in current_app.config.items() if key.startswith(_CONFIG)}
    context = multiprocessing.get_context("spawn")
    answers, inboxes = context.Queue(), [context.Queue(maxsize=2) for _ in range(processes)]
    workers = [context.Process(target=_work, args=(config, now, inboxes[k], answers), daemon=True,
                               name=f"import-{k}") for k in range(processes)]
    for worker in workers:
        worker.start()
    dealer = _Dealer(report, inboxes, answers, workers)
    try:
        owners, dealt = OrderedDict(), [[] for _ in range(processes)]
        for row in source_rows:
            progress.row()
            report.tally.rows += 1
            if row.problem is not None:
                report.refuse(row.line, row.problem)
            elif row.fields is None:            # a row the source says to skip (an unpaid order)
                report.tally.skipped += 1
            else:
                taker = share(row.fields, owners, processes, row.line)
                dealt[taker].append((row.line, row.fields))
                if len(dealt[taker]) >= CHUNK_ROWS:
                    dealer.send(taker, dealt[taker])
                    dealt[taker] = []
        for taker, rows in enumerate(dealt):
            if rows:
                dealer.send(taker, rows)
            dealer.send(taker, None)
        dealer.wait_done()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        for inbox in inboxes:       # chunks a stopped process never took: this process exits all the same
            inbox.cancel_join_thread()
            inbox.close()


class _Dealer:
    """Hands chunks to the processes and takes in what they answer meanwhile."""

    def __init__(self, report, inboxes, answers, workers):
        self.report, self.inboxes, self.answers, self.workers, self.done = report, inboxes, answers, workers, 0

    def send(self, taker, rows):
        while True:
            self._take_answers()
            try:
                self.inboxes[taker].put(rows, timeout=0.1)
                return
            except queue.Full:
                continue

    def wait_done(self):
        while self.done < len(self.workers):
            self._take_answers(timeout=0.1)

    def _take_answers(self, timeout=None):
        while True:
            try:
                answer = self.answers.get(timeout=timeout) if timeout else self.answers.get_nowait()
            except queue.Empty:
                break
            self._account(answer)
            timeout = None
        dead = [worker.name for worker in self.workers if worker.exitcode not in (None, 0)]
        if dead:
            raise ImportProcessFailed(f"{', '.join(dead)} stopped; the rows recorded so far stay, a re-run carries on")

    def _account(self, answer):
        kind, *rest = answer
        if kind == "failed":
            raise ImportProcessFailed(rest[0])
        if kind == "done":
            self.done += 1
            return
        refusals, kinds = rest
        for line, reason in refusals:
            self.report.refuse(line, reason)
        for name, count in kinds.items():
            self.report.tally.taken += count
            self.report.tally.kinds[name] = self.report.tally.kinds.get(name, 0) + count


def _work(config, now, inbox, answers):
    """A process's loop: chunks of (line, fields) until None; answers each chunk's refusals
    and the kinds of rows taken, then "done" (or "failed" with the traceback)."""
    from loyalty import create_app
    from loyalty.extensions import db
    from loyalty.programme import current_programme
    _exit_with_the_importer()
    try:
        app = create_app(config)
        with app.app_context():
            programme = current_programme()
            while (rows := inbox.get()) is not None:
                chunk, kinds = Chunk(), {}
                for line, fields in rows:
                    checked(chunk, line, fields, programme, now)

                def took(kind):
                    kinds[kind] = kinds.get(kind, 0) + 1
                answers.put(("chunk", chunk.refusals + settle(db.session, chunk.events, took), kinds))
            db.session.remove()
        answers.put(("done",))
    except BaseException as error:
        answers.put(("failed", _one_line(error)))


def _one_line(error):
    """What stopped a process, for the operator: the error's kind and the first line of its
    message (a database error's own, without the statement)."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"an applying process stopped: {type(cause).__name__}" + (f": {lines[0][:300]}" if lines else "")


def _exit_with_the_importer():
    """A process exits as soon as its importer is gone (kill -9), wherever it waits (for a
    chunk, or half of one): its open batch is rolled back, a re-run carries on."""
    parent = multiprocessing.parent_process()

    def watch():
        parent.join()
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="importer-watch").start()
