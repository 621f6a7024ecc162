"""Re-drive one customer: S3-event-shaped messages for its latest triggers, to its own queue.

The message goes straight to that customer's queue; the ledger makes the worker send only to the
recipients not yet sent.
"""

from __future__ import annotations

from pydantic import ValidationError

from changecast.aws.sqs import SqsQueue
from changecast.bootstrap import Runtime
from changecast.changes.models import Change
from changecast.distribution.models import TRIGGER_KEY, Trigger
from changecast.errors import InvalidInputError, NotFoundError
from changecast.workers.messages import s3_event_body
from changecast.workers.wiring import queue_urls


def latest_triggers(runtime: Runtime, change: Change, customer: str) -> list[str]:
    """The keys of ``customer``'s latest triggers: those of the current version's last action."""
    prefix = f"customers/{customer}/{change.change_id}-v{change.version}-"
    found: list[Trigger] = []
    for key in runtime.store.list_keys(prefix):
        match = TRIGGER_KEY.match(key)
        if match is None or int(match.group(3)) != change.version:
            continue
        try:
            found.append(Trigger.model_validate_json(runtime.store.get(key).body))
        except (NotFoundError, ValidationError):
            continue
    newest = max((t.created_at for t in found), default=None)
    return sorted(t.key for t in found if t.created_at == newest)


def redeliver(*, runtime: Runtime, change: Change, customer: str) -> list[str]:
    """Queue each current trigger of ``customer`` again; returns the keys queued."""
    if customer not in change.customer_codes:
        raise InvalidInputError(
            f"change {change.change_id} is not for customer {customer!r}", field="customer"
        )
    keys = latest_triggers(runtime, change, customer)
    if not keys:
        raise NotFoundError(
            f"no trigger of version {change.version} for {customer} to redeliver "
            "(triggers expire after 30 days; use retry to write them again)",
            customer=customer,
        )
    url, _ = queue_urls(runtime, customer)
    queue = SqsQueue(runtime.aws.client("sqs"), url)
    bucket = runtime.config.s3_config.bucket_name
    for key in keys:
        queue.send(s3_event_body(bucket, key))
    return keys
