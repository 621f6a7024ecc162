"""The workers ``local up`` runs beside the API: one per customer once delivery exists."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from changecast.local.system import Background, LocalOptions


def local_workers(options: LocalOptions) -> list[Background]:
    """No delivery workers yet: triggers wait on each customer's queue until a worker reads them."""
    del options
    return []
