"""The delivery grid and *Retry this customer*, with the real worker run in-process on moto."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.delivery.models import DeliveryFailure, ExecutionRecord, ExecutionStatus
from changecast.delivery.results import save_record
from changecast.distribution.models import DistributionEvent
from changecast.layout import execution_key
from tests.web.test_pages_support import (
    browser,
    deliver_queue,
    module_runtime,
    sign_in,
    submitted_change,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def cells(html: str) -> list[str]:
    found = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in found]


def row(page: str, code: str, event: str = "submitted") -> str:
    marker = f'<tr data-customer="{code}" data-event="{event}"'
    return page.split(marker)[1].split("</tr>", maxsplit=1)[0]


def test_grid_is_pending_and_polls_until_the_workers_deliver(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["acme", "globex"])
    page = client.get(f"/changes/{change_id}").text
    assert 'data-pending="true"' in page
    assert f'hx-get="/changes/{change_id}/deliveries"' in page
    assert 'data-state="pending"' in row(page, "acme")
    assert ">queued<" in row(page, "globex")
    assert "data-retry=" not in page  # nothing to retry while the worker has not reported
    deliver_queue(runtime, "acme")
    deliver_queue(runtime, "globex")
    fragment = client.get(f"/changes/{change_id}/deliveries", headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<section class="card" id="deliveries"')
    assert 'data-pending="false"' in fragment.text
    assert "hx-trigger" not in fragment.text
    # customer, event, state, sent, already sent, filtered, failed
    # the worker sent them; "delivered" waits for SES's word
    assert cells(row(fragment.text, "acme"))[2:7] == ["sent", "2", "0", "0", "0"]
    assert cells(row(fragment.text, "globex"))[2:7] == ["sent", "1", "0", "2", "0"]
    timeline = client.get(f"/changes/{change_id}").text.split('id="timeline"')[1]
    assert "submitted email sent to acme (version 1): 2 sent" in timeline


def test_failures_show_their_reasons(client: TestClient, runtime: Runtime) -> None:
    change_id = submitted_change(client, customers=["initech"])
    failure = DeliveryFailure(recipient="ops-lead@initech.example.com", reason="MessageRejected")
    save_record(
        ExecutionRecord(
            change_id=change_id,
            version=1,
            customer_code="initech",
            event=DistributionEvent.SUBMITTED,
            status=ExecutionStatus.PARTIAL,
            recipients=3,
            sent=2,
            failed=1,
            failures=[failure],
            started_at=NOW,
            finished_at=NOW,
        ),
        store=runtime.store,
        read_model=runtime.deliveries,
    )
    initech = row(client.get(f"/changes/{change_id}").text, "initech")
    assert 'data-state="partial"' in initech
    assert 'data-word="partly failed"' in initech
    assert 'data-retry="initech"' in initech  # a retry can help here
    assert "ops-lead@initech.example.com: MessageRejected" in initech


def test_retry_this_customer_requeues_and_sends_nothing_twice(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["acme"])
    deliver_queue(runtime, "acme")
    page = client.get(f"/changes/{change_id}").text
    assert "data-retry=" not in page  # sent: no button, though the route still answers
    done = client.post(
        f"/changes/{change_id}/deliveries/acme/retry", headers={"hx-request": "true"}
    )
    assert "Queued 0 triggers again for acme" in done.text  # nothing is pending
    runtime.store.delete(execution_key(change_id, 1, "acme"))  # as if the worker never reported
    retried = client.post(
        f"/changes/{change_id}/deliveries/acme/retry", headers={"hx-request": "true"}
    )
    assert retried.status_code == 200
    assert "Queued 1 trigger again for acme" in retried.text
    assert 'hx-trigger="every 2s"' in retried.text
    deliver_queue(runtime, "acme")
    again = client.get(f"/changes/{change_id}/deliveries").text
    assert cells(row(again, "acme"))[2:5] == ["already sent", "0", "2"]


def test_retry_without_htmx_redirects_back_to_the_grid(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    response = client.post(f"/changes/{change_id}/deliveries/acme/retry")
    assert response.status_code == 303
    assert response.headers["location"] == f"/changes/{change_id}#deliveries"


def test_readers_get_no_retry_button_and_may_not_retry(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["acme"])
    with browser(runtime) as reader:
        sign_in(reader, email="reader@ccoe.example.com", role="ReadOnly")
        assert "data-retry=" not in reader.get(f"/changes/{change_id}").text
        refused = reader.post(f"/changes/{change_id}/deliveries/acme/retry")
        assert refused.status_code == 403


def test_approved_change_lists_the_approved_event_first(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    client.post(f"/api/changes/{change_id}/approve", headers={"accept": "*/*"})
    grid = client.get(f"/changes/{change_id}").text.split('id="deliveries"')[1]
    assert grid.index('data-event="approved"') < grid.index('data-event="submitted"')


def test_a_dead_lettered_delivery_is_failed_with_its_reason_in_the_grid_and_the_api(
    client: TestClient, runtime: Runtime
) -> None:
    from changecast.delivery.ledger import DeliveryKey
    from changecast.delivery.results import SentSoFar, failed_record

    change_id = submitted_change(client, customers=["acme"])
    reason = "dead-lettered after 5 receives: no attempt finished"
    key = DeliveryKey("acme", change_id, 1, DistributionEvent.SUBMITTED)
    record = failed_record(
        key=key, reason=reason, at=NOW, so_far=SentSoFar(sent=1), dead_lettered=True
    )
    save_record(record, store=runtime.store, read_model=runtime.deliveries)
    acme = row(client.get(f"/changes/{change_id}").text, "acme")
    assert 'data-state="failed"' in acme and 'data-dead-lettered="true"' in acme
    assert reason in acme and "(in the dead-letter queue)" in acme
    api = client.get(f"/api/changes/{change_id}/deliveries").json()["customers"][0]
    assert api["state"] == "failed"
    assert (api["current"][0]["reason"], api["current"][0]["deadLettered"]) == (reason, True)
    assert api["current"][0]["record"]["alreadySent"] == 1


def test_a_failed_approval_request_the_approval_superseded_settles_at_delivered(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["acme"])
    save_record(  # the worker's record of a request whose role was denied (dead-lettered)
        ExecutionRecord(
            change_id=change_id,
            version=1,
            customer_code="acme",
            event=DistributionEvent.SUBMITTED,
            status=ExecutionStatus.FAILED,
            failures=[DeliveryFailure(reason="the customer's role cannot be assumed")],
            started_at=NOW,
            finished_at=NOW,
            dead_lettered=True,
        ),
        store=runtime.store,
        read_model=runtime.deliveries,
    )
    assert 'data-state="failed"' in row(client.get(f"/changes/{change_id}").text, "acme")
    assert client.post(f"/api/changes/{change_id}/approve", headers={"accept": "*/*"}).is_success
    deliver_queue(runtime, "acme")  # the request is superseded (sends nothing), the approval goes

    api = client.get(f"/api/changes/{change_id}/deliveries").json()
    (acme,) = api["customers"]
    assert acme["state"] == "delivered"
    events = {item["event"]: item for item in acme["current"]}
    assert events["approved"]["state"] == "delivered"
    assert events["submitted"]["state"] == "superseded"
    assert events["submitted"]["supersededBy"].startswith("approve of v1 by ")
    assert events["submitted"]["record"]["status"] == "superseded"
    grid = client.get(f"/changes/{change_id}/deliveries").text
    request = row(grid, "acme")
    assert 'data-state="superseded"' in request and "superseded by approve of v1" in request
    assert 'data-word="superseded"' in request and "data-retry=" not in request
    assert 'data-state="delivered"' in row(grid, "acme", "approved")
