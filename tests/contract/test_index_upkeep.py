"""Search at scale: what an index grown by upserts needs (migration 0004, ``optimize()``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from changecast.changes.models import ChangeQuery
from changecast.index import fulltext
from changecast.index.store import SqlChangeIndex
from tests.contract.conftest import EPOCH, make_change


def _found(index: SqlChangeIndex, **query: object) -> list[str]:
    return [i.change_id for i in index.find(ChangeQuery.model_validate(query)).items]


def test_a_change_that_drops_its_customers_becomes_customerless(index: SqlChangeIndex) -> None:
    change = make_change("Rotate keys", customers=("acme",), created_by="ann@example.com")
    index.upsert(change, archived=False)
    beta = frozenset({"beta"})
    assert _found(index, visible_customers=beta) == []
    bare = change.model_copy(
        update={
            "version": 2,
            "change_metadata": change.change_metadata.model_copy(update={"customer_codes": []}),
        }
    )
    index.upsert(bare, archived=False)
    assert _found(index, visible_customers=beta) == [change.change_id]
    assert _found(index, text="rotate", visible_customers=beta) == [change.change_id]
    assert _found(index, visible_customers=beta, customerless_by="bob@example.com") == []
    assert _found(index, visible_customers=beta, customerless_by="ann@example.com") == [
        change.change_id
    ]


def test_optimize_on_an_upsert_grown_index_keeps_every_answer(index: SqlChangeIndex) -> None:
    grown = [
        make_change(
            f"Patch {'database' if n % 3 else 'network'} servers {n}",
            customers=(("acme",), ("beta",), ("acme", "beta"), ())[n % 4],
            modified_at=EPOCH + timedelta(minutes=n),
        )
        for n in range(40)
    ]
    for change in grown:
        index.upsert(change, archived=True)
    queries: list[dict[str, object]] = [
        {"text": "database"},
        {"text": "dat"},
        {"text": "patch servers", "visible_customers": frozenset({"acme"})},
        {"visible_customers": frozenset({"beta"}), "page_size": 50},
    ]
    before = [_found(index, **q) for q in queries]
    index.optimize()
    assert [_found(index, **q) for q in queries] == before
    assert len(before[0]) == 25 and len(before[3]) == 20  # 10 beta-only + 10 customerless


@pytest.mark.parametrize("walk_probes", [0, 1_000_000])
def test_a_window_of_many_matches_ranks_alike_by_walk_or_by_set(
    index: SqlChangeIndex, walk_probes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More matches than the rank window: the newest 5 are ranked (title first), then the rest."""
    monkeypatch.setattr(fulltext, "WALK_PROBES", walk_probes)
    changes = [
        make_change(
            "Firewall rules" if n in (2, 7) else f"Quarterly work {n}",
            reason="" if n in (2, 7) else "touch the firewall",
            modified_at=EPOCH + timedelta(minutes=n),
        )
        for n in range(10)
    ] + [make_change(f"Unrelated {n}", modified_at=EPOCH + timedelta(hours=n)) for n in range(5)]
    for change in changes:
        index.upsert(change, archived=False)
    small = SqlChangeIndex(index.engine, rank_window=5)
    page = small.find(ChangeQuery(text="firewall", page_size=8))
    newest = [changes[n].change_id for n in (9, 8, 7, 6, 5, 4, 3, 2)]
    assert page.total == 10
    assert (
        [i.change_id for i in page.items]
        == [
            newest[2],  # "Firewall rules" in the title, within the 5 newest
            *(newest[n] for n in (0, 1, 3, 4)),
            *newest[5:],  # beyond the window: newest first
        ]
    )
