"""What one delivery reports as metrics: its message counts and its duration, per customer+event."""

from __future__ import annotations

from changecast.delivery.ledger import DeliveryKey
from changecast.delivery.sending import Tally
from changecast.metrics import names
from changecast.metrics.ports import Metrics


def dimensions(key: DeliveryKey) -> dict[str, str]:
    return {"customer": key.customer, "event": key.event.value}


def record_counts(metrics: Metrics, key: DeliveryKey, tally: Tally) -> None:
    """Sent, failed, throttled and already-sent, zeros included (a run that stopped midway too).

    ``SendRateReduced`` (the rate backed off on throttling) is written only when it happened.
    """
    where = dimensions(key)
    metrics.count(names.EMAILS_SENT, tally.sent, **where)
    metrics.count(names.EMAILS_FAILED, tally.failed, **where)
    metrics.count(names.EMAILS_THROTTLED, tally.throttled, **where)
    metrics.count(names.EMAILS_ALREADY_SENT, tally.already_sent, **where)
    if tally.rate_reduced:
        metrics.count(names.SEND_RATE_REDUCED, tally.rate_reduced, **where)


def record_duration(metrics: Metrics, key: DeliveryKey, seconds: float) -> None:
    """How long a delivery that went through every recipient took."""
    metrics.timing(
        names.DELIVERY_DURATION,
        max(seconds, 0.0),
        customer=key.customer,
        event=key.event.value,
    )
