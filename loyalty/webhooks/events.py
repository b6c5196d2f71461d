"""What a webhook event asks for: its raw body read into a command, with every check that
needs no stored state (fields, amounts, dates, the programme's currency).

The endpoints run it before recording an event; the worker runs it again on the stored
raw body when applying it, so a fix to a parser reaches events that are retried.
"""
from loyalty.errors import LoyaltyError
from loyalty.imports import events as imported
from loyalty.webhooks import shop, stripe_events
from loyalty.webhooks.parsing import json_body

# Imported history is recorded as the shop webhook's events, checked when imported.
PARSERS = {"stripe": stripe_events, "shop": shop, "import": imported}


def read_event(source, text, programme):
    """(event id, type, command or None for an event we do not consume)."""
    event_id, event_type, command = PARSERS[source].command_of(json_body(text))
    if command is not None and command.currency != programme.currency:
        raise LoyaltyError(422, "currency_mismatch",
                           f"This programme runs in {programme.currency}, not {command.currency}.",
                           {"currency": command.currency, "programme_currency": programme.currency})
    return event_id, event_type, command
