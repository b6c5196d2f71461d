"""Events out: what happened to a customer, sent as signed webhooks to the shop's email,
helpdesk and CRM tools.

- catalog.py: the event types and the envelope (api.md, "Events out");
- record.py: the transactional outbox: events written in the transaction of the change
  that causes them (batch applier, jobs, API actions), with a delivery per subscribed
  endpoint; nothing is written when no endpoint takes the type;
- endpoints.py: registering receivers (URL checks in addresses.py), secrets and rotation;
- delivery.py: the worker's sender: Standard Webhooks signatures, retries on the schedule
  of schedule.py, the attempt log; replay.py sends again, with the same ids.
"""
