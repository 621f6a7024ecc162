"""The S3 layout: every key the system writes or reads, and the pattern that recognises it.

One module, so that a key is built and parsed in one place. Ids reach a key builder already
validated (``ids.parse_change_id``, ``CUSTOMER_CODE_PATTERN``); the patterns accept only keys the
builders can produce. New keys are added here (with a line in ARCHITECTURE's S3 layout table).
"""

from __future__ import annotations

import re
from datetime import datetime

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CODE = r"[a-z0-9][a-z0-9-]{0,31}"

DRAFTS = "drafts/"
"""``drafts/{changeId}.json``: working copies; never trigger mail."""
ARCHIVE = "archive/"
"""``archive/YYYY/MM/DD/{changeId}-v{n}.json``: immutable versions."""
LATEST = "archive/latest/"
"""``archive/latest/{changeId}.json``: the current version (conditional writes)."""
CUSTOMERS = "customers/"
"""``customers/{code}/{changeId}-v{n}-{event}.json``: one trigger per customer (30-day expiry)."""
EXECUTIONS = "executions/"
"""``executions/{changeId}/v{n}/{code}.json``: what a worker sent for one version and customer."""
AUDIT = "audit/"
"""``audit/YYYY/MM/DD/{timestamp}-{eventId}.json``: the append-only audit trail."""
CONFIG = "config/"
"""``config/config.json`` and ``config/SESConfig.json`` when the configuration lives in S3."""

DRAFT_KEY = re.compile(rf"^drafts/({UUID})\.json$")
LATEST_KEY = re.compile(rf"^archive/latest/({UUID})\.json$")
VERSION_KEY = re.compile(rf"^archive/(\d{{4}})/(\d{{2}})/(\d{{2}})/({UUID})-v(\d+)\.json$")
TRIGGER_KEY = re.compile(rf"^customers/({CODE})/({UUID})-v(\d+)-([a-z][a-z_]{{0,23}})\.json$")
"""Groups: customer code, change id, version, event."""
EXECUTION_KEY = re.compile(rf"^executions/({UUID})/v(\d+)/({CODE})\.json$")
"""Groups: change id, version, customer code."""


def draft_key(change_id: str) -> str:
    return f"{DRAFTS}{change_id}.json"


def latest_key(change_id: str) -> str:
    return f"{LATEST}{change_id}.json"


def version_key(change_id: str, created_at: datetime, version: int) -> str:
    """Versions are filed under the change's creation date, so all its versions sit together."""
    return f"{ARCHIVE}{created_at:%Y/%m/%d}/{change_id}-v{version}.json"


def customer_prefix(customer_code: str) -> str:
    """Every trigger of one customer (the worker's queue is fed from here)."""
    return f"{CUSTOMERS}{customer_code}/"


def trigger_prefix(customer_code: str, change_id: str) -> str:
    """Every trigger of one change for one customer, all versions and events."""
    return f"{customer_prefix(customer_code)}{change_id}-v"


def trigger_key(customer_code: str, change_id: str, version: int, event: str) -> str:
    """One trigger per customer, version and event (``DistributionEvent`` value)."""
    return f"{trigger_prefix(customer_code, change_id)}{version}-{event}.json"


def execution_prefix(change_id: str) -> str:
    """Every execution document of one change."""
    return f"{EXECUTIONS}{change_id}/"


def execution_key(change_id: str, version: int, customer_code: str) -> str:
    """Where a worker writes its results for one version and customer."""
    return f"{execution_prefix(change_id)}v{version}/{customer_code}.json"


def audit_key(at: datetime, event_id: str) -> str:
    """One object per audit event, in time order (microseconds in the name)."""
    stamp = at.strftime("%Y%m%dT%H%M%S") + f".{at.microsecond:06d}Z"
    return f"{AUDIT}{at:%Y/%m/%d}/{stamp}-{event_id}.json"


SIGNOFFS = "signoffs/"
"""Customer sign-offs (H-16b): one single-use marker per recipient and version, the record."""
FEEDS = "feeds/"
"""Calendar-feed tokens (H-16b): one secret per customer."""
SIGNOFF_KEY = re.compile(rf"^signoffs/({UUID})/v(\d+)/({CODE})/([0-9a-f]{{32}})\.json$")
"""Groups: change id, version, customer code, recipient hash."""


def signoff_prefix(change_id: str, version: int) -> str:
    """Every sign-off of one version of a change."""
    return f"{SIGNOFFS}{change_id}/v{version}/"


def signoff_key(change_id: str, version: int, customer_code: str, recipient_hash: str) -> str:
    """One recipient's answer (``recipient_hash``: ``access.links.recipient_hash``)."""
    return f"{signoff_prefix(change_id, version)}{customer_code}/{recipient_hash}.json"


SURVEYS = "surveys/"
"""Post-change survey answers (H-17): one single-use marker per recipient and change, the answer."""
SURVEY_KEY = re.compile(rf"^surveys/({UUID})/({CODE})/([0-9a-f]{{32}})\.json$")
"""Groups: change id, customer code, recipient hash."""


def survey_prefix(change_id: str) -> str:
    """Every survey answer of one change."""
    return f"{SURVEYS}{change_id}/"


def survey_key(change_id: str, customer_code: str, recipient_hash: str) -> str:
    """One recipient's survey answer (``recipient_hash``: ``access.links.recipient_hash``)."""
    return f"{survey_prefix(change_id)}{customer_code}/{recipient_hash}.json"


def feed_token_key(customer_code: str) -> str:
    """The secret token of a customer's calendar feed."""
    return f"{FEEDS}{customer_code}/token.json"
