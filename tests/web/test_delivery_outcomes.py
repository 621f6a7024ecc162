"""What users see of a delivery: outcome counts, the per-recipient drill-down, CSV, the rates.

Real workers on in-process moto fill the ledger and the read model; the SES events worker's part
(each recipient's mark, and the counts) is played by ``record_outcomes``, the call it makes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.distribution.models import DistributionEvent
from tests.web.test_pages_support import (
    browser,
    deliver_queue,
    module_runtime,
    record_outcomes,
    sign_in,
    submitted_change,
)

E = DistributionEvent


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def delivered(client: TestClient, runtime: Runtime, *codes: str) -> str:
    change_id = submitted_change(client, customers=list(codes))
    for code in codes:
        deliver_queue(runtime, code)
    return change_id


def test_the_grid_shows_outcome_counts_per_customer(client: TestClient, runtime: Runtime) -> None:
    change_id = delivered(client, runtime, "acme", "globex")
    record_outcomes(runtime, change_id, "acme", delivered=1, bounced=1)
    grid = client.get(f"/changes/{change_id}/deliveries", headers={"hx-request": "true"}).text
    acme = grid.split('data-customer="acme"')[1].split("</tr>")[0]
    cell = {
        label: re.sub(r"<[^>]+>", "", value).strip()
        for label, value in re.findall(r'data-label="([^"]+)"[^>]*>(.*?)</td>', acme, re.S)
    }
    assert (cell["Sent"], cell["Delivered"], cell["Bounced"], cell["Complained"]) == (
        "2",
        "1",
        "1",
        "0",
    )
    api = client.get(f"/api/changes/{change_id}/deliveries").json()["customers"][0]
    record = api["current"][0]["record"]
    assert (record["delivered"], record["bounced"], record["complained"]) == (1, 1, 0)
    assert api["recipients"] is None  # the drill-down only when asked for


def test_the_api_drill_down_lists_each_recipient_with_outcome_and_time(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = delivered(client, runtime, "acme")
    answer = client.get(f"/api/changes/{change_id}/deliveries?recipients=1")
    assert answer.status_code == 200, answer.text
    people = answer.json()["customers"][0]["recipients"]
    addresses = sorted(p["address"] for p in people)
    assert addresses and all(a.endswith("@acme.example.com") for a in addresses)
    assert {(p["event"], p["channel"], p["outcome"]) for p in people} == {
        ("submitted", "email", "sent")
    }
    assert all(p["at"] for p in people)
    entries = runtime.ledger.entries_for(change_id, "acme")
    assert addresses == sorted(e.recipient for e in entries)


def test_the_csv_export_has_a_row_per_recipient(client: TestClient, runtime: Runtime) -> None:
    change_id = delivered(client, runtime, "acme", "globex")
    answer = client.get(f"/api/changes/{change_id}/deliveries?recipients=1&format=csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"deliveries-{change_id}-v1.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    by_customer = {code: [r for r in rows if r["customer"] == code] for code in ("acme", "globex")}
    assert len(by_customer["acme"]) == len(runtime.ledger.entries_for(change_id, "acme"))
    assert {r["outcome"] for r in rows} == {"sent"}
    assert all(r["recipient"] and r["state"] == "delivered" for r in rows)
    summary = client.get(f"/api/changes/{change_id}/deliveries?format=csv").text
    lines = list(csv.DictReader(io.StringIO(summary)))
    assert [(r["customer"], r["event"], r["recipient"]) for r in lines] == [
        ("acme", "submitted", ""),
        ("globex", "submitted", ""),
    ]


def test_a_bad_format_is_a_422_naming_it(client: TestClient) -> None:
    answer = client.get(
        "/api/changes/11111111-1111-4111-8111-111111111111/deliveries?format=xls",
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 422
    assert "format" in answer.text


def test_the_recipients_page_and_fragment(client: TestClient, runtime: Runtime) -> None:
    change_id = delivered(client, runtime, "acme")
    page = client.get(f"/changes/{change_id}/deliveries/acme/recipients")
    assert page.status_code == 200
    assert "<html" in page.text and 'id="recipients"' in page.text
    assert 'data-outcome="sent"' in page.text and "@acme.example.com" in page.text
    fragment = client.get(
        f"/changes/{change_id}/deliveries/acme/recipients", headers={"hx-request": "true"}
    )
    assert fragment.text.lstrip().startswith('<section class="card" id="recipients"')
    view = client.get(f"/changes/{change_id}").text
    assert f'hx-get="/changes/{change_id}/deliveries/acme/recipients"' in view
    missing = client.get(f"/changes/{change_id}/deliveries/globex/recipients")
    assert missing.status_code == 404


def test_a_customer_manager_sees_no_recipient_of_a_change_naming_a_foreign_customer(
    runtime: Runtime,
) -> None:
    with browser(runtime) as manager:
        sign_in(manager)
        change_id = delivered(manager, runtime, "acme", "initech")
    with browser(runtime) as own:
        sign_in(own, email="acme.lead@ccoe.example.com", role="CustomerManager", customers="acme")
        for url in (
            f"/changes/{change_id}/deliveries/acme/recipients",
            f"/api/changes/{change_id}/deliveries?recipients=1",
            f"/api/changes/{change_id}/deliveries?recipients=1&format=csv",
        ):
            answer = own.get(url)
            assert answer.status_code == 403, (url, answer.status_code)
            assert "@acme.example.com" not in answer.text and "initech" not in answer.text


def test_the_dashboard_shows_30_day_rates_with_the_ses_thresholds(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = delivered(client, runtime, "globex")
    record_outcomes(runtime, change_id, "globex", bounced=1, complained=1)
    page = client.get("/").text
    health = page.split('id="delivery-health"')[1].split("</section>")[0]
    assert "5% bounces" in health and "0.1% complaints" in health
    row = health.split('data-customer="globex"')[1].split("</tr>")[0]
    assert 'data-bounce-alarm="true"' in row and 'data-complaint-alarm="true"' in row
    with browser(runtime) as own:
        sign_in(own, email="acme.lead@ccoe.example.com", role="CustomerManager", customers="acme")
        theirs = own.get("/").text.split('id="delivery-health"')[1].split("</section>")[0]
    assert "globex" not in theirs
