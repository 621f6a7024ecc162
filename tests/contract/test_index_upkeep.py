"""Search at scale: what an index grown by upserts needs (migration 0004, ``optimize()``)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from changecast.changes.models import ChangeQuery, ChangeStatus
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


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("walk_probes", [0, 1_000_000])
def test_a_window_of_many_matches_ranks_alike_by_walk_or_by_set(
    index: SqlChangeIndex, walk_probes: int, exact: bool, monkeypatch: pytest.MonkeyPatch
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
    small = SqlChangeIndex(index.engine, rank_window=5, exact_totals=exact)
    page = small.find(ChangeQuery(text="firewall", page_size=8))
    newest = [changes[n].change_id for n in (9, 8, 7, 6, 5, 4, 3, 2)]
    bounded = index.dialect == "postgresql" and not exact  # counted up to the window only
    assert (page.total, page.total_is_lower_bound) == ((5, True) if bounded else (10, False))
    assert (
        [i.change_id for i in page.items]
        == [
            newest[2],  # "Firewall rules" in the title, within the 5 newest
            *(newest[n] for n in (0, 1, 3, 4)),
            *newest[5:],  # beyond the window: newest first
        ]
    )


@pytest.mark.parametrize("grow", ["upsert", "bulk_load"])
def test_a_change_is_visible_only_when_every_customer_it_names_is(
    index: SqlChangeIndex, grow: str
) -> None:
    """The visibility filter counts a change's visible customers against all it names."""
    names = {
        "acme": ("acme",),
        "acme+beta": ("acme", "beta"),
        "acme+beta+gamma": ("acme", "beta", "gamma"),
        "beta": ("beta",),
        "none": (),
    }
    made = {
        key: make_change(f"Rotate {key} keys", customers=codes, modified_at=EPOCH + timedelta(n))
        for n, (key, codes) in enumerate(names.items())
    }
    if grow == "bulk_load":
        index.bulk_load(made.values(), archived=False)
    else:
        for change in made.values():
            index.upsert(change, archived=False)

    def visible(*mine: str, text: str | None = None) -> set[str]:
        found = set(_found(index, visible_customers=frozenset(mine), text=text, page_size=50))
        return {key for key, change in made.items() if change.change_id in found}

    assert visible("acme") == {"acme", "none"}
    assert visible("acme", "beta") == {"acme", "acme+beta", "beta", "none"}
    assert visible("acme", "beta", "gamma") == set(names)
    assert visible("beta", "gamma") == {"beta", "none"}
    assert visible("acme", "gamma", text="rotate") == {"acme", "none"}
    assert visible() == {"none"}
    widened = made["acme"].model_copy(
        update={
            "version": 2,
            "change_metadata": made["acme"].change_metadata.model_copy(
                update={"customer_codes": ["acme", "gamma"]}
            ),
        }
    )
    index.upsert(widened, archived=False)
    assert visible("acme") == {"none"}
    assert visible("acme", "gamma", text="keys") == {"acme", "none"}


def test_a_filtered_search_counts_every_match_beyond_the_rank_window(
    index: SqlChangeIndex,
) -> None:
    """Filters and text with more matches than the window: the total, then newest first.

    PostgreSQL counts no further than the window (then the total is a lower bound) unless the
    index is told to count exactly; SQLite always counts exactly.
    """
    changes = [
        make_change(
            f"Firewall change {n}",
            status=ChangeStatus.APPROVED if n % 2 else ChangeStatus.SUBMITTED,
            modified_at=EPOCH + timedelta(minutes=n),
        )
        for n in range(12)
    ]
    for change in changes:
        index.upsert(change, archived=False)
    approved = [c.change_id for c in reversed(changes) if c.status is ChangeStatus.APPROVED]
    for window, exact in itertools.product((3, 6, 7), (False, True)):  # vs the 6 matches
        small = SqlChangeIndex(index.engine, rank_window=window, exact_totals=exact)
        query = ChangeQuery(text="firewall", status=ChangeStatus.APPROVED, page_size=10)
        page = small.find(query)
        bounded = index.dialect == "postgresql" and not exact and window < 6
        expected = (window, True) if bounded else (6, False)
        assert (page.total, page.total_is_lower_bound) == expected, window
        assert sorted(i.change_id for i in page.items) == sorted(approved), window
        assert [i.change_id for i in page.items][window:] == approved[window:], window


@pytest.mark.parametrize("walk_probes", [0, 1_000_000])
@pytest.mark.parametrize("grow", ["upsert", "bulk_load"])
def test_a_search_follows_a_change_that_is_modified_without_new_text(
    index: SqlChangeIndex, grow: str, walk_probes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0011: the recency kept beside the tsvector follows ``modified_at`` when the text stays.

    A new version with the same words fires no tsvector trigger; the newest-first order of a
    search (equal scores: newest first) must still see the new time, by walk or by set.
    """
    monkeypatch.setattr(fulltext, "WALK_PROBES", walk_probes)
    made = [
        make_change("Rotate the firewall keys", modified_at=EPOCH + timedelta(minutes=n))
        for n in range(4)
    ]
    write = index.bulk_load if grow == "bulk_load" else None
    if write is None:
        for change in made:
            index.upsert(change, archived=True)
    else:
        write(made, archived=True)
    oldest = made[0]
    touched = oldest.model_copy(update={"version": 2, "modified_at": EPOCH + timedelta(hours=1)})
    if write is None:
        index.upsert(touched, archived=True)
    else:
        write([touched], archived=True)
    expected = [oldest.change_id, *(c.change_id for c in reversed(made[1:]))]
    small = SqlChangeIndex(index.engine, rank_window=2)  # ranked window, then newest first
    assert _found(small, text="firewall", page_size=10) == expected
    assert _found(index, text="firewall", page_size=10) == expected
    assert _found(index, text="firewall", status=ChangeStatus.SUBMITTED, page_size=10) == expected
    approved = made[2].model_copy(update={"version": 2, "status": ChangeStatus.APPROVED})
    if write is None:
        index.upsert(approved, archived=True)
    else:
        write([approved], archived=True)
    assert _found(index, text="firewall", status=ChangeStatus.APPROVED) == [approved.change_id]
    assert approved.change_id not in _found(index, text="firewall", status=ChangeStatus.SUBMITTED)
