"""The ChangeIndex contract, run against SqlChangeIndex on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changecast.changes.models import Change, ChangeQuery, ChangeStatus
from changecast.errors import InvalidInputError
from changecast.index.engine import open_index
from changecast.index.store import SqlChangeIndex
from tests.contract.conftest import EPOCH, POSTGRES_URL, make_change, sqlite_index

S = ChangeStatus


def ids(index: SqlChangeIndex, **query: object) -> list[str]:
    return [item.change_id for item in index.find(ChangeQuery.model_validate(query)).items]


def at(minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


# writes -------------------------------------------------------------------------------------


def test_upsert_then_summary_returns_the_current_state(index: SqlChangeIndex) -> None:
    change = make_change(
        customers=("acme", "beta"), start=datetime(2025, 9, 20, 10, 0), timezone="America/New_York"
    )
    index.upsert(change, archived=True)
    summary = index.summary(change.change_id)
    assert summary is not None
    assert summary.title == change.title
    assert summary.customer_codes == ["acme", "beta"]
    assert summary.status is S.SUBMITTED
    assert summary.start_utc == datetime(2025, 9, 20, 14, 0, tzinfo=UTC)
    assert summary.end_utc == datetime(2025, 9, 20, 16, 0, tzinfo=UTC)
    assert summary.timezone == "America/New_York"
    assert summary.modified_at == EPOCH
    assert index.summary("00000000-0000-4000-8000-000000000000") is None


def test_upserting_the_same_document_twice_leaves_the_same_rows(index: SqlChangeIndex) -> None:
    change = make_change(customers=("acme", "beta"))
    index.upsert(change, archived=True)
    first = (index.find(ChangeQuery()), index.versions(change.change_id))
    index.upsert(change, archived=True)
    assert (index.find(ChangeQuery()), index.versions(change.change_id)) == first
    assert index.find(ChangeQuery(text="patch")).total == 1
    assert index.find(ChangeQuery(customer="beta")).total == 1


def test_a_draft_has_no_version_row(index: SqlChangeIndex) -> None:
    draft = make_change(status=S.DRAFT)
    index.upsert(draft, archived=False)
    assert index.versions(draft.change_id) == []
    assert ids(index, status=S.DRAFT) == [draft.change_id]


def test_archived_upsert_replaces_that_versions_row(index: SqlChangeIndex) -> None:
    submitted = make_change()
    approved = submitted.model_copy(update={"status": S.APPROVED, "modified_at": at(5)})
    index.upsert(submitted, archived=True)
    index.upsert(approved, archived=True)
    [only] = index.versions(submitted.change_id)
    assert (only.version, only.status, only.modified_at) == (1, S.APPROVED, at(5))


def test_versions_are_listed_oldest_first(index: SqlChangeIndex) -> None:
    first = make_change("Version one")
    cid = first.change_id
    for number in (3, 1, 2):
        index.upsert(make_change(f"Version {number}", change_id=cid, version=number), archived=True)
    assert [(v.version, v.title) for v in index.versions(cid)] == [
        (1, "Version 1"),
        (2, "Version 2"),
        (3, "Version 3"),
    ]
    assert index.versions("00000000-0000-4000-8000-000000000000") == []


def test_each_versions_document_is_kept_and_a_draft_has_none(index: SqlChangeIndex) -> None:
    first = make_change("Version one")
    second = make_change("Version two", change_id=first.change_id, version=2)
    index.bulk_load([first, second])  # one batch: the older version's row is serialised alone
    assert index.version_document(first.change_id, 1) == first
    assert index.version_document(first.change_id, 2) == second
    assert index.version_document(first.change_id, 3) is None
    draft = make_change("A draft", status=S.DRAFT)
    index.upsert(draft, archived=False)
    assert index.version_document(draft.change_id, 1) is None
    assert index.version_document("00000000-0000-4000-8000-000000000000", 1) is None


def test_customers_are_replaced_when_a_change_is_edited(index: SqlChangeIndex) -> None:
    change = make_change(customers=("acme", "beta"))
    index.upsert(change, archived=True)
    edited = make_change(customers=("gamma",), change_id=change.change_id, version=2)
    index.upsert(edited, archived=True)
    assert ids(index, customer="acme") == []
    assert ids(index, customer="gamma") == [change.change_id]


def test_a_changed_title_is_searchable_and_the_old_one_is_not(index: SqlChangeIndex) -> None:
    change = make_change("Rotate certificates")
    index.upsert(change, archived=False)
    index.upsert(make_change("Upgrade kernels", change_id=change.change_id), archived=False)
    assert ids(index, text="certificates") == []
    assert ids(index, text="kernels") == [change.change_id]


def test_remove_forgets_the_change_and_all_its_rows(index: SqlChangeIndex) -> None:
    keep, gone = make_change("Keep me"), make_change("Remove me")
    for change in (keep, gone):
        index.upsert(change, archived=True)
    index.remove(gone.change_id)
    index.remove(gone.change_id)  # idempotent
    assert index.summary(gone.change_id) is None
    assert index.versions(gone.change_id) == []
    assert index.document(gone.change_id) is None
    assert ids(index, text="remove") == []
    assert ids(index) == [keep.change_id]


def test_clear_deletes_every_row(index: SqlChangeIndex) -> None:
    change = make_change()
    index.upsert(change, archived=True)
    index.clear()
    assert index.find(ChangeQuery()).total == 0
    assert index.find(ChangeQuery(text="patch")).total == 0
    assert index.versions(change.change_id) == []
    assert index.document(change.change_id) is None


def test_bulk_load_matches_one_upsert_at_a_time(index: SqlChangeIndex) -> None:
    first = make_change("Rotate the certificates", customers=("acme",), modified_at=at(1))
    second = make_change(
        "Rotate the certificates again",
        customers=("beta", "gamma"),
        change_id=first.change_id,
        version=2,
        modified_at=at(2),
    )
    other = make_change(
        "Kernel upgrade", customers=("beta",), reason="certificates", modified_at=at(3)
    )
    assert index.bulk_load([first, second, other]) == 3
    found = index.find(ChangeQuery(text="certificates"))
    assert [i.change_id for i in found.items] == [first.change_id, other.change_id]
    assert [v.version for v in index.versions(first.change_id)] == [1, 2]
    assert ids(index, customer="gamma") == [first.change_id]
    assert ids(index, customer="acme") == []
    index.bulk_load([second, other])
    index.upsert(other, archived=True)
    assert index.find(ChangeQuery(text="certificates")) == found
    assert [v.version for v in index.versions(first.change_id)] == [1, 2]


# the current document -----------------------------------------------------------------------


def test_document_is_the_latest_upserted_document(index: SqlChangeIndex) -> None:
    first = make_change("Rotate the certificates")
    second = make_change("Rotate them again", change_id=first.change_id, version=2)
    index.upsert(first, archived=True)
    index.upsert(second, archived=True)
    assert index.document(first.change_id) == second
    draft = make_change("A draft", status=S.DRAFT)
    index.upsert(draft, archived=False)
    assert index.document(draft.change_id) == draft
    assert index.document("00000000-0000-4000-8000-000000000000") is None


# listing and filters ------------------------------------------------------------------------


def test_a_list_is_newest_modified_first(index: SqlChangeIndex) -> None:
    changes = [make_change(f"Change {n}", modified_at=at(n)) for n in (5, 1, 9, 3)]
    for change in changes:
        index.upsert(change, archived=True)
    by_time = sorted(changes, key=lambda c: c.modified_at, reverse=True)
    assert ids(index) == [c.change_id for c in by_time]


def test_pages_carry_the_exact_total(index: SqlChangeIndex) -> None:
    changes = [make_change(f"Change {n}", modified_at=at(n)) for n in range(23)]
    for change in changes:
        index.upsert(change, archived=False)
    newest = [c.change_id for c in reversed(changes)]
    pages = [index.find(ChangeQuery(page=n, page_size=10)) for n in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [23, 23, 23, 23]
    assert [len(p.items) for p in pages] == [10, 10, 3, 0]
    assert [i.change_id for p in pages for i in p.items] == newest
    assert (pages[1].page, pages[1].page_size) == (2, 10)


def test_exact_filters_combine(index: SqlChangeIndex) -> None:
    june, july = datetime(2025, 6, 1, 12, 0), datetime(2025, 7, 1, 12, 0)

    def bob(**differs: Any) -> Change:
        wanted: dict[str, Any] = {"status": S.APPROVED, "customers": ("acme", "beta")}
        return make_change(**(wanted | {"created_by": "bob@x.org", "start": june} | differs))

    match = bob()
    others = [
        bob(status=S.SUBMITTED),
        bob(customers=("gamma",)),
        bob(created_by="carol@x.org"),
        bob(start=july),
        bob(start=None),
    ]
    for change in [match, *others]:
        index.upsert(change, archived=True)
    query = ChangeQuery(
        status=S.APPROVED,
        customer="beta",
        created_by="bob@x.org",
        starts_from=datetime(2025, 6, 1, 12, 0, tzinfo=UTC),
        starts_to=datetime(2025, 6, 30, tzinfo=UTC),
    )
    found = index.find(query)
    assert [i.change_id for i in found.items] == [match.change_id]
    assert found.total == 1


def test_start_range_is_inclusive_and_naive_bounds_are_utc(index: SqlChangeIndex) -> None:
    noon = make_change(start=datetime(2025, 6, 1, 14, 0), timezone="Europe/Paris")  # 12:00 UTC
    index.upsert(noon, archived=True)
    exact = datetime(2025, 6, 1, 12, 0)
    assert ids(index, starts_from=exact, starts_to=exact) == [noon.change_id]
    assert ids(index, starts_from=exact + timedelta(seconds=1)) == []
    assert ids(index, starts_to=datetime(2025, 6, 1, 11, 59, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("visible", "customerless_by", "expected"),
    [
        (None, None, {"acme", "beta", "both", "none"}),
        (None, "ann@example.com", {"acme", "beta", "both", "none"}),
        (None, "bob@example.com", {"acme", "beta", "both"}),
        (frozenset({"acme"}), None, {"acme", "none"}),
        (frozenset({"acme"}), "bob@example.com", {"acme"}),
        (frozenset({"acme", "beta"}), "ann@example.com", {"acme", "beta", "both", "none"}),
        (frozenset({"beta", "zulu"}), "bob@example.com", {"beta"}),
        (frozenset({"zulu"}), "bob@example.com", set()),
        (frozenset(), "bob@example.com", set()),
    ],
)
def test_visible_customers_limit_what_is_found(
    index: SqlChangeIndex,
    visible: frozenset[str] | None,
    customerless_by: str | None,
    expected: set[str],
) -> None:
    """Only changes whose every customer is visible; one naming none only for its creator."""
    for title, customers in [
        ("acme", ("acme",)),
        ("beta", ("beta",)),
        ("both", ("acme", "beta")),
        ("none", ()),
    ]:
        change = make_change(f"{title} change", customers=customers, created_by="ann@example.com")
        index.upsert(change, archived=False)
    for text in (None, "change"):
        query = ChangeQuery(text=text, visible_customers=visible, customerless_by=customerless_by)
        found = index.find(query)
        assert {item.title.split()[0] for item in found.items} == expected
        assert found.total == len(expected)


# search -------------------------------------------------------------------------------------


def test_a_title_match_outranks_a_body_only_match(index: SqlChangeIndex) -> None:
    title = make_change("Firewall rules refresh", modified_at=at(1))
    body = make_change(
        "Quarterly maintenance",
        reason="We touch the firewall and the firewall logs during the window",
        plan="firewall",
        modified_at=at(2),
    )
    unrelated = make_change("Quarterly patching", modified_at=at(3))
    for change in (title, body, unrelated):
        index.upsert(change, archived=True)
    assert ids(index, text="firewall") == [title.change_id, body.change_id]


def test_equal_relevance_is_ordered_newest_first(index: SqlChangeIndex) -> None:
    changes = [make_change("Rotate keys", modified_at=at(n)) for n in (2, 7, 4)]
    for change in changes:
        index.upsert(change, archived=True)
    assert ids(index, text="rotate keys") == [
        changes[1].change_id,
        changes[2].change_id,
        changes[0].change_id,
    ]


def test_every_word_must_match_and_the_last_is_a_prefix(index: SqlChangeIndex) -> None:
    db = make_change("Database failover drill")
    net = make_change("Network failover drill")
    for change in (db, net):
        index.upsert(change, archived=True)
    assert ids(index, text="datab") == [db.change_id]
    assert set(ids(index, text="failover dri")) == {db.change_id, net.change_id}
    assert ids(index, text="database network") == []
    assert ids(index, text="dat failover") == []  # only the last word is a prefix


def test_search_finds_ids_tickets_customers_and_creators(index: SqlChangeIndex) -> None:
    change = make_change(
        "Plain title",
        customers=("acme-prod",),
        ticket="CHG0012345",
        created_by="dana.smith@example.com",
    )
    index.upsert(make_change("Other"), archived=True)
    index.upsert(change, archived=True)
    for text in (
        change.change_id,
        change.change_id[:8],
        "chg0012345",
        "CHG00123",
        "acme-prod",
        "dana.smith",
        "Dana Smith",
    ):
        assert ids(index, text=text) == [change.change_id], text


def test_search_ignores_case_and_accents(index: SqlChangeIndex) -> None:
    change = make_change("Café Zürich réseau migration")
    index.upsert(change, archived=True)
    for text in ("cafe", "ZURICH", "reseau", "réseau", "\uff2digration"):
        assert ids(index, text=text) == [change.change_id], text


def test_a_change_with_every_word_outranks_a_prefix_only_match(index: SqlChangeIndex) -> None:
    exact = make_change("Patch the kernel", modified_at=at(1))
    prefix_only = make_change("Patching the kernel", modified_at=at(5))
    newer_prefix = make_change("Patches for the kernel", modified_at=at(9))
    for change in (exact, prefix_only, newer_prefix):
        index.upsert(change, archived=True)
    assert ids(index, text="kernel patch") == [
        exact.change_id,
        newer_prefix.change_id,
        prefix_only.change_id,
    ]


def test_only_the_newest_matches_within_the_window_are_ranked(index: SqlChangeIndex) -> None:
    windowed = SqlChangeIndex(index.engine, rank_window=3)
    title = {1, 3}  # which of the six (by age) match in the title; the others in the body only
    changes = [
        make_change(
            f"Firewall {n}" if n in title else f"Change {n}", reason="firewall", modified_at=at(n)
        )
        for n in range(6)
    ]
    for change in changes:
        index.upsert(change, archived=True)
    c = [change.change_id for change in changes]
    expected = [c[3], c[5], c[4], c[2], c[1], c[0]]  # window {5, 4, 3} by relevance, then newest
    assert ids(windowed, text="firewall", page_size=50) == expected
    pages = [windowed.find(ChangeQuery(text="firewall", page=n, page_size=2)) for n in (1, 2, 3)]
    assert [i.change_id for p in pages for i in p.items] == expected
    bounded = index.dialect == "postgresql"  # counts no further than the window: a lower bound
    totals = {(p.total, p.total_is_lower_bound) for p in pages}
    assert totals == ({(3, True)} if bounded else {(6, False)})
    exact = SqlChangeIndex(index.engine, rank_window=3, exact_totals=True)
    exact_page = exact.find(ChangeQuery(text="firewall", page_size=50))
    assert (exact_page.total, exact_page.total_is_lower_bound) == (6, False)
    assert [i.change_id for i in exact_page.items] == expected
    assert ids(index, text="firewall")[:2] == [c[3], c[1]]  # a wide window ranks everything


TRICKY = [
    '"',
    '""',
    "'",
    "*",
    "-",
    "- -",
    "NEAR",
    "NEAR(a b)",
    "a NEAR b",
    "AND",
    "OR NOT",
    "a OR",
    "^title",
    "title:foo",
    "col:*",
    "(",
    ")",
    "{}",
    "a & b | !c",
    "<->",
    "foo:*",
    "foo:* & bar",
    "'; DROP TABLE changes; --",
    "1' OR '1'='1",
    "\\",
    "%_%",
    "\x00",
    "\u200b",
    "🙂🙂",
    "日本語のテキスト",
    "ǅ ﬁ ß",
    "   ",
    "-firewall",
    "+firewall",
    '"firewall',
    "fire*wall",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_search_text_never_raises(index: SqlChangeIndex, text: str) -> None:
    index.upsert(make_change("Firewall rules; DROP TABLE"), archived=True)
    found = index.find(ChangeQuery(text=text, status=S.SUBMITTED))
    assert found.total == len(found.items)
    assert index.find(ChangeQuery(text="firewall")).total == 1


@pytest.mark.parametrize("text", ["", "   ", "--- *** !!!", '""', "\u200b"])
def test_text_without_words_is_a_plain_list(index: SqlChangeIndex, text: str) -> None:
    changes = [make_change(f"Change {n}", modified_at=at(n)) for n in range(3)]
    for change in changes:
        index.upsert(change, archived=True)
    assert ids(index, text=text) == [c.change_id for c in reversed(changes)]


def test_search_with_filters_and_pages(index: SqlChangeIndex) -> None:
    for n in range(12):
        index.upsert(
            make_change(
                "Certificate rotation",
                customers=("acme",) if n % 2 else ("beta",),
                status=S.APPROVED if n % 3 else S.SUBMITTED,
                modified_at=at(n),
            ),
            archived=True,
        )
    index.upsert(make_change("Kernel upgrade", customers=("acme",)), archived=True)
    found = index.find(ChangeQuery(text="certificate", customer="acme", page=2, page_size=2))
    assert found.total == 6
    assert len(found.items) == 2
    everything = index.find(ChangeQuery(text="rotation", status=S.APPROVED, page_size=200))
    assert everything.total == 8
    assert [i.modified_at for i in everything.items] == sorted(
        (i.modified_at for i in everything.items), reverse=True
    )


# statistics ---------------------------------------------------------------------------------


def test_statistics_count_every_status_and_upcoming_windows(index: SqlChangeIndex) -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    local = now.replace(tzinfo=None)
    cases = [
        (S.SUBMITTED, local, ("acme",)),  # starts now: upcoming
        (S.APPROVED, local + timedelta(days=13, hours=23), ("acme",)),  # upcoming
        (S.APPROVED, local + timedelta(days=14), ("beta",)),  # too late
        (S.APPROVED, local - timedelta(minutes=1), ("beta",)),  # already started
        (S.REJECTED, local + timedelta(days=1), ("acme",)),  # not submitted/approved
        (S.DRAFT, local + timedelta(days=1), ("beta",)),
        (S.APPROVED, None, ("acme",)),  # no schedule
    ]
    for status, start, customers in cases:
        index.upsert(make_change(status=status, start=start, customers=customers), archived=False)
    stats = index.statistics(visible_customers=None, now=now, created_by=None)
    assert stats.by_status == {
        S.DRAFT: 1,
        S.SUBMITTED: 1,
        S.APPROVED: 4,
        S.REJECTED: 1,
        S.COMPLETED: 0,
        S.CANCELLED: 0,
    }
    assert (stats.total, stats.upcoming) == (7, 2)
    acme = index.statistics(visible_customers=frozenset({"acme"}), now=now, created_by=None)
    assert (acme.total, acme.upcoming, acme.by_status[S.APPROVED]) == (4, 2, 2)


def test_statistics_of_an_empty_index_and_by_creator(index: SqlChangeIndex) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    empty = index.statistics(visible_customers=None, now=now, created_by=None)
    assert empty.by_status == dict.fromkeys(ChangeStatus, 0)
    assert (empty.total, empty.upcoming) == (0, 0)
    index.upsert(make_change(created_by="bob@example.com"), archived=True)
    index.upsert(make_change(created_by="eve@example.com", status=S.COMPLETED), archived=True)
    bob = index.statistics(visible_customers=None, now=now, created_by="bob@example.com")
    assert (bob.total, bob.by_status[S.SUBMITTED], bob.by_status[S.COMPLETED]) == (1, 1, 0)


def test_statistics_and_totals_leave_out_customerless_changes_of_others(
    index: SqlChangeIndex,
) -> None:
    """Every customer's changes, and the customerless ones only of their creator (counts too)."""
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    soon = now.replace(tzinfo=None) + timedelta(days=1)
    for who, customers, status in [
        ("ann@example.com", (), S.SUBMITTED),
        ("ann@example.com", (), S.DRAFT),
        ("bob@example.com", (), S.APPROVED),
        ("ann@example.com", ("acme",), S.APPROVED),
        ("eve@example.com", ("beta", "acme"), S.SUBMITTED),
    ]:
        change = make_change(status=status, start=soon, customers=customers, created_by=who)
        index.upsert(change, archived=False)
    for viewer, total, upcoming, submitted in [
        ("bob@example.com", 3, 3, 1),
        ("ann@example.com", 4, 3, 2),
        (None, 5, 4, 2),
    ]:
        stats = index.statistics(
            visible_customers=None, now=now, created_by=None, customerless_by=viewer
        )
        assert (stats.total, stats.upcoming, stats.by_status[S.SUBMITTED]) == (
            total,
            upcoming,
            submitted,
        )
        page = index.find(ChangeQuery(customerless_by=viewer, page_size=1))
        assert (page.total, len(page.items)) == (total, 1)
    readonly = index.find(ChangeQuery(customerless_by="bob@example.com", include_drafts=False))
    assert readonly.total == 3


# opening ------------------------------------------------------------------------------------


def test_opening_an_index_again_keeps_its_rows(tmp_path: Path) -> None:
    first = sqlite_index(tmp_path)
    change = make_change()
    first.upsert(change, archived=True)
    first.close()
    again = sqlite_index(tmp_path)
    assert again.summary(change.change_id) is not None
    again.close()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    opened = sqlite_index(tmp_path)
    with opened.engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    opened.close()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000}


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("mysql://localhost/x", None),
        ("sqlite:///ignored.db", "t_schema"),
        (POSTGRES_URL, "bad; DROP SCHEMA public"),
        (POSTGRES_URL, "Upper"),
    ],
)
def test_unsupported_urls_and_unsafe_schema_names_are_refused(url: str, schema: str | None) -> None:
    with pytest.raises(InvalidInputError):
        open_index(url, schema=schema)
