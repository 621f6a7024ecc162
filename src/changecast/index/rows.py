"""Mapping between domain models (Change, its versions) and rows of the index tables."""

from __future__ import annotations

from typing import Any

from changecast.changes.models import (
    AnnouncementKind,
    Change,
    ChangeStatus,
    ChangeSummary,
    NoticeKind,
    VersionSummary,
)
from changecast.index.search import index_text


def change_row(change: Change) -> dict[str, Any]:
    """Build the ``changes`` row of a document (everything but the surrogate ``row_id``)."""
    schedule = change.change_metadata.schedule
    return {
        "change_id": change.change_id,
        "version": change.version,
        "status": change.status.value,
        "title": change.title,
        "customer_codes": list(change.change_metadata.customer_codes),
        "created_by": change.created_by,
        "modified_by": change.modified_by,
        "created_at": change.created_at,
        "modified_at": change.modified_at,
        "start_utc": schedule.start_utc if schedule else None,
        "end_utc": schedule.end_utc if schedule else None,
        "timezone": schedule.timezone if schedule else None,
        "kind": change.kind.value,
        "announcement_kind": (
            None if change.announcement is None else change.announcement.announcement_kind.value
        ),
    }


def search_texts(change: Change) -> dict[str, str]:
    """Build the normalised text that full-text search indexes, in three weighted parts."""
    meta = change.change_metadata
    keywords = [
        change.change_id,
        meta.tickets.service_now,
        meta.tickets.jira,
        *meta.customer_codes,
        *meta.customer_names,
        change.created_by,
    ]
    plans = [
        meta.change_reason,
        meta.implementation_plan,
        meta.test_plan,
        meta.expected_customer_impact,
        meta.rollback_plan,
    ]
    notice = change.announcement
    if notice is not None:
        keywords += [notice.label, f"{notice.announcement_kind.value}-announcement"]
        plans += [notice.summary, notice.body, *(link.title for link in notice.links)]
    return {
        "search_title": index_text([meta.title]),
        "search_keywords": index_text(keywords),
        "search_body": index_text(plans),
    }


def document_row(change: Change) -> dict[str, Any]:
    """Build the ``change_documents`` row: the document and its searchable text."""
    return {
        "change_id": change.change_id,
        **search_texts(change),
        "document": change.to_json_dict(),
    }


def customer_rows(change: Change, row_id: int) -> list[dict[str, Any]]:
    """The ``change_customers`` rows: one per customer, each knowing how many there are."""
    codes = change.change_metadata.customer_codes
    return [
        {
            "change_id": change.change_id,
            "customer_code": code,
            "row_id": row_id,
            "customer_count": len(codes),
        }
        for code in codes
    ]


def version_row(change: Change, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the ``change_versions`` row (``document`` saves serialising the change again)."""
    return {
        "change_id": change.change_id,
        "version": change.version,
        "status": change.status.value,
        "title": change.title,
        "modified_by": change.modified_by,
        "modified_at": change.modified_at,
        "document": change.to_json_dict() if document is None else document,
    }


def summary_of(row: Any) -> ChangeSummary:
    """Build a ``ChangeSummary`` from a row selected with ``SUMMARY_COLUMNS``."""
    return ChangeSummary(
        change_id=row.change_id,
        version=row.version,
        status=ChangeStatus(row.status),
        title=row.title,
        customer_codes=list(row.customer_codes),
        created_by=row.created_by,
        modified_by=row.modified_by,
        created_at=row.created_at,
        modified_at=row.modified_at,
        start_utc=row.start_utc,
        end_utc=row.end_utc,
        timezone=row.timezone,
        kind=NoticeKind(row.kind or NoticeKind.CHANGE.value),
        announcement_kind=(
            AnnouncementKind(row.announcement_kind) if row.announcement_kind else None
        ),
    )


def version_summary_of(row: Any) -> VersionSummary:
    return VersionSummary(
        change_id=row.change_id,
        version=row.version,
        status=ChangeStatus(row.status),
        title=row.title,
        modified_by=row.modified_by,
        modified_at=row.modified_at,
    )
