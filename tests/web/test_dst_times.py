"""Wall-clock times that do not exist or exist twice (DST), at every boundary: real app, moto.

2027-03-14 02:30 does not exist in America/New_York (clocks go from 02:00 to 03:00); 2027-11-07
01:30 happens twice there (first at UTC-04:00, then at UTC-05:00): it is the first.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.customers.blackouts import touches
from changecast.customers.models import Blackout
from changecast.ids import ChangeId
from tests.builders import change_body
from tests.web.test_boundary import snapshot
from tests.web.test_pages_support import browser, form_fields, module_runtime, sign_in

JSON = {"accept": "application/json"}
GAP = "02:30 on 2027-03-14 does not exist in America/New_York: clocks go from 02:00 to 03:00"

runtime = pytest.fixture(scope="module")(module_runtime)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def test_a_window_starting_in_the_spring_forward_gap_is_refused_by_the_api(
    client: TestClient, runtime: Runtime
) -> None:
    before = snapshot(runtime)
    body = change_body(start="2027-03-14T02:30", end="2027-03-14T03:15")
    refused = client.post("/api/changes", json=body, headers=JSON)
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]
    assert any(GAP in p["problem"] for p in problems), problems
    ends_in_gap = change_body(start="2027-03-14T01:00", end="2027-03-14T02:10")
    refused = client.post("/api/changes", json=ends_in_gap, headers=JSON)
    assert refused.status_code == 422
    assert "02:10 on 2027-03-14 does not exist" in refused.text
    invite = change_body(start="2027-03-14T01:00", end="2027-03-14T04:00")
    invite["meetingInvite"]["startTime"] = "2027-03-14T02:30"
    refused = client.post("/api/changes", json=invite, headers=JSON)
    assert refused.status_code == 422
    assert f"meetingInvite.startTime: {GAP}" in refused.text
    assert snapshot(runtime) == before


def test_a_window_starting_in_the_gap_is_a_form_error_on_the_portal(
    client: TestClient, runtime: Runtime
) -> None:
    before = snapshot(runtime)
    page = client.post(
        "/changes/new", data=form_fields(start="2027-03-14T02:30", end="2027-03-14T04:00")
    )
    assert page.status_code == 422, page.text
    assert GAP in html.unescape(page.text)
    assert snapshot(runtime) == before


def test_a_time_in_the_fall_back_fold_is_its_first_occurrence_shown_with_its_offset(
    client: TestClient, runtime: Runtime
) -> None:
    body = change_body(start="2027-11-07T01:30", end="2027-11-07T03:00")
    made = client.post("/api/changes", json=body, headers=JSON)
    assert made.status_code == 201, made.text
    change_id = made.json()["changeId"]
    schedule = runtime.archive.get_draft(ChangeId(change_id)).change.change_metadata.schedule
    assert schedule is not None
    assert schedule.start_utc == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert schedule.end_utc == datetime(2027, 11, 7, 8, 0, tzinfo=UTC)  # 03:00 EST
    view = html.unescape(client.get(f"/changes/{change_id}").text)
    assert (
        "01:30 on 2027-11-07 happens twice in America/New_York: this is the first, at "
        "UTC-04:00 (the second is at UTC-05:00)"
    ) in view


def test_a_blackout_is_compared_in_utc_even_across_a_fold() -> None:
    """Python compares two times of one zone by their wall clocks, ignoring the fold: a window
    at 01:30-01:45 EDT would "touch" a blackout at 01:40-01:50 EST, an hour later."""
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    blackout = Blackout(
        start=datetime(2027, 11, 7, 1, 40, tzinfo=ny, fold=1),  # 06:40Z
        end=datetime(2027, 11, 7, 1, 50, tzinfo=ny, fold=1),  # 06:50Z
        reason="freeze",
    )
    first = datetime(2027, 11, 7, 1, 30, tzinfo=ny, fold=0)  # 05:30Z
    first_end = datetime(2027, 11, 7, 1, 45, tzinfo=ny, fold=0)  # 05:45Z
    assert not touches(blackout, first, first_end)  # by wall clock it would "touch"
    second = datetime(2027, 11, 7, 6, 45, tzinfo=UTC)
    assert touches(blackout, second, second.replace(minute=55))
