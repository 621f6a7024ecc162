"""Render audit events for export: CSV (one row per event) or a JSON array (camelCase keys)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from changecast.audit.models import AuditEvent

FORMATS = ("csv", "json")
CSV_COLUMNS = (
    "event_id", "at", "actor", "role", "source_ip", "action", "change_id", "version",
    "customers", "changed_fields", "status_from", "status_to", "comment", "detail",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Lists joined by ``;``; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        text = ""
    elif isinstance(value, list):
        text = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        row = event.model_dump(mode="json")
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    yield "["
    for number, event in enumerate(events):
        yield ("," if number else "") + "\n" + event.model_dump_json(by_alias=True)
    yield "\n]\n"
