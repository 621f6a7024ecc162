"""SqlSurveyIndex: post-change survey answers in the index (``survey_answers``), derived from S3."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from changecast.access.survey import CustomerSurvey, SurveyAnswer
from changecast.errors import UpstreamError
from changecast.index.tables import survey_answers

KEY = ["change_id", "customer_code", "recipient_hash"]


class SqlSurveyIndex:
    """Answers by change (the change view, CSV) and rolling averages by customer (dashboard)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert: Any = dialect.insert

    def record(self, answer: SurveyAnswer) -> None:
        """Store one answer; the same answer again (a rebuild) changes nothing."""
        row = answer.model_dump(mode="python")
        statement = (
            self._insert(survey_answers).values(**row).on_conflict_do_nothing(index_elements=KEY)
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)
        except SQLAlchemyError as exc:
            raise UpstreamError("the index refused a survey answer", retryable=True) from exc

    def for_change(self, change_id: str) -> list[SurveyAnswer]:
        """Every answer of one change, by customer then time."""
        query = (
            select(survey_answers)
            .where(survey_answers.c.change_id == change_id)
            .order_by(survey_answers.c.customer_code, survey_answers.c.answered_at)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
        except SQLAlchemyError as exc:
            raise UpstreamError("the index could not read survey answers", retryable=True) from exc
        return [SurveyAnswer.model_validate(dict(row)) for row in rows]

    def averages(self, *, since: datetime) -> list[CustomerSurvey]:
        """Each customer's answer count and mean rating since ``since`` (the rolling window)."""
        column = survey_answers.c
        query = (
            select(column.customer_code, func.count(), func.avg(column.rating))
            .where(column.answered_at >= since)
            .group_by(column.customer_code)
            .order_by(column.customer_code)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise UpstreamError("the index could not read survey averages", retryable=True) from exc
        return [
            CustomerSurvey(code, int(count), round(float(mean), 2)) for code, count, mean in rows
        ]
