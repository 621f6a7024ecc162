"""Search: free text and filters, pagination, and export of the whole result set (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.changes.models import Change
from tests.web.test_pages_support import (
    api_change,
    browser,
    module_runtime,
    sign_in,
    submitted_change,
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def result_ids(page: str) -> list[str]:
    return re.findall(r'<a href="/changes/([0-9a-f-]{36})" class="change-link">', page)


def test_free_text_finds_the_change_and_shows_the_count(client: TestClient) -> None:
    wanted = submitted_change(client, title="Upgrade the zebrafish cluster")
    submitted_change(client, title="Unrelated maintenance")
    page = client.get("/search?q=zebrafish").text
    assert result_ids(page) == [wanted]
    assert "<strong>1</strong> change matching “zebrafish”" in page
    assert 'value="zebrafish"' in page


def test_filters_by_status_customer_dates_and_creator(client: TestClient, runtime: Runtime) -> None:
    a = submitted_change(
        client,
        title="Quokka one",
        customers=["acme"],
        start="2031-05-01T10:00",
        end="2031-05-01T11:00",
    )
    b = api_change(
        client,
        title="Quokka two",
        customers=["initech"],
        start="2031-06-01T10:00",
        end="2031-06-01T11:00",
    )
    assert result_ids(client.get("/search?q=quokka&status=draft").text) == [b]
    assert result_ids(client.get("/search?q=quokka&customer=acme").text) == [a]
    dated = client.get("/search?q=quokka&from=2031-05-20&to=2031-06-10").text
    assert result_ids(dated) == [b]
    with browser(runtime) as other:
        sign_in(other, email="other@ccoe.example.com")
        c = api_change(other, title="Quokka three", customers=["acme"])
    mine = client.get("/search?q=quokka&creator=other@ccoe.example.com").text
    assert result_ids(mine) == [c]


def test_bad_filters_get_messages_that_name_the_field(client: TestClient) -> None:
    page = client.get("/search?status=lost&from=someday").text
    assert "Status: &#39;lost&#39; is not a status" in page
    assert "From: &#39;someday&#39; is not a date like 2030-03-01" in page


def test_results_are_paginated(client: TestClient) -> None:
    ids = [api_change(client, title=f"Pangolin {n:02d}") for n in range(27)]
    first = client.get("/search?q=pangolin").text
    second = client.get("/search?q=pangolin&page=2").text
    assert len(result_ids(first)) == 25
    assert len(result_ids(second)) == 2
    assert set(result_ids(first)) | set(result_ids(second)) == set(ids)
    assert 'href="/search?q=pangolin&amp;page=2"' in first
    assert '<span aria-current="page">2</span>' in second


def test_export_csv_has_a_header_and_one_row_per_result(client: TestClient) -> None:
    ids = {submitted_change(client, title=f"Narwhal {n}") for n in range(3)}
    page = client.get("/search?q=narwhal").text
    assert 'href="/search/export.csv?q=narwhal"' in page
    response = client.get("/search/export.csv?q=narwhal")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["changeId", "version", "status", "title"]
    assert len(rows) == 4
    assert {row[0] for row in rows[1:]} == ids
    assert all(row[2] == "submitted" for row in rows[1:])


def test_export_csv_neutralises_spreadsheet_formulas(client: TestClient) -> None:
    api_change(client, title='=HYPERLINK("http://x") walrus')
    rows = list(csv.reader(io.StringIO(client.get("/search/export.csv?q=walrus").text)))
    assert rows[1][3].startswith("'=HYPERLINK")


def test_export_json_is_a_list_of_change_records(client: TestClient) -> None:
    ids = {submitted_change(client, title=f"Axolotl {n}") for n in range(2)}
    response = client.get("/search/export.json?q=axolotl")
    assert response.headers["content-type"].startswith("application/json")
    records = response.json()
    assert isinstance(records, list)
    assert {record["changeId"] for record in records} == ids
    for record in records:
        change = Change.model_validate(record)
        assert change.change_metadata.tickets.service_now == "CHG0001"
