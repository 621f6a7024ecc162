"""The catalogue of changecast's metrics: their names, and the dimensions each is recorded with.

Dashboards and alarms refer to these names; change one only together with them.
"""

from __future__ import annotations

from typing import Final

# Per delivered trigger, dimensions ``customer`` and ``event`` (submitted, approved, ...).
# Counted per message (a notice email or a calendar invitation), zeros included.
EMAILS_SENT: Final = "EmailsSent"
EMAILS_FAILED: Final = "EmailsFailed"
"""Recipients SES rejected (recorded as failed; the delivery goes on)."""
EMAILS_THROTTLED: Final = "EmailsThrottled"
"""SES throttling responses the send loop backed off on and retried."""
EMAILS_ALREADY_SENT: Final = "EmailsAlreadySent"
SEND_RATE_REDUCED: Final = "SendRateReduced"
"""Times sustained throttling (a limit or a storm) brought the send rate down; only when not 0."""
"""Recipients skipped because the ledger says an earlier run sent them (redeliveries)."""
DELIVERY_DURATION: Final = "DeliveryDuration"
"""Seconds from the start of a delivery to its saved execution record."""

# Per queue message the worker gives up on, dimension ``customer``.
TRIGGERS_DEAD_LETTERED: Final = "TriggersDeadLettered"

# Per trigger the worker found superseded (sent nothing; not a failure), dimensions ``customer``
# and ``event``.
TRIGGERS_SUPERSEDED: Final = "TriggersSuperseded"

# Per portal request, dimensions ``route`` (the path template) and ``method``.
PORTAL_REQUEST_LATENCY: Final = "PortalRequestLatency"
"""Milliseconds from the request to the end of its response."""
PORTAL_REQUEST_ERRORS: Final = "PortalRequestErrors"
"""1 for a 5xx answer (or an unhandled error), 0 otherwise: its average is the error rate."""

# Per change action whose index write failed after S3 accepted it, dimension ``action``.
INDEX_WRITE_FAILED: Final = "IndexWriteFailed"
"""The derived index lags behind S3 for that change until a later write or ``index rebuild``."""
