"""Rebuild the derived change index from the object store alone (ports only: no SQL, no boto3).

A document that does not validate, or that the index refuses, is reported (by key) and skipped;
it never stops the rebuild. Only a failing database stops it: ``MAX_WRITE_FAILURES`` refused
writes in a row. A document holding what the index cannot store (NUL, which PostgreSQL's text
refuses) is indexed without it and named under ``cleaned``; the S3 object is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from changecast.access.survey import SurveyAnswer, SurveyAnswers
from changecast.audit.models import AuditEvent
from changecast.audit.ports import AuditIndex
from changecast.changes.archive import ChangeArchive, decode
from changecast.changes.models import Change
from changecast.changes.ports import ChangeIndex
from changecast.delivery.models import ExecutionDocument
from changecast.delivery.ports import DeliveryReadModel
from changecast.errors import NotFoundError, UpstreamError, problems_from_pydantic
from changecast.layout import (
    ARCHIVE,
    AUDIT,
    DRAFT_KEY,
    DRAFTS,
    EXECUTION_KEY,
    EXECUTIONS,
    LATEST_KEY,
    SURVEY_KEY,
    SURVEYS,
    VERSION_KEY,
)
from changecast.ports import ObjectStore
from changecast.text_input import storable_value

log = structlog.get_logger()

T = TypeVar("T")
MAX_WRITE_FAILURES = 3
"""Refused index writes in a row that mean the database, not a document, is failing."""
CLEANED = (
    "holds NUL characters, which the index cannot store: indexed without them "
    "(the S3 object is unchanged)"
)


class RebuildProblem(BaseModel):
    """One object that could not be loaded, and why."""

    model_config = ConfigDict(frozen=True)

    key: str
    reason: str


class RebuildReport(BaseModel):
    """What a rebuild loaded, and every object it had to skip."""

    model_config = ConfigDict(frozen=True)

    changes: int = 0
    drafts: int = 0
    versions: int = 0
    executions: int = 0
    audit_events: int = Field(default=0, description="events reloaded from audit/ (idempotent)")
    skipped_drafts: int = Field(default=0, description="drafts shadowed by a latest pointer")
    errors: list[RebuildProblem] = Field(default_factory=list)
    """Objects skipped: not loaded into the index (each named by its key, with the reason)."""
    cleaned: list[RebuildProblem] = Field(default_factory=list)
    """Objects indexed without the characters the index cannot store (NUL)."""


class _DocumentError(Exception):
    """A stored object that cannot be indexed (internal: becomes a RebuildProblem)."""


def rebuild_index(
    *,
    archive: ChangeArchive,
    store: ObjectStore,
    index: ChangeIndex,
    audit_index: AuditIndex | None = None,
    read_model: DeliveryReadModel | None = None,
    surveys: SurveyAnswers | None = None,
) -> RebuildReport:
    """Empty ``index`` and load it again from ``store``; the report lists every skipped object.

    Order: archived versions (oldest first), drafts that have no latest pointer, the latest
    pointers (so each change's current row is its latest document), then execution results.
    With ``audit_index``, every event under ``audit/`` is added to it too (the trail is
    append-only: events already there stay, missing ones are added). With ``read_model``, the
    delivery read model is emptied and loaded again from the execution results, and its outcome
    counts recounted from the recipients' kept SES outcomes (which a rebuild keeps). With
    ``surveys``, every answer under ``surveys/`` is indexed (answers never change: added once).
    """
    run = _Rebuild(archive=archive, store=store, index=index)
    index.clear()
    run.load_versions()
    run.load_drafts()
    run.load_latest()
    if read_model is not None:
        read_model.clear()
        run.load_executions(read_model)
        read_model.recount_outcomes()
    if audit_index is not None:
        run.load_audit(audit_index)
    if surveys is not None:
        run.load_surveys(surveys)
    report = run.report()
    log.info(
        "index_rebuilt",
        changes=report.changes,
        drafts=report.drafts,
        versions=report.versions,
        executions=report.executions,
        audit_events=report.audit_events,
        errors=len(report.errors),
        cleaned=len(report.cleaned),
    )
    return report


class _Rebuild:
    """The state of one rebuild run: what was listed, counted and skipped."""

    def __init__(self, *, archive: ChangeArchive, store: ObjectStore, index: ChangeIndex) -> None:
        self.archive = archive
        self.store = store
        self.index = index
        self.counts = dict.fromkeys(
            ("changes", "drafts", "versions", "executions", "audit", "skipped"), 0
        )
        self.errors: list[RebuildProblem] = []
        self.cleaned: list[RebuildProblem] = []
        self._failures = 0
        self.latest_keys: dict[str, str] = {}
        self.version_keys: list[tuple[str, int, str]] = []
        self._list_archive()

    def report(self) -> RebuildReport:
        c = self.counts
        return RebuildReport(
            changes=c["changes"],
            drafts=c["drafts"],
            versions=c["versions"],
            executions=c["executions"],
            audit_events=c["audit"],
            skipped_drafts=c["skipped"],
            errors=list(self.errors),
            cleaned=list(self.cleaned),
        )

    def _list_archive(self) -> None:
        for key in self.store.list_keys(ARCHIVE):
            if latest := LATEST_KEY.match(key):
                self.latest_keys[latest.group(1)] = key
            elif version := VERSION_KEY.match(key):
                self.version_keys.append((version.group(4), int(version.group(5)), key))
            elif not key.endswith("/"):
                self._skip(key, "the key does not follow the archive layout")
        self.version_keys.sort()

    def load_versions(self) -> None:
        for change_id, version, key in self.version_keys:
            change = self._read(key, change_id, version)
            if change is not None and self._write(
                key, partial(self.index.upsert, change, archived=True)
            ):
                self.counts["versions"] += 1

    def load_drafts(self) -> None:
        for key in self.store.list_keys(DRAFTS):
            match = DRAFT_KEY.match(key)
            if match is None:
                if not key.endswith("/"):
                    self._skip(key, "the key does not follow the drafts layout")
            elif match.group(1) in self.latest_keys:
                self.counts["skipped"] += 1
            elif (change := self._read(key, match.group(1), None)) is not None and self._write(
                key, partial(self.index.upsert, change, archived=False)
            ):
                self.counts["drafts"] += 1

    def load_latest(self) -> None:
        for change_id, key in sorted(self.latest_keys.items()):
            change = self._read(key, change_id, None)
            if change is not None and self._write(
                key, partial(self.index.upsert, change, archived=True)
            ):
                self.counts["changes"] += 1

    def load_executions(self, read_model: DeliveryReadModel) -> None:
        for key in self.store.list_keys(EXECUTIONS):
            match = EXECUTION_KEY.match(key)
            if match is None:
                if not key.endswith("/"):
                    self._skip(key, "the key does not follow the executions layout")
                continue
            document = self._attempt(key, partial(self._execution, key))
            if document is None:
                continue
            for record in document.events.values():
                if self._write(key, partial(read_model.record_execution, record)):
                    self.counts["executions"] += 1

    def load_audit(self, audit_index: AuditIndex) -> None:
        for key in self.store.list_keys(AUDIT):
            if not key.endswith(".json"):
                if not key.endswith("/"):
                    self._skip(key, "the key does not follow the audit layout")
                continue
            event = self._attempt(key, partial(self._audit_event, key))
            if event is not None and self._write(key, partial(audit_index.add, event)):
                self.counts["audit"] += 1

    def load_surveys(self, surveys: SurveyAnswers) -> None:
        for key in self.store.list_keys(SURVEYS):
            if SURVEY_KEY.match(key) is None:
                if not key.endswith("/"):
                    self._skip(key, "the key does not follow the surveys layout")
                continue
            answer = self._attempt(key, partial(self._survey_answer, key))
            if answer is not None:
                self._write(key, partial(surveys.record, answer))

    def _survey_answer(self, key: str) -> SurveyAnswer:
        body = self.store.get(key).body
        try:
            answer = SurveyAnswer.model_validate_json(body)
        except ValidationError as exc:
            problems = problems_from_pydantic(exc.errors())
            raise _DocumentError("; ".join(f"{p.field}: {p.problem}" for p in problems)) from None
        self._note_unstorable(key, body, answer)
        return answer

    def _audit_event(self, key: str) -> AuditEvent:
        body = self.store.get(key).body
        try:
            event = AuditEvent.model_validate_json(body)
        except ValidationError as exc:
            problems = problems_from_pydantic(exc.errors())
            raise _DocumentError("; ".join(f"{p.field}: {p.problem}" for p in problems)) from None
        self._note_unstorable(key, body, event)
        return event

    def _change(self, key: str) -> Change:
        body = self.store.get(key).body
        change = decode(key, body)
        self._note_unstorable(key, body, change)
        return change

    def _note_unstorable(self, key: str, body: bytes, document: BaseModel) -> None:
        """Name a document holding NUL (escaped in its JSON): the index stores it without."""
        if b"\\u0000" not in body:
            return
        dumped = document.model_dump(mode="json")
        if storable_value(dumped) != dumped:
            log.warning("index_rebuild_cleaned", key=key)
            self.cleaned.append(RebuildProblem(key=key, reason=CLEANED))

    def _write(self, key: str, write: Callable[[], object]) -> bool:
        """Write one document to the index; a refused write skips it (True: written).

        ``MAX_WRITE_FAILURES`` refusals in a row re-raise: the database is failing.
        """
        try:
            write()
        except Exception as exc:  # the index's own errors (SQL) are not ours to name
            self._failures += 1
            if self._failures >= MAX_WRITE_FAILURES:
                raise
            text = str(exc).splitlines()[0] if str(exc) else ""
            self._skip(key, f"the index refused it: {type(exc).__name__}: {text}"[:500])
            return False
        self._failures = 0
        return True

    def _read(self, key: str, change_id: str, version: int | None) -> Change | None:
        change = self._attempt(key, partial(self._change, key))
        if change is None:
            return None
        if change.change_id != change_id or (version is not None and change.version != version):
            self._skip(key, f"the document is change {change.change_id} v{change.version}")
            return None
        return change

    def _execution(self, key: str) -> ExecutionDocument:
        body = self.store.get(key).body
        try:
            document = ExecutionDocument.model_validate_json(body)
        except ValidationError as exc:
            problems = problems_from_pydantic(exc.errors())
            raise _DocumentError("; ".join(f"{p.field}: {p.problem}" for p in problems)) from None
        expected = key.removeprefix(EXECUTIONS).removesuffix(".json")
        found = f"{document.change_id}/v{document.version}/{document.customer_code}"
        records = {
            f"{r.change_id}/v{r.version}/{r.customer_code}" for r in document.events.values()
        }
        if found != expected or records - {expected}:
            raise _DocumentError(f"the document's records are not all for {expected}")
        self._note_unstorable(key, body, document)
        return document

    def _attempt(self, key: str, load: Callable[[], T]) -> T | None:
        try:
            return load()
        except (_DocumentError, NotFoundError) as exc:
            self._skip(key, str(exc))
        except UpstreamError as exc:
            if exc.retryable:
                raise
            self._skip(key, str(exc))
        return None

    def _skip(self, key: str, reason: str) -> None:
        log.warning("index_rebuild_skipped", key=key, reason=reason)
        self.errors.append(RebuildProblem(key=key, reason=reason))
