"""The authorization walk: every walker x every route x changes of every kind; 0 violations.

Walkers: a ChangeManager, a CustomerManager of one customer (acme) and of two (acme, globex), a
ReadOnly user, an Auditor, anonymous, and an API token of each signed-in walker (a token acts as
its owner, so it is held to its owner's expectations). Routes: every operation of the app's
OpenAPI document and every GET page. Changes: own-only, foreign-only, mixed and customer-less,
as drafts and submitted (built once for the module; a write that is expected to succeed runs on a
fresh copy, so the shared changes stay as they are, which the walk checks at the end).

The rule is restated here, independently of ``access.policy``:

- a change naming no customer belongs to its creator alone (Auditors read it too);
- ChangeManagers and Auditors see every other change; ReadOnly users every change but drafts;
- a CustomerManager sees a change in full only if every customer on it is theirs, and a change
  naming one of theirs and a foreign one only as a summary naming their own customers (its own
  page and ``GET /api/changes/{id}``; every other route refuses); lists, searches and exports
  show exactly the changes the walker sees in full;
- writers (ChangeManager, CustomerManager) act on what they see in full; nobody else writes;
- a refused request answers 403 or 404, anonymous ones 401 (API) or a redirect to sign in;
- no answer to a CustomerManager ever names a customer they do not manage, or its recipients.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.pipeline import ActionRequest
from changecast.bootstrap import Runtime
from changecast.changes.models import Action
from changecast.customers.models import CustomerMapping
from changecast.delivery.recipients import TopicCount
from changecast.ids import ChangeId
from changecast.web.app import create_app
from tests.builders import change_body, change_input
from tests.web.identity_support import PORTAL, dev_login, provisioned_runtime

A, B, C = "acme", "globex", "initech"
CODES = (A, B, C)
MARKER = "walkfixture"
SETUP = Actor(email="setup@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
CUSTOMER_SETS = {"own": [A], "foreign": [C], "mixed": [A, C], "pair": [A, B]}
"""Relative to the CustomerManager of acme; "pair" is own to the one of acme and globex."""
FULL, SUMMARY, NONE = "full", "summary", "none"
WRITERS = {Role.CHANGE_MANAGER, Role.CUSTOMER_MANAGER}
OK = {200, 201, 202, 204}
DENIED = {403, 404}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Walker:
    name: str
    role: Role | None  # None: anonymous
    customers: frozenset[str] = frozenset()
    token: bool = False

    @property
    def email(self) -> str:
        return f"walk.{self.name.removesuffix('+token')}@ccoe.example.com"

    @property
    def foreign(self) -> set[str]:
        """Customers no answer to this walker may name (only CustomerManagers have any)."""
        return set(CODES) - self.customers if self.role is Role.CUSTOMER_MANAGER else set()


PEOPLE = [
    Walker("manager", Role.CHANGE_MANAGER),
    Walker("acme-manager", Role.CUSTOMER_MANAGER, frozenset({A})),
    Walker("pair-manager", Role.CUSTOMER_MANAGER, frozenset({A, B})),
    Walker("reader", Role.READ_ONLY),
    Walker("auditor", Role.AUDITOR),
]
WALKERS = [
    *PEOPLE,
    *(Walker(f"{w.name}+token", w.role, w.customers, token=True) for w in PEOPLE),
    Walker("anonymous", None),
]
CUSTOMERLESS_OWNER = PEOPLE[1]


@dataclass(frozen=True)
class Fixture:
    """One shared change: its customers, state and creator."""

    kind: str
    state: str  # draft or submitted
    change_id: str
    codes: tuple[str, ...]
    created_by: str

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.state}"


def sees(walker: Walker, codes: tuple[str, ...] | list[str], state: str, creator: str) -> str:
    """The rule, restated: how much of a change the walker may see."""
    if walker.role is None:
        return NONE
    if not codes:
        return FULL if walker.email == creator or walker.role is Role.AUDITOR else NONE
    if walker.role in {Role.CHANGE_MANAGER, Role.AUDITOR}:
        return FULL
    if walker.role is Role.READ_ONLY:
        return NONE if state == "draft" else FULL
    if set(codes) <= walker.customers:
        return FULL
    return SUMMARY if set(codes) & walker.customers else NONE


def sees_fixture(walker: Walker, fixture: Fixture) -> str:
    return sees(walker, fixture.codes, fixture.state, fixture.created_by)


def may_write(walker: Walker, fixture: Fixture) -> bool:
    return walker.role in WRITERS and sees_fixture(walker, fixture) == FULL


# the world ------------------------------------------------------------------------------------


class NoRecipients:
    """A ``RecipientCounter`` that counts nobody (the preview's SES look-ups are not walked)."""

    def count(self, customer: CustomerMapping, topics: list[str]) -> list[TopicCount]:
        del customer
        return [TopicCount(topic, 0, 0) for topic in topics]


def make_change(runtime: Runtime, codes: list[str], state: str, title: str, by: Actor) -> str:
    data = change_input(customers=codes, title=title)
    cid = ChangeId(drafts.create_draft(deps=runtime.changes, actor=by, data=data).change_id)
    if state in {"submitted", "approved"}:
        pipeline.perform(
            deps=runtime.changes, actor=by, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    if state == "approved":
        pipeline.perform(
            deps=runtime.changes,
            actor=APPROVER,
            change_id=cid,
            request=ActionRequest(Action.APPROVE),
        )
    return cid


def actor_of(walker: Walker) -> Actor:
    assert walker.role is not None
    return Actor(email=walker.email, role=walker.role, customers=walker.customers)


@dataclass
class World:
    runtime: Runtime
    clients: dict[str, TestClient]
    fixtures: list[Fixture]
    violations: list[str] = field(default_factory=list)
    requests: int = 0

    def fresh(self, fixture: Fixture, state: str) -> str:
        """A copy of ``fixture`` in ``state``, for a write that is expected to succeed."""
        creator = actor_of(CUSTOMERLESS_OWNER) if not fixture.codes else SETUP
        return make_change(self.runtime, list(fixture.codes), state, "Walk copy", creator)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with provisioned_runtime(tmp_path_factory.mktemp("walk")) as runtime, ExitStack() as stack:
        app = create_app(runtime)
        app.state.recipient_counter = NoRecipients()
        clients: dict[str, TestClient] = {}
        secrets: dict[str, str] = {}
        for walker in WALKERS:
            client = TestClient(app, base_url=PORTAL, follow_redirects=False)
            clients[walker.name] = stack.enter_context(client)
        for walker in PEOPLE:
            client = clients[walker.name]
            assert walker.role is not None
            codes = ",".join(sorted(walker.customers))
            dev_login(client, email=walker.email, role=walker.role.value, customers=codes)
            made = client.post("/api/tokens", json={"name": "walk"})
            assert made.status_code == 201, made.text
            secrets[walker.name] = made.json()["token"]
        for walker in WALKERS:
            if walker.token:
                secret = secrets[walker.name.removesuffix("+token")]
                clients[walker.name].headers["Authorization"] = f"Bearer {secret}"
        fixtures = [
            Fixture(
                kind,
                state,
                make_change(runtime, codes, state, f"{MARKER} {kind} {state}", SETUP),
                tuple(codes),
                SETUP.email,
            )
            for kind, codes in CUSTOMER_SETS.items()
            for state in ("draft", "submitted")
        ]
        owner = actor_of(CUSTOMERLESS_OWNER)
        cid = make_change(runtime, [], "draft", f"{MARKER} customerless draft", owner)
        fixtures.append(Fixture("customerless", "draft", cid, (), owner.email))
        yield World(runtime, clients, fixtures)


# one request, judged ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What one walker must get from one request."""

    ok: bool
    """Allowed (2xx, or ``ok_status``) or refused (403/404, anonymous 401 or sign-in redirect)."""
    ok_status: frozenset[int] = frozenset()
    summary: bool = False
    """A summary: the body must say so (and, like every answer, name no foreign customer)."""
    exact: frozenset[str] | None = None
    """The fixture ids a list must contain, no more and no fewer."""
    within: frozenset[str] | None = None
    """The fixture ids a partial list may contain."""
    config: bool = False
    """The answer lists configured customers (not change data): no foreign-name check."""
    public: bool = False
    """Anonymous callers are served too."""
    refused: frozenset[int] = frozenset(DENIED)


def judge(world: World, walker: Walker, method: str, url: str, expect: Expect, **kw: Any) -> Any:
    client = world.clients[walker.name]
    world.requests += 1
    answer = client.request(method, url, **kw)
    where = f"{walker.name} {method} {url}"
    problems = verdict(world, walker, answer, expect)
    world.violations.extend(f"{where}: {p}" for p in problems)
    return answer


def verdict(world: World, walker: Walker, answer: Any, expect: Expect) -> list[str]:
    status, body = answer.status_code, answer.text
    problems: list[str] = []
    if status >= 500:
        return [f"server error {status}: {body[:200]}"]
    if walker.role is None:
        page_redirect = status == 303 and "/signin" in answer.headers.get("location", "")
        if expect.public:
            return [] if status in OK | expect.ok_status else [f"public route answered {status}"]
        if status != 401 and not page_redirect:
            problems.append(f"anonymous got {status}, not 401 or a redirect to sign in")
        return problems
    if expect.ok and status not in OK | expect.ok_status:
        problems.append(f"expected allowed, got {status}: {body[:200]}")
    if not expect.ok and status not in expect.refused:
        problems.append(f"expected refused {sorted(expect.refused)}, got {status}: {body[:160]}")
    summarised = '"visibility":"summary"' in body.replace(" ", "") or (
        'data-visibility="summary"' in body
    )
    if expect.ok and expect.summary and status in OK and not summarised:
        problems.append("expected a summary, got more")
    if not expect.config:
        problems += leaks(walker, body)
    if status in OK:
        problems += listed(world, body, expect)
    return problems


def listed(world: World, body: str, expect: Expect) -> list[str]:
    """A list's fixture ids against what the walker sees in full."""
    shown = set(UUID.findall(body)) & {f.change_id for f in world.fixtures}
    label = {f.change_id: f.label for f in world.fixtures}
    if expect.exact is not None and shown != expect.exact:
        extra = sorted(label[i] for i in shown - expect.exact)
        missing = sorted(label[i] for i in expect.exact - shown)
        return [f"list shows {extra} it must not, misses {missing}"]
    if expect.within is not None and not shown <= expect.within:
        return [f"list shows {sorted(label[i] for i in shown - expect.within)}"]
    return []


def leaks(walker: Walker, body: str) -> list[str]:
    """Foreign customers' codes, names or recipients in an answer to a CustomerManager.

    The demo's names contain their codes ("Globex (non-production)") and so do its recipients
    (``ops@globex.example.com``), so looking for the code finds all three.
    """
    lowered = body.lower()
    return [f"names foreign customer {code}" for code in sorted(walker.foreign) if code in lowered]


# the routes -------------------------------------------------------------------------------------

Plan = Callable[[World, Walker], None]


def by_fixture(
    states: set[str], url: str, rule: Callable[[Walker, Fixture], Expect], method: str = "GET"
) -> Plan:
    def plan(world: World, walker: Walker) -> None:
        for fixture in world.fixtures:
            if fixture.state in states:
                target = url.format(cid=fixture.change_id)
                judge(world, walker, method, target, rule(walker, fixture))

    return plan


def full_only(walker: Walker, fixture: Fixture) -> Expect:
    return Expect(ok=sees_fixture(walker, fixture) == FULL)


def summary_ok(walker: Walker, fixture: Fixture) -> Expect:
    seen = sees_fixture(walker, fixture)
    return Expect(ok=seen != NONE, summary=seen == SUMMARY)


def writer_full_form(walker: Walker, fixture: Fixture) -> Expect:
    """The edit form also lists every configured customer to choose from (config, not data)."""
    return Expect(ok=may_write(walker, fixture), config=True)


def per_code(states: set[str], url: str, ok_status: frozenset[int] = frozenset()) -> Plan:
    """A route naming one customer of the change (preview parts): only on FULL changes."""

    def plan(world: World, walker: Walker) -> None:
        for fixture in world.fixtures:
            if fixture.state not in states:
                continue
            for code in fixture.codes:
                allowed = sees_fixture(walker, fixture) == FULL
                refused = frozenset({403}) if ok_status else frozenset(DENIED)
                expect = Expect(ok=allowed, ok_status=ok_status, refused=refused)
                judge(world, walker, "GET", url.format(cid=fixture.change_id, code=code), expect)

    return plan


def every(*plans: Plan) -> Plan:
    """One route walked several ways (its query parameters)."""

    def plan(world: World, walker: Walker) -> None:
        for each in plans:
            each(world, walker)

    return plan


def full_ids(world: World, walker: Walker, state: str | None = None) -> frozenset[str]:
    return frozenset(
        f.change_id
        for f in world.fixtures
        if sees_fixture(walker, f) == FULL and (state is None or f.state == state)
    )


NOT_FOUND = Expect(ok=True, ok_status=frozenset({404}), public=True)
"""A link or feed whose secret is wrong: the same "not found" page for everyone, with no data."""


def secret_link(url: str) -> Plan:
    """Reached by a secret in the URL, not a session: a wrong secret finds nothing, for anyone."""

    def plan(world: World, walker: Walker) -> None:
        for target in sorted({url.format(code=code) for code in CODES}):
            judge(world, walker, "GET", target, NOT_FOUND)

    return plan


def listing(url: str, *, exact: bool, state: str | None = None) -> Plan:
    def plan(world: World, walker: Walker) -> None:
        ids = full_ids(world, walker, state)
        expect = Expect(ok=True, exact=ids) if exact else Expect(ok=True, within=ids)
        judge(world, walker, "GET", url, expect)

    return plan


def signed_in(url: str, *, config: bool = False, session_only: bool = False) -> Plan:
    def plan(world: World, walker: Walker) -> None:
        allowed = not (session_only and walker.token)
        judge(world, walker, "GET", url, Expect(ok=allowed, config=config, ok_status=frozenset()))

    return plan


def public(url: str) -> Plan:
    def plan(world: World, walker: Walker) -> None:
        expect = Expect(ok=True, ok_status=frozenset({503}), config=True, public=True)
        judge(world, walker, "GET", url, expect)

    return plan


def anything(url: str) -> Plan:
    """Sign-in and documentation routes (no change data): any answer but a server error."""

    def plan(world: World, walker: Walker) -> None:
        any_status = frozenset(range(200, 500))
        judge(world, walker, "GET", url, Expect(ok=True, ok_status=any_status, public=True))

    return plan


def writers_only(url: str) -> Plan:
    """The new-change form: for writers; it lists every configured customer (config)."""

    def plan(world: World, walker: Walker) -> None:
        judge(world, walker, "GET", url, Expect(ok=walker.role in WRITERS, config=True))

    return plan


def auditors_only(url: str) -> Plan:
    def plan(world: World, walker: Walker) -> None:
        judge(world, walker, "GET", url, Expect(ok=walker.role is Role.AUDITOR))

    return plan


def outbox(url: str, *, missing: bool = False) -> Plan:
    """Per customer; ``missing``: an unknown message, which an allowed reader finds absent."""

    def plan(world: World, walker: Walker) -> None:
        for code in CODES:
            allowed = code not in walker.foreign
            if missing:  # allowed: 404 (no such message); refused: 403, whatever the id
                found = frozenset({404})
                expect = Expect(ok=allowed, ok_status=found, refused=frozenset({403}))
            else:
                expect = Expect(ok=allowed)
            judge(world, walker, "GET", url.format(code=code), expect)

    return plan


def outbox_page(world: World, walker: Walker) -> None:
    for code in CODES:
        judge(world, walker, "GET", f"/outbox?customer={code}", Expect(ok=True))


def tokens_create(world: World, walker: Walker) -> None:
    expect = Expect(ok=not walker.token)
    judge(world, walker, "POST", "/api/tokens", expect, json={"name": "walk again"})


def tokens_revoke(world: World, walker: Walker) -> None:
    """Revoking a token that is not yours: "not found" for a session, refused for a token."""
    expect = Expect(ok=False)
    judge(world, walker, "DELETE", "/api/tokens/00000000-0000-4000-8000-000000000000", expect)


def create(world: World, walker: Walker) -> None:
    for codes in ([A], [C], [A, C], [A, B], []):
        allowed = walker.role is Role.CHANGE_MANAGER or (
            walker.role is Role.CUSTOMER_MANAGER and set(codes) <= walker.customers
        )
        body = change_body(customers=codes, title="Walk create")
        expect = Expect(ok=allowed, config=True)  # a refusal may name the customers you sent
        judge(world, walker, "POST", "/api/changes", expect, json=body)


SHARED = "shared"
ACTION_STATE = {
    "submit": "draft",
    "approve": "submitted",
    "reject": "submitted",
    "cancel": "submitted",
    "retry": SHARED,
    "complete": "approved",
}


def write(
    method: str,
    url: str,
    *,
    states: dict[str, str],
    body: Callable[[Fixture], dict[str, Any] | None] = lambda _: None,
    ok_status: Callable[[Fixture], frozenset[int]] = lambda _: frozenset(),
) -> Plan:
    """``states``: shared-fixture state -> the state a fresh copy needs for the write to succeed.

    A write expected to be refused runs on the shared fixture (and must change nothing); one
    expected to succeed runs on a fresh copy, or on the fixture itself when the state is
    ``SHARED`` (writes that leave the document as it is: retry).
    """

    def plan(world: World, walker: Walker) -> None:
        for fixture in world.fixtures:
            if fixture.state not in states:
                continue
            allowed = may_write(walker, fixture)
            target = fixture.change_id
            if allowed and states[fixture.state] != SHARED:
                target = world.fresh(fixture, states[fixture.state])
            expect = Expect(ok=allowed, ok_status=ok_status(fixture))
            judge(world, walker, method, url.format(cid=target), expect, json=body(fixture))

    return plan


def put_body(fixture: Fixture) -> dict[str, Any]:
    """Keep the change's customers; on a customer-less draft, try to take it over for acme."""
    codes = list(fixture.codes) or [A]
    return {"version": 1, **change_body(customers=codes, title="Walk edit")}


def submit_status(fixture: Fixture) -> frozenset[int]:
    """Its creator may submit a customer-less draft, which then fails as incomplete."""
    return frozenset({422}) if not fixture.codes else frozenset()


def redeliver(world: World, walker: Walker) -> None:
    """Re-queueing leaves the document as it is, so it runs on the shared changes."""
    for fixture in world.fixtures:
        if fixture.state != "submitted":
            continue
        for code in fixture.codes:
            url = f"/api/changes/{fixture.change_id}/redeliver?customer={code}"
            judge(world, walker, "POST", url, Expect(ok=may_write(walker, fixture)))


def actions(world: World, walker: Walker) -> None:
    for action, state in ACTION_STATE.items():
        shared = "draft" if action == "submit" else "submitted"
        plan = write(
            "POST",
            f"/api/changes/{{cid}}/{action}",
            states={shared: state},
            ok_status=submit_status if action == "submit" else lambda _: frozenset(),
        )
        plan(world, walker)


API: dict[tuple[str, str], Plan] = {
    ("get", "/api/health"): public("/api/health"),
    ("get", "/api/health/ready"): public("/api/health/ready"),
    ("get", "/api/customers"): signed_in("/api/customers", config=True),
    ("get", "/api/session"): signed_in("/api/session"),
    ("get", "/api/tokens"): signed_in("/api/tokens", session_only=True),
    ("post", "/api/tokens"): tokens_create,
    ("delete", "/api/tokens/{token_id}"): tokens_revoke,
    ("get", "/api/audit"): auditors_only("/api/audit"),
    ("get", "/api/audit/export"): auditors_only("/api/audit/export?format=csv"),
    ("get", "/api/changes"): listing("/api/changes?pageSize=200", exact=True),
    ("get", "/api/changes/search"): listing(
        f"/api/changes/search?q={MARKER}&pageSize=200", exact=True
    ),
    ("get", "/api/changes/statistics"): signed_in("/api/changes/statistics"),
    ("get", "/api/my-changes"): listing("/api/my-changes", exact=False),
    ("get", "/api/changes/{change_id}"): by_fixture(
        {"draft", "submitted"}, "/api/changes/{cid}", summary_ok
    ),
    ("get", "/api/changes/{change_id}/versions"): by_fixture(
        {"submitted"}, "/api/changes/{cid}/versions", full_only
    ),
    ("get", "/api/changes/{change_id}/versions/{version}"): by_fixture(
        {"submitted"}, "/api/changes/{cid}/versions/1", full_only
    ),
    ("get", "/api/changes/{change_id}/deliveries"): every(
        by_fixture({"submitted"}, "/api/changes/{cid}/deliveries", full_only),
        by_fixture({"submitted"}, "/api/changes/{cid}/deliveries?recipients=1", full_only),
        by_fixture(
            {"submitted"}, "/api/changes/{cid}/deliveries?recipients=1&format=csv", full_only
        ),
    ),
    ("get", "/api/drafts/{change_id}"): by_fixture({"draft"}, "/api/drafts/{cid}", full_only),
    ("get", "/api/local/outbox"): outbox("/api/local/outbox?customer={code}"),
    ("post", "/api/changes"): create,
    ("put", "/api/changes/{change_id}"): write(
        "PUT",
        "/api/changes/{cid}",
        states={"draft": "draft", "submitted": "submitted"},
        body=put_body,
    ),
    ("post", "/api/changes/{change_id}/{action}"): actions,
    ("post", "/api/changes/{change_id}/redeliver"): redeliver,
    ("delete", "/api/drafts/{change_id}"): write(
        "DELETE", "/api/drafts/{cid}", states={"draft": "draft"}
    ),
}
"""(method, OpenAPI path) -> how to walk it; a route missing here is a violation."""

PAGES: dict[str, Plan] = {
    "/signin": public("/signin"),
    "/favicon.ico": anything("/favicon.ico"),  # the portal's icon, the same for everyone
    "/docs": anything("/docs"),
    "/saml/login": anything("/saml/login"),
    "/saml/metadata": anything("/saml/metadata"),
    "/": listing("/", exact=False),
    "/search": listing(f"/search?q={MARKER}", exact=True),
    "/search/export.csv": listing(f"/search/export.csv?q={MARKER}", exact=True),
    "/search/export.json": listing(f"/search/export.json?q={MARKER}", exact=True),
    "/mine": listing("/mine?tab=all", exact=False),
    "/approvals": listing("/approvals", exact=False, state="submitted"),
    "/audit": auditors_only("/audit"),
    "/profile": signed_in("/profile", config=True),
    "/changes/new": writers_only("/changes/new"),
    "/outbox": outbox_page,
    "/outbox/{code}/{message_id}/message.html": outbox(
        "/outbox/{code}/no-such-message/message.html", missing=True
    ),
    "/outbox/{code}/{message_id}/invite.ics": outbox(
        "/outbox/{code}/no-such-message/invite.ics", missing=True
    ),
    "/changes/{change_id}": by_fixture({"draft", "submitted"}, "/changes/{cid}", summary_ok),
    "/changes/{change_id}/edit": by_fixture(
        {"draft", "submitted"}, "/changes/{cid}/edit", writer_full_form
    ),
    "/changes/{change_id}/preview": by_fixture(
        {"draft", "submitted"}, "/changes/{cid}/preview", full_only
    ),
    "/changes/{change_id}/preview/{code}/email.html": per_code(
        {"draft", "submitted"}, "/changes/{cid}/preview/{code}/email.html"
    ),
    "/changes/{change_id}/preview/{code}/invite.ics": per_code(
        {"draft", "submitted"}, "/changes/{cid}/preview/{code}/invite.ics", frozenset({404})
    ),  # an email without an invite is "not found" to those allowed; the rest get 403
    "/changes/{change_id}/deliveries": by_fixture(
        {"submitted"}, "/changes/{cid}/deliveries", full_only
    ),
    "/changes/{change_id}/deliveries/{code}/recipients": per_code(
        {"submitted"}, "/changes/{cid}/deliveries/{code}/recipients"
    ),
    "/changes/{change_id}/surveys.csv": by_fixture(
        {"draft", "submitted"}, "/changes/{cid}/surveys.csv", full_only
    ),
    "/announcements": listing("/announcements", exact=False),
    "/announcements/new": writers_only("/announcements/new"),
    # Reached by a secret in the URL, not a session: a wrong secret finds nothing, for anyone.
    "/calendar/{customer}.ics": secret_link("/calendar/{code}.ics?token=wrong"),
    "/signoff/{token}": secret_link("/signoff/not-a-signed-link"),
    "/survey/{token}": secret_link("/survey/not-a-signed-link"),
}
"""GET page path -> how to walk it; a page missing here is a violation."""


def routes_of(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI includes them lazily)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from routes_of(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def page_paths(world: World) -> list[str]:
    app = world.clients[PEOPLE[0].name].app
    found = {
        route.path
        for route in routes_of(app.routes)  # type: ignore[attr-defined]
        if not route.include_in_schema and "GET" in (route.methods or set())
    }
    return sorted(path for path in found if not path.startswith("/api/"))


def snapshot(world: World) -> dict[str, Any]:
    """The stored documents of the shared changes (a refused write must leave them alone)."""
    store = world.runtime.store
    found = {}
    for fixture in world.fixtures:
        for key in (f"archive/latest/{fixture.change_id}.json", f"drafts/{fixture.change_id}.json"):
            found[key] = store.get(key).body if store.exists(key) else None
    return found


def test_every_walker_route_and_change_follows_the_rule(world: World) -> None:
    app = world.clients[PEOPLE[0].name].app
    operations = [
        (method, path)
        for path, item in app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in item
    ]
    pages = page_paths(world)
    unwalked = [op for op in operations if op not in API] + [p for p in pages if p not in PAGES]
    assert unwalked == [], f"routes the walk does not know: {unwalked}"
    before = snapshot(world)
    reads = [API[op] for op in operations if op[0] == "get"] + [PAGES[p] for p in pages]
    writes = [API[op] for op in operations if op[0] != "get"]
    for plan in [*reads, *writes]:
        for walker in WALKERS:
            plan(world, walker)
    if snapshot(world) != before:
        world.violations.append("a refused write changed a shared change")
    summary = f"{world.requests} requests, {len(world.violations)} violations:\n"
    assert world.violations == [], summary + "\n".join(world.violations)
    assert world.requests > 1_000


def test_a_summary_names_only_the_walkers_own_customers(world: World) -> None:
    mixed = next(f for f in world.fixtures if f.label == "mixed/submitted")
    client = world.clients["acme-manager"]
    body = client.get(f"/api/changes/{mixed.change_id}").json()
    assert body["visibility"] == "summary"
    assert (body["customerCodes"], body["customerNames"]) == (["acme"], ["Acme Corporation"])
    assert "changeMetadata" not in body and "history" not in body
    page = client.get(f"/changes/{mixed.change_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'data-visibility="summary"' in page.text
    assert "Acme Corporation" in page.text and "/actions/" not in page.text
    full = world.clients["manager"].get(f"/api/changes/{mixed.change_id}").json()
    assert full["changeMetadata"]["customerCodes"] == ["acme", "initech"]


def test_a_customerless_draft_belongs_to_its_creator(world: World) -> None:
    draft = next(f for f in world.fixtures if f.kind == "customerless")
    takeover = {"version": 1, **change_body(customers=[A], title="Mine now")}
    for name in ("manager", "pair-manager", "manager+token"):
        client = world.clients[name]
        assert client.get(f"/api/drafts/{draft.change_id}").status_code == 403
        assert client.put(f"/api/changes/{draft.change_id}", json=takeover).status_code == 403
        assert client.post(f"/api/changes/{draft.change_id}/submit").status_code == 403
        assert client.delete(f"/api/drafts/{draft.change_id}").status_code == 403
    assert world.clients["auditor"].get(f"/api/drafts/{draft.change_id}").status_code == 200
    owner = world.clients[CUSTOMERLESS_OWNER.name]
    assert owner.get(f"/api/drafts/{draft.change_id}").json()["createdBy"] == draft.created_by


def test_exports_hold_exactly_the_changes_seen_in_full(world: World) -> None:
    client = world.clients["acme-manager"]
    rows = client.get(f"/search/export.csv?q={MARKER}").text.splitlines()[1:]
    documents = json.loads(client.get(f"/search/export.json?q={MARKER}").text)
    own = {f.change_id for f in world.fixtures if f.kind in {"own", "customerless"}}
    assert {row.split(",")[0] for row in rows} == own
    assert {doc["changeId"] for doc in documents} == own
