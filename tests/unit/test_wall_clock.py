"""DST gaps and folds (``changes.wall_clock``), against the zone data itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.changes.wall_clock import GapError, fold_note, gap_message, in_fold, to_utc

NY = ZoneInfo("America/New_York")
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # 30-minute shifts
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "America/Sao_Paulo",
    "Asia/Kolkata",  # no DST
    "UTC",
]


@pytest.mark.parametrize(
    ("zone", "local", "message"),
    [
        ("America/New_York", datetime(2027, 3, 14, 2, 30), "clocks go from 02:00 to 03:00"),
        ("America/New_York", datetime(2027, 3, 14, 2, 0), "clocks go from 02:00 to 03:00"),
        ("Europe/Berlin", datetime(2027, 3, 28, 2, 59), "clocks go from 02:00 to 03:00"),
        ("Australia/Lord_Howe", datetime(2027, 10, 3, 2, 15), "clocks go from 02:00 to 02:30"),
        (
            "Pacific/Apia",
            datetime(2011, 12, 30, 12, 0),
            "clocks go from 2011-12-30 00:00 to 2011-12-31 00:00",
        ),
    ],
)
def test_a_time_in_a_gap_is_refused_naming_the_gap(
    zone: str, local: datetime, message: str
) -> None:
    found = gap_message(local, ZoneInfo(zone))
    assert found is not None
    assert found.startswith(f"{local:%H:%M} on {local:%Y-%m-%d} does not exist in {zone}: ")
    assert found.endswith(message)
    with pytest.raises(GapError, match=message):
        to_utc(local, ZoneInfo(zone))


def test_the_edges_of_the_gap_exist() -> None:
    assert gap_message(datetime(2027, 3, 14, 1, 59), NY) is None
    assert gap_message(datetime(2027, 3, 14, 3, 0), NY) is None
    assert to_utc(datetime(2027, 3, 14, 3, 0), NY) == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)


def test_a_time_in_a_fold_is_its_first_occurrence() -> None:
    local = datetime(2027, 11, 7, 1, 30)
    assert in_fold(local, NY)
    assert to_utc(local, NY) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # EDT, not EST
    assert fold_note(local, NY) == (
        "01:30 on 2027-11-07 happens twice in America/New_York: this is the first, at "
        "UTC-04:00 (the second is at UTC-05:00)"
    )
    assert not in_fold(datetime(2027, 11, 7, 2, 0), NY)
    assert fold_note(datetime(2027, 7, 1, 1, 30), NY) is None


@given(
    zone=st.sampled_from(ZONES),
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
)
def test_every_time_exists_and_round_trips_or_is_in_a_gap(zone: str, instant: datetime) -> None:
    tz = ZoneInfo(zone)
    local = instant.replace(second=0, microsecond=0)
    if gap_message(local, tz) is not None:
        # no instant has this wall time
        for offset in {local.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}:
            assert offset is not None
            assert (local - offset).replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None) != local
        return
    moment = to_utc(local, tz)
    assert moment.astimezone(tz).replace(tzinfo=None) == local
    if in_fold(local, tz):  # the first: an hour (or the fold's length) earlier exists too
        later = (
            moment
            + (local.replace(tzinfo=tz, fold=0).utcoffset() or timedelta(0))
            - (local.replace(tzinfo=tz, fold=1).utcoffset() or timedelta(0))
        )
        assert later > moment
        assert later.astimezone(tz).replace(tzinfo=None) == local


def test_a_stored_window_in_a_gap_is_read_wide_and_runs_forward() -> None:
    """Documents written before the gap rule: 02:30-03:15 on the spring-forward day."""
    from changecast.changes.models import Schedule

    stored = Schedule.model_validate(
        {
            "implementationStart": "2027-03-14T02:30",
            "implementationEnd": "2027-03-14T03:15",
            "timezone": "America/New_York",
        }
    )
    assert stored.start_utc == datetime(2027, 3, 14, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert stored.end_utc == datetime(2027, 3, 14, 7, 15, tzinfo=UTC)  # 03:15 EDT
    assert stored.end_utc > stored.start_utc
    ends_in_gap = Schedule.model_validate(
        {
            "implementationStart": "2027-03-14T01:00",
            "implementationEnd": "2027-03-14T02:30",
            "timezone": "America/New_York",
        }
    )
    assert ends_in_gap.end_utc == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 03:30 EDT
