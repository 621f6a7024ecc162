"""ChangePage: a text search's lower-bound total (PostgreSQL counts no further than the window)."""

from __future__ import annotations

from datetime import UTC, datetime

from changecast.changes.models import ChangePage, ChangeStatus, ChangeSummary

AT = datetime(2025, 3, 1, tzinfo=UTC)


def summaries(count: int) -> list[ChangeSummary]:
    return [
        ChangeSummary(
            change_id=f"00000000-0000-4000-8000-{n:012d}",
            version=1,
            status=ChangeStatus.SUBMITTED,
            title=f"Change {n}",
            customer_codes=[],
            created_by="a@example.com",
            modified_by="a@example.com",
            created_at=AT,
            modified_at=AT,
        )
        for n in range(count)
    ]


def test_an_exact_total_reads_as_a_number_and_bounds_the_pages() -> None:
    page = ChangePage(items=summaries(25), total=1_000, page=40, page_size=25)
    assert (page.total_label, page.last_page) == ("1,000", 40)
    assert page.model_dump(by_alias=True)["totalIsLowerBound"] is False


def test_a_lower_bound_reads_with_a_plus_and_offers_one_more_page_while_pages_are_full() -> None:
    full = ChangePage(
        items=summaries(25), total=1_000, page=40, page_size=25, total_is_lower_bound=True
    )
    assert full.total_label == "1,000+"
    assert full.last_page == 41
    assert full.model_dump(by_alias=True)["totalIsLowerBound"] is True
    first = ChangePage(
        items=summaries(25), total=1_000, page=1, page_size=25, total_is_lower_bound=True
    )
    assert first.last_page == 40
    end = ChangePage(
        items=summaries(3), total=1_000, page=45, page_size=25, total_is_lower_bound=True
    )
    assert end.last_page == 45  # a short page: the matches end here
