"""SqlSurveyIndex on SQLite and PostgreSQL: answers per change, rolling averages per customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from changecast.access.links import recipient_hash
from changecast.access.survey import CustomerSurvey, SurveyAnswer, by_customer
from changecast.index.store import SqlChangeIndex
from changecast.index.surveys import SqlSurveyIndex

AT = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def answer(change_id: str, code: str, who: str, rating: int, *, days_ago: int = 0) -> SurveyAnswer:
    return SurveyAnswer(
        change_id=change_id,
        customer_code=code,
        recipient_hash=recipient_hash(who),
        rating=rating,
        comment=f"{who} says {rating}",
        answered_at=AT - timedelta(days=days_ago),
    )


def test_answers_are_kept_once_and_read_back_by_customer(index: SqlChangeIndex) -> None:
    surveys = SqlSurveyIndex(index.engine)
    change_id = str(uuid.uuid4())
    first = answer(change_id, "acme", "a@x.com", 4)
    surveys.record(first)
    surveys.record(first)  # a rebuild writes it again: still one row
    surveys.record(answer(change_id, "globex", "b@x.com", 2))
    surveys.record(answer(change_id, "acme", "c@x.com", 5, days_ago=1))
    surveys.record(answer(str(uuid.uuid4()), "acme", "a@x.com", 1))  # another change
    found = surveys.for_change(change_id)
    assert [(a.customer_code, a.rating) for a in found] == [("acme", 5), ("acme", 4), ("globex", 2)]
    assert found[1] == first
    assert by_customer(found) == [CustomerSurvey("acme", 2, 4.5), CustomerSurvey("globex", 1, 2.0)]


def test_the_rolling_average_counts_only_answers_inside_the_window(index: SqlChangeIndex) -> None:
    surveys = SqlSurveyIndex(index.engine)
    code = f"c{uuid.uuid4().hex[:8]}"
    change_id = str(uuid.uuid4())
    surveys.record(answer(change_id, code, "a@x.com", 5, days_ago=1))
    surveys.record(answer(change_id, code, "b@x.com", 2, days_ago=2))
    surveys.record(answer(change_id, code, "c@x.com", 1, days_ago=200))  # outside 90 days
    averages = {s.customer_code: s for s in surveys.averages(since=AT - timedelta(days=90))}
    assert averages[code] == CustomerSurvey(code, 2, 3.5)
