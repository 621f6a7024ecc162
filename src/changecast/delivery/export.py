"""Delivery status as CSV: one row per recipient (with the drill-down) or per customer and event."""

from __future__ import annotations

import csv
import io

from changecast.delivery.status import ChangeDeliveries, CustomerDelivery, EventDelivery

COLUMNS = (
    "change_id", "version", "customer", "event", "state", "sent", "delivered", "bounced",
    "complained", "failed", "recipient", "channel", "outcome", "reason", "at",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Text a spreadsheet would run as a formula is quoted with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _delivery(
    deliveries: ChangeDeliveries, customer: CustomerDelivery, item: EventDelivery
) -> list[object]:
    record = item.record
    counts = (
        [record.sent, record.delivered, record.bounced, record.complained, record.failed]
        if record is not None
        else ["", "", "", "", ""]
    )
    return [
        deliveries.change_id,
        item.version,
        customer.customer_code,
        item.event.value,
        item.state.value,
        *counts,
    ]


def deliveries_csv(deliveries: ChangeDeliveries) -> str:
    """Pure: the CSV text; recipients' rows when the drill-down was asked for."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for customer in deliveries.customers:
        events = {i.event: i for i in customer.current if i.version == deliveries.version}
        if customer.recipients is None:
            for item in customer.current:
                writer.writerow(
                    [_cell(v) for v in [*_delivery(deliveries, customer, item)] + [""] * 5]
                )
            continue
        for person in customer.recipients:
            item = events.get(person.event) or EventDelivery(
                event=person.event, version=deliveries.version, state=customer.state
            )
            tail = [
                person.address,
                person.channel,
                person.outcome,
                person.reason,
                person.at.isoformat(),
            ]
            writer.writerow([_cell(v) for v in [*_delivery(deliveries, customer, item), *tail]])
    return buffer.getvalue()
